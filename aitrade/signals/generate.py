"""``generate_signals``: bars -> features -> labels -> models -> out-of-sample signals in a run folder."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aitrade.config import Settings
from aitrade.data import load_bars
from aitrade.data.sources.sample import sample_intervals, sample_symbols
from aitrade.errors import AiTradeError, UserError
from aitrade.features import FEATURE_SET_VERSION
from aitrade.intervals import interval_delta, parse_interval
from aitrade.runs import git_commit, new_run_dir, run_scope
from aitrade.signals.artifact import write_signals
from aitrade.signals.baseline import BASELINES, baseline_metrics, verdict
from aitrade.signals.calibration import PRIOR_COLUMNS, calibrate, live_maps, three
from aitrade.signals.engine import MODES, SignalParams, run_engine
from aitrade.signals.folds import plan_folds
from aitrade.signals.metrics import fold_metrics, log_loss
from aitrade.signals.prepare import LeaderPlan, leader_for, needed_warmup, plan_leaders, prepare_asset, select_features
from aitrade.statefile import atomic_write_json

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_dir: Path
    signals: pd.DataFrame
    meta: dict[str, Any]
    summary: dict[str, Any]


def default_symbols(settings: Settings, source: str, interval: str) -> list[str]:
    """The universe's symbols that the source has (for samples: those at this interval)."""
    if source != "sample":
        return list(settings.assets)
    have = [s for s in sample_symbols() if interval in sample_intervals(s)]
    picked = [s for s in settings.assets if s in have]
    if not picked:
        raise UserError(f"no embedded sample of the {settings.universe_mode} universe at {interval}; use --symbols")
    return picked


def pooled_metrics(
    signals: pd.DataFrame,
    assets: dict[str, Any],
    columns: tuple[str, str] = ("p_long", "p_short"),
    prefix: str = "pooled_",
    y: np.ndarray | None = None,
) -> dict[str, Any]:
    """Metrics over every out-of-sample row at once (pooled), beside the per-fold averages.

    Pooled AUC ranks probabilities across folds and symbols, so it also
    measures whether a probability means the same thing everywhere; a per-fold
    average can look good while the scale swings from fold to fold. ``y`` is
    :func:`labels_of` the frame, when the caller has it already.
    """
    y = labels_of(signals, assets) if y is None else y
    proba = three(signals[columns[0]].to_numpy(), signals[columns[1]].to_numpy())
    ok = y >= 0
    prior = np.bincount(y[ok].astype(np.int64), minlength=3) / max(1, int(ok.sum()))
    m = fold_metrics(proba, y, prior)
    return {f"{prefix}{k}": v for k, v in m.items() if k != "class_share"}


def labels_of(signals: pd.DataFrame, assets: dict[str, Any]) -> np.ndarray:
    """The label of every row of ``signals`` (-1 where unknown), in the frame's order."""
    y = np.full(len(signals), -1, dtype=np.int64)
    for sym, idx in signals.groupby("symbol", sort=False).indices.items():
        a = assets[sym]
        ts = pd.DatetimeIndex(signals["ts"].to_numpy()[idx]).as_unit("ns").asi8
        y[idx] = a.y[np.searchsorted(a.times, ts)]
    return y


def _calibrate(
    signals: pd.DataFrame,
    y: np.ndarray,
    records: list[dict[str, Any]],
    assets: dict[str, Any],
    folds: list[Any],
    params: SignalParams,
    interval: str,
    warmup: int,
) -> tuple[pd.DataFrame, list[dict[str, Any]], dict[str, Any]]:
    """The out-of-sample calibration (:mod:`aitrade.signals.calibration`) of the model and of its baselines.

    The per-fold records are scored again on the calibrated probabilities (the
    raw ones are in the fold models' bundles). Blocks are the folds' trade
    windows; a universal model trained once is calibrated over blocks of
    ``trade_window`` bars all the same, so its map also learns only from the past.
    """
    if params.calibrate == "none":
        return signals, records, {"method": "none"}
    bar_ns = int(interval_delta(interval).value)
    blocks = np.array([f.trade_start for f in folds], dtype=np.int64)
    if params.mode == "universal" and not params.cross_asset_wf:
        timeline = np.unique(np.concatenate([a.times for a in assets.values()]))
        blocks = np.array(
            [
                f.trade_start
                for f in plan_folds(
                    timeline,
                    warmup=warmup,
                    train_window=params.train_window,
                    trade_window=params.trade_window,
                    embargo=params.embargo,
                    horizon=params.label.horizon,
                )
            ],
            dtype=np.int64,
        )
    pooled, purge = params.mode == "universal", params.label.horizon * bar_ns
    signals, fitted = calibrate(signals, y, blocks, purge, pooled=pooled)
    for columns in BASELINES.values():  # each baseline calibrated the same way, from its own past
        if set(columns) <= set(signals.columns):
            signals, _ = calibrate(signals, y, blocks, purge, pooled=pooled, columns=columns)
    scored = []
    by_key = signals.groupby(["symbol", "fold"], sort=False).indices
    for r in records:
        idx = by_key.get((r.get("symbol"), r.get("fold")))
        if not r.get("n") or idx is None:
            scored.append(r)
            continue
        g = signals.iloc[idx]
        prior = g[list(PRIOR_COLUMNS)].to_numpy()[0]
        proba = three(g["p_long"].to_numpy(), g["p_short"].to_numpy())
        redo = {**fold_metrics(proba, y[idx], prior), "raw_log_loss": r.get("log_loss")}
        for name, columns in BASELINES.items():
            if set(columns) <= set(g.columns):
                b = three(g[columns[0]].to_numpy(), g[columns[1]].to_numpy())
                redo.update(baseline_metrics(name, b, y[idx], prior))
        scored.append({**r, **redo})
    calibration = {
        "method": "shrink",
        "map": "p = weight * p_model + (1 - weight) * prior (the fold model's training class shares)",
        "fitted_on": "earlier blocks' out-of-sample rows whose labels were known at the block's start; "
        "the first block keeps the prior (weight 0)",
        "pooled": pooled,
        "blocks": fitted,
        "live": live_maps(fitted, sorted(assets)),
    }
    return signals, scored, calibration


