"""Fitness of a population from one kernel call: sharpe, sortino, calmar (equity) and sniper (trades)."""

from __future__ import annotations

import numpy as np

from aitrade.backtest.kernel import COL

PNL, ENTRY_PRICE, QTY = COL["pnl"], COL["entry_price"], COL["qty"]

FITNESSES = ("sharpe", "sortino", "calmar", "sniper")
NO_TRADES, LOSING = -20.0, -10.0


def portfolio_equity(equity: np.ndarray, offsets: np.ndarray, positions: list[np.ndarray], n_union: int) -> np.ndarray:
    """(P, U) realised portfolio equity on the union timeline: each symbol's cash carried forward, summed."""
    n_pop = equity.shape[0]
    total = np.zeros((n_pop, n_union))
    for s, pos in enumerate(positions):
        a, b = offsets[s], offsets[s + 1]
        grid = np.full((n_pop, n_union), np.nan)
        grid[:, pos] = equity[:, a:b]
        first = equity[:, a][:, None]
        idx = np.where(~np.isnan(grid), np.arange(n_union), 0)
        np.maximum.accumulate(idx, axis=1, out=idx)
        filled = np.take_along_axis(grid, idx, axis=1)
        filled = np.where(np.isnan(filled), first, filled)
        total += filled
    return total


def equity_fitness(curve: np.ndarray, kind: str, bars_per_year: float) -> np.ndarray:
    """Annualised Sharpe, Sortino or Calmar of each row of a (P, T) equity array."""
    rets = np.diff(curve, axis=1) / curve[:, :-1]
    mean = rets.mean(axis=1)
    if kind == "sharpe":
        sd = rets.std(axis=1, ddof=1)
        return np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0) * np.sqrt(bars_per_year), 0.0)
    if kind == "sortino":
        down = np.sqrt((np.minimum(rets, 0.0) ** 2).mean(axis=1))
        return np.where(down > 0, mean / np.where(down > 0, down, 1.0) * np.sqrt(bars_per_year), 0.0)
    years = curve.shape[1] / bars_per_year
    growth = curve[:, -1] / curve[:, 0]
    cagr = np.where(growth > 0, growth ** (1.0 / max(years, 1e-9)) - 1.0, -1.0)
    mdd = (curve / np.maximum.accumulate(curve, axis=1) - 1.0).min(axis=1)
    return np.where(mdd < 0, cagr / np.abs(np.where(mdd < 0, mdd, -1.0)), np.where(cagr > 0, cagr * 100, 0.0))


def sniper_fitness(trades: np.ndarray, counts: np.ndarray, min_trades: int) -> np.ndarray:
    """The original's score: mean net trade return over the risk of losing; -20 with too few trades,
    -10 when the mean is not positive.

    The original divided by the stdev of the losing trades alone, so a run with
    one or no losing trade scored in the tens of thousands. The risk here is the
    larger of that stdev and the downside deviation over every trade (losses
    counted, wins as zero), floored at 0.1%: a handful of lucky trades cannot
    outscore a long record.
    """
    n_pop = trades.shape[0]
    out = np.empty(n_pop)
    for p in range(n_pop):
        rows = [trades[p, s, : counts[p, s]] for s in range(trades.shape[1])]
        rets = np.concatenate([r[:, PNL] / (r[:, ENTRY_PRICE] * r[:, QTY]) for r in rows])
        if len(rets) < min_trades:
            out[p] = NO_TRADES
            continue
        mean = rets.mean()
        if mean <= 0:
            out[p] = LOSING
            continue
        losses = rets[rets < 0]
        sd = losses.std() if len(losses) > 1 else 0.0
        downside = float(np.sqrt(np.mean(np.minimum(rets, 0.0) ** 2)))
        out[p] = mean / max(sd, downside, 1e-3)
    return out
