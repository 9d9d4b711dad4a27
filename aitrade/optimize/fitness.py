"""Fitness of a population from one kernel call: sharpe, sortino, calmar (equity) and sniper (trades)."""

from __future__ import annotations

import numpy as np

from aitrade.backtest.kernel import STAT_FIELDS

STAT = {name: i for i, name in enumerate(STAT_FIELDS)}

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


def sniper_fitness(stats: np.ndarray, min_trades: int) -> np.ndarray:
    """The original's score from the kernel's trade statistics (``stats[P, S, N_STATS]``): mean net trade return
    over the risk of losing; -20 with too few trades, -10 when the mean is not positive.

    The original divided by the stdev of the losing trades alone, so a run with
    one or no losing trade scored in the tens of thousands. The risk here is the
    larger of that stdev and the downside deviation over every trade (losses
    counted, wins as zero), floored at 0.1%: a handful of lucky trades cannot
    outscore a long record.
    """
    total = stats.sum(axis=1)  # over symbols
    n, ret_sum, losses, loss_sum, loss_sq = (total[:, STAT[f]] for f in STAT_FIELDS)
    safe_n, safe_losses = np.maximum(n, 1.0), np.maximum(losses, 1.0)
    mean = ret_sum / safe_n
    loss_sd = np.sqrt(np.maximum(loss_sq / safe_losses - (loss_sum / safe_losses) ** 2, 0.0))
    sd = np.where(losses > 1, loss_sd, 0.0)
    downside = np.sqrt(loss_sq / safe_n)
    score = mean / np.maximum(np.maximum(sd, downside), 1e-3)
    return np.where(n < min_trades, NO_TRADES, np.where(mean <= 0, LOSING, score))