def _summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [r for r in records if r.get("n")]
    if not rows:
        return {"folds": len(records), "evaluated": 0}
    w = np.array([r["n"] for r in rows], dtype=float)

    def avg(key: str) -> float | None:
        vals = [(r[key], n) for r, n in zip(rows, w, strict=True) if r.get(key) is not None]
        return float(sum(v * n for v, n in vals) / sum(n for _, n in vals)) if vals else None

    return {
        "folds": len({r.get("fold") for r in records}),
        "evaluated": len(rows),
        "oos_rows": int(w.sum()),
        "log_loss": avg("log_loss"),
        "baseline_log_loss": avg("baseline_log_loss"),
        "accuracy": avg("accuracy"),
        "baseline_accuracy": avg("baseline_accuracy"),
        "auc_long": avg("auc_long"),
        "auc_short": avg("auc_short"),
        "reused_models": len({r["model"] for r in records if r.get("reused")}),
        "trained_models": len({r["model"] for r in records if r.get("model") and not r.get("reused")}),
    }


def generate_signals(
    settings: Settings,
    params: SignalParams,
    *,
    symbols: list[str] | None = None,
    source: str = "sample",
    interval: str | None = None,
    start: Any = None,
    end: Any = None,
    path: str | None = None,
    out: str | Path | None = None,
    exist_ok: bool = False,
    progress: bool | None = None,
) -> RunResult:
    """Run walk-forward or universal signal generation and write the run folder."""
    if params.mode not in MODES:
        raise UserError(f"unknown mode {params.mode!r}; allowed: {', '.join(MODES)}")
    interval = parse_interval(interval or settings.profile.timeframe_ltf)
    names = symbols or default_symbols(settings, source, interval)
    bars = load_bars(names, interval, start, end, source, path=path, settings=settings)

    crypto_leader = settings.leader_symbol_crypto if settings.use_leader_crypto else ""
    equity_leader = settings.leader_symbol_equity if settings.use_leader_stocks else ""
    if "leader" not in params.features:  # no leader group asked for: no leader bars needed
        crypto_leader = equity_leader = ""
    wanted = {s: leader_for(s, crypto_leader, equity_leader) for s in names}
    available: dict[str, pd.DataFrame | None] = {}
    for lead in {v for v in wanted.values() if v}:
        if lead in bars:
            available[lead] = bars[lead]
            continue
        try:
            available[lead] = load_bars(lead, interval, start, end, source, path=path)[lead]
        except AiTradeError as exc:
            log.info("leader %s unavailable: %s", lead, exc)
            available[lead] = None
    plan = plan_leaders(names, available, wanted)
    if "leader" not in params.features:
        plan = LeaderPlan(False, {}, "the leader group is not among the chosen features (--features)")
    features = select_features(params.features, plan.used)

    assets = {}
    for sym in names:
        leader = available.get(plan.by_symbol[sym]) if plan.used else None
        assets[sym] = prepare_asset(sym, bars[sym], interval, params.label, features, leader)
    warmup = needed_warmup(features, interval)
    timeline = np.unique(np.concatenate([a.times for a in assets.values()]))
    single = params.mode == "universal" and not params.cross_asset_wf
    folds = plan_folds(
        timeline,
        warmup=warmup,
        train_window=params.train_window,
        trade_window=params.trade_window,
        embargo=params.embargo,
        horizon=params.label.horizon,
        single=single,
        what=f"the {len(names)}-symbol timeline ({', '.join(names)})",
    )

    run_params = {
        "kind": "signals",
        **params.to_dict(),
        "symbols": names,
        "source": source,
        "interval": interval,
        "start": str(start) if start else None,
        "end": str(end) if end else None,
    }
    run_dir = new_run_dir(settings, params.mode, run_params, out, exist_ok=exist_ok)
    # a notebook's run folder is completed by its runner; a run made here is completed (or failed) here
    with contextlib.nullcontext(run_dir) if exist_ok else run_scope(run_dir):
        return _generate(
            run_dir, assets, folds, params, bars, names, source, interval, features, plan, warmup, settings, progress
        )


