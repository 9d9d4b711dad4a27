"""Walk-forward optimisation: evolve on each in-sample window, score the winner on the next window, stitch.

Windows are bar positions on the union timeline of the signals' symbols:
in-sample ``[k*test, k*test + train)``, out-of-sample the ``test`` bars after
it. Each out-of-sample window is a fresh vectorbt backtest of that window's
winner; the stitched curve compounds the windows' returns.

``best_strategy_params.json`` holds the genome of the *last* window (the one a
trader would deploy after the latest re-optimisation), with provenance and the
stitched out-of-sample evidence beside it, never a genome picked by its
out-of-sample score (that would turn the test windows into training data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aitrade.backtest.engine import BacktestConfig, Panel, run_backtest, simulate
from aitrade.backtest.metrics import backtest_metrics
from aitrade.backtest.overfit import effective_trials, pbo_cscv, pbo_verdict
from aitrade.errors import UserError
from aitrade.optimize.fitness import FITNESSES, equity_fitness, portfolio_equity, sniper_fitness
from aitrade.optimize.ga import GENES, GAResult, OptimizerConfig, evolve

YEAR = pd.Timedelta(days=365.25)


@dataclass
class WindowResult:
    index: int
    train: tuple[pd.Timestamp, pd.Timestamp]
    test: tuple[pd.Timestamp, pd.Timestamp]
    ga: GAResult
    oos_metrics: dict[str, Any]
    oos_equity: pd.Series
    pbo: float | None
    trial_sharpes: np.ndarray
    effective_trials: float = 0.0  # the independent trials its evaluations amount to


@dataclass
class WFOResult:
    windows: list[WindowResult]
    stitched: pd.Series
    trades: pd.DataFrame
    metrics: dict[str, Any] = field(default_factory=dict)

    def report(self) -> pd.DataFrame:
        rows = []
        for w in self.windows:
            rows.append(
                {
                    "window": w.index,
                    "train_start": w.train[0].isoformat(),
                    "train_end": w.train[1].isoformat(),
                    "test_start": w.test[0].isoformat(),
                    "test_end": w.test[1].isoformat(),
                    **{g: v for g, v in w.ga.genome().to_dict().items()},
                    "is_fitness": w.ga.best_fitness,
                    **{
                        f"oos_{k}": w.oos_metrics.get(k)
                        for k in ("total_return", "sharpe", "max_drawdown", "trades", "win_rate", "profit_factor")
                    },
                    "is_pbo": w.pbo,
                }
            )
        return pd.DataFrame(rows)


def _evaluator(panel: Panel, config: BacktestConfig, fitness: str):
    union = panel.timeline()
    positions = [union.get_indexer(i) for i in panel.index]
    spacing = (union[-1] - union[0]) / max(1, len(union) - 1)
    bars_per_year = YEAR / spacing
    days = (union[-1] - union[0]) / pd.Timedelta(days=1)
    min_trades = max(10, int(0.05 * days * len(panel.symbols)))
    capital = config.capital / max(1, len(panel.symbols))

    def curves(pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # one kernel pass, no trade records: the kernel accumulates what the sniper fitness needs (its stats)
        _, counts, equity, stats = simulate(panel, pop, config, max_trades=1)
        curve = portfolio_equity(equity, panel.offsets, positions, len(union))
        return stats, counts, np.where(np.isfinite(curve), curve, capital * len(panel.symbols))

    def evaluate(pop: np.ndarray) -> np.ndarray:
        stats, counts, curve = curves(pop)
        trials.record(pop, curve, counts)
        if fitness == "sniper":
            return sniper_fitness(stats, min_trades)
        return equity_fitness(curve, fitness, bars_per_year)

    trials = TrialLog()
    return evaluate, curves, union, trials


class TrialLog:
    """Every genome the GA evaluated in one window: its in-sample per-bar Sharpe and return series.

    The deflated Sharpe is built from *every* evaluated trial (so the N used is
    the N reported); PBO runs over the distinct genomes that traded, sampled
    (seeded) when there are more than ``max_pbo`` of them.
    """

    def __init__(self) -> None:
        self.sharpes: list[np.ndarray] = []
        self.genomes: list[np.ndarray] = []
        self.returns: list[np.ndarray] = []
        self.traded: list[np.ndarray] = []

    def record(self, pop: np.ndarray, curve: np.ndarray, counts: np.ndarray) -> None:
        rets = np.diff(curve, axis=1) / curve[:, :-1]
        sds = rets.std(axis=1, ddof=1)
        self.sharpes.append(np.where(sds > 0, rets.mean(axis=1) / np.where(sds > 0, sds, 1.0), 0.0))
        self.genomes.append(np.asarray(pop, dtype=float))
        self.returns.append(rets.astype(np.float32))
        self.traded.append(np.asarray(counts).reshape(len(pop), -1).sum(axis=1) > 0)

    @property
    def n(self) -> int:
        return int(sum(len(s) for s in self.sharpes))

    def all_sharpes(self) -> np.ndarray:
        return np.concatenate(self.sharpes) if self.sharpes else np.zeros(0)

    def effective(self, seed: int, sample: int = 200) -> float:
        """Independent trials this window's evaluations amount to: distinct genomes (every never-trading one
        is the same flat trial), shrunk by the mean correlation of their returns (a seeded sample of them)."""
        if not self.genomes:
            return 0.0
        genomes = np.concatenate(self.genomes)
        rets = np.concatenate(self.returns)
        _, first = np.unique(np.round(genomes, 6), axis=0, return_index=True)
        moving = np.array([i for i in sorted(first) if rets[i].std() > 0], dtype=np.int64)
        flat = int(len(first) > len(moving))  # all flat genomes are one trial
        if len(moving) < 2:
            return float(max(1, len(moving) + flat))
        picked = moving
        if len(moving) > sample:
            picked = np.sort(np.random.default_rng(seed).choice(moving, sample, replace=False))
        return effective_trials(rets[picked].T.astype(float), n=len(moving)) + flat

    def pbo_matrix(self, seed: int, max_pbo: int = 200) -> np.ndarray:
        """T x N returns of distinct genomes that traded (never-trading ones carry no information)."""
        genomes = np.concatenate(self.genomes)
        rets = np.concatenate(self.returns)
        traded = np.concatenate(self.traded) & (rets.std(axis=1) > 0)
        _, first = np.unique(np.round(genomes, 6), axis=0, return_index=True)
        keep = np.array(sorted(i for i in first if traded[i]), dtype=np.int64)
        if len(keep) > max_pbo:
            keep = np.sort(np.random.default_rng(seed).choice(keep, max_pbo, replace=False))
        return rets[keep].T.astype(float)


def walk_forward_optimize(
    panel: Panel, cfg: OptimizerConfig, config: BacktestConfig, *, seed: int, progress: bool | None = None
) -> WFOResult:
    if cfg.fitness not in FITNESSES:
        raise UserError(f"unknown fitness {cfg.fitness!r}; allowed: {', '.join(FITNESSES)}")
    union = panel.timeline()
    n = len(union)
    train, test = cfg.train_window, cfg.test_window
    if n < train + test:
        raise UserError(f"too few bars for walk-forward optimisation: need train {train} + test {test}, have {n}")
    windows: list[WindowResult] = []
    frames, trades = [], []
    level = config.capital
    from tqdm.auto import tqdm  # noqa: PLC0415

    starts = list(range(0, n - train, test))
    bar = tqdm(starts, desc="walk-forward optimisation", disable=not progress if progress is not None else None)
    for k, s in enumerate(bar):
        t0, t1 = union[s], union[s + train]
        e = min(s + train + test, n)
        o1 = union[e] if e < n else union[-1] + pd.Timedelta(nanoseconds=1)
        is_panel, oos_panel = panel.slice(t0, t1), panel.slice(t1, o1)
        if not is_panel.symbols or not oos_panel.symbols:
            continue
        evaluate, _, _, log = _evaluator(is_panel, config, cfg.fitness)
        ga = evolve(evaluate, cfg.ranges, cfg, seed + k)
        trial_sharpes = log.all_sharpes()  # every evaluated genome (their dispersion); their count is effective
        effective = log.effective(seed + k)
        try:
            pbo = pbo_cscv(log.pbo_matrix(seed + k), 8).pbo
        except ValueError:  # fewer than two distinct trading genomes, or too few bars
            pbo = None
        result = run_backtest(oos_panel, ga.genome(), config)
        metrics = backtest_metrics(
            result.equity,
            result.trades,
            exposure=result.exposure,
            turnover_notional=result.turnover_notional,
            trial_sharpes=trial_sharpes,
            effective_trials=effective,
        )
        scaled = result.equity / config.capital * level
        level = float(scaled.iloc[-1])
        frames.append(scaled)
        tr = result.trades.copy()
        tr["window"] = k
        trades.append(tr)
        windows.append(
            WindowResult(k, (t0, t1), (t1, union[e - 1]), ga, metrics, scaled, pbo, trial_sharpes, effective)
        )
    if not windows:
        raise UserError("no walk-forward window had bars on both sides")
    stitched = pd.concat(frames)
    stitched = stitched[~stitched.index.duplicated(keep="last")]
    start = pd.Series([config.capital], index=[windows[0].test[0] - pd.Timedelta(nanoseconds=1)])
    stitched = pd.concat([start, stitched]).rename("equity")
    all_trades = pd.concat(trades, ignore_index=True) if trades else pd.DataFrame()
    trials = np.concatenate([w.trial_sharpes for w in windows])
    exposure = float(np.mean([w.oos_metrics.get("exposure") or 0.0 for w in windows]))
    turnover = float((all_trades["entry_price"] * all_trades["quantity"] * 2).sum()) if len(all_trades) else 0.0
    effective = float(sum(w.effective_trials for w in windows))
    metrics = backtest_metrics(
        stitched,
        all_trades,
        exposure=exposure,
        turnover_notional=turnover,
        trial_sharpes=trials,
        trial_length=train,
        effective_trials=effective,
    )
    metrics["dsr_trials_effective"] = effective  # independent trials, summed over windows (as used in the DSR)
    metrics["dsr_trials_raw"] = len(trials)  # every GA evaluation of every window
    metrics["ga_evaluations"] = int(sum(w.ga.evaluations for w in windows))
    pbos = [w.pbo for w in windows if w.pbo is not None]
    metrics["pbo_mean"] = float(np.mean(pbos)) if pbos else None
    metrics["pbo_verdict"] = pbo_verdict(metrics["pbo_mean"])
    metrics["statistics"] = (
        f"out of sample, stitched over {len(windows)} windows; deflated Sharpe against "
        f"{metrics['dsr_trials']} effective trials ({len(trials)} GA evaluations, distinct "
        "genomes shrunk by the mean correlation of their returns, summed over windows); PBO "
        "per window over distinct trading genomes, in sample, averaged"
    )
    metrics["pbo_scope"] = (
        f"PBO is measured in sample, in each of {len(windows)} windows of {train} bars, over the distinct genomes "
        "that traded: how often the in-sample best falls below the median of the other half. Averaged over few "
        "windows it separates a strong edge from noise on average, not run by run; it says nothing of the "
        "out-of-sample result itself"
    )
    metrics["windows"] = len(windows)
    return WFOResult(windows, stitched, all_trades, metrics)


__all__ = ["GENES", "WFOResult", "walk_forward_optimize"]