def _generate(
    run_dir: Path,
    assets: dict[str, Any],
    folds: list[Any],
    params: SignalParams,
    bars: dict[str, pd.DataFrame],
    names: list[str],
    source: str,
    interval: str,
    features: list[str],
    plan: Any,
    warmup: int,
    settings: Settings,
    progress: bool | None,
) -> RunResult:
    signals, records = run_engine(
        assets,
        folds,
        params,
        work_dir=run_dir / "work",
        cache_dir=settings.state_dir / "fold_cache",
        models_dir=run_dir / "models",
        bar_ns=int(interval_delta(interval).value),
        progress=progress,
    )
    if signals.empty:
        raise UserError(
            "no out-of-sample predictions were made (every fold was skipped); see metrics in " + str(run_dir)
        )
    y = labels_of(signals, assets)  # the rows stay as they are from here on: their labels are read once
    raw = pooled_metrics(signals, assets, prefix="raw_pooled_", y=y)
    signals, records, calibration = _calibrate(signals, y, records, assets, folds, params, interval, warmup)
    summary = {**_summary(records), **pooled_metrics(signals, assets, y=y)}
    summary["raw_pooled_log_loss"] = raw["raw_pooled_log_loss"]  # before the calibration: what it changed
    summary["calibration"] = params.calibrate
    for name, columns in BASELINES.items():  # the baselines', pooled the same way; not in the artifact
        if set(columns) <= set(signals.columns):
            pooled = pooled_metrics(signals, assets, columns, f"{name}_pooled_", y=y)
            keys = [f"{name}_pooled_{k}" for k in ("log_loss", "auc_long", "auc_short")]
            summary.update({k: pooled[k] for k in keys})
            signals = signals.drop(columns=list(columns))
    if set(PRIOR_COLUMNS) <= set(signals.columns):  # the forecast one could have made: each fold's training prior
        known = y >= 0
        summary["pooled_prior_log_loss"] = log_loss(signals.loc[known, list(PRIOR_COLUMNS)].to_numpy(), y[known])
    signals = signals.drop(columns=[c for c in PRIOR_COLUMNS if c in signals.columns])
    summary["verdict"] = verdict(summary)
    meta = {
        "mode": params.mode,
        "preset": params.preset,
        "cross_asset_wf": params.cross_asset_wf,
        "params": params.to_dict(),
        "symbols": names,
        "source": source,
        "interval": interval,
        "synthetic": sorted(s for s, b in bars.items() if b.attrs.get("synthetic")),
        "data_fingerprint": {s: a.fingerprint for s, a in assets.items()},
        "data_range": {s: [b.index[0].isoformat(), b.index[-1].isoformat()] for s, b in bars.items()},
        "feature_set_version": FEATURE_SET_VERSION,
        "features": features,
        "leader": plan.to_dict(),
        "label_config": params.label.to_dict(),
        "model_config": params.model.to_dict(),
        "seed": params.seed,
        "git_commit": git_commit(),
        "warmup_bars": warmup,
        "folds": [f.to_dict() for f in folds],
        "fold_metrics": records,
        "calibration": calibration,
        "summary": summary,
    }
    write_signals(run_dir, signals, meta)
    atomic_write_json(run_dir / "metrics.json", {"summary": summary, "folds": records})
    _plot_folds(records, run_dir / "fold_metrics.png")
    return RunResult(run_dir, signals, meta, summary)


def _plot_folds(records: list[dict[str, Any]], path: Path) -> None:
    """Out-of-sample log loss per fold against the class-prior baseline (no pyplot: no global state)."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    rows = pd.DataFrame([r for r in records if r.get("n")])
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    if not rows.empty:
        per = rows.groupby("fold")[["log_loss", "baseline_log_loss"]].mean()
        ax.plot(per.index, per["log_loss"], marker="o", label="model (out-of-sample)")
        ax.plot(per.index, per["baseline_log_loss"], marker="x", linestyle="--", label="class prior")
        ax.legend()
    ax.set_xlabel("fold")
    ax.set_ylabel("log loss")
    ax.set_title("Walk-forward fold metrics")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
