"""Outputs of a walk-forward optimisation and of the validation report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from aitrade.backtest.metrics import monthly_returns, trade_stats
from aitrade.backtest.report import equity_figure, write_trades
from aitrade.optimize.ga import GENES
from aitrade.optimize.wfo import WFOResult
from aitrade.statefile import atomic_write, atomic_write_json


def parameter_stability_figure(report: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(14, 5))
    axes = fig.subplots(2, 5)
    for ax, gene in zip(axes.ravel(), GENES, strict=True):
        ax.plot(report["window"], report[gene], marker="o")
        ax.set_title(gene, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Winning genome per walk-forward window")
    fig.tight_layout()
    return fig


def write_wfo(result: WFOResult, out: Path, provenance: dict[str, Any], title: str) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    report = result.report()
    paths = {"wfo_report": atomic_write(out / "wfo_report.csv", lambda tmp: report.to_csv(tmp, index=False))}
    last = result.windows[-1]
    best = {
        **last.ga.genome().to_dict(),
        "fitness": last.ga.best_fitness,
        "provenance": {**provenance, "window": last.index, "train": [t.isoformat() for t in last.train]},
        "oos": {
            k: result.metrics.get(k)
            for k in ("total_return", "sharpe", "max_drawdown", "deflated_sharpe", "pbo_mean", "trades")
        },
    }
    paths["best_params"] = atomic_write_json(out / "best_strategy_params.json", best)
    paths["metrics"] = atomic_write_json(out / "metrics.json", result.metrics)
    stitched = result.stitched.copy()
    atomic_write(out / "oos_equity.csv", lambda tmp: stitched.rename_axis("ts").to_csv(tmp))
    if len(result.trades):
        paths["trades"] = write_trades(result.trades, out / "trades.csv")
    fig = equity_figure(stitched, f"{title}: stitched out-of-sample equity")
    fig.savefig(out / "oos_equity.png", dpi=110)
    fig = parameter_stability_figure(report)
    fig.savefig(out / "parameter_stability.png", dpi=110)
    paths["equity_png"], paths["stability_png"] = out / "oos_equity.png", out / "parameter_stability.png"
    return paths


def validation_report(run: Path) -> dict[str, Any]:
    """Per-trade statistics, stitched out-of-sample equity, DSR, PBO and monthly returns of an optimise run."""
    equity = pd.read_csv(run / "oos_equity.csv", index_col="ts", parse_dates=["ts"])["equity"]
    equity.index = pd.DatetimeIndex(equity.index, tz="UTC") if equity.index.tz is None else equity.index
    metrics = pd.read_json(run / "metrics.json", typ="series").to_dict()
    trades = pd.read_csv(run / "trades.csv") if (run / "trades.csv").is_file() else pd.DataFrame()
    report = {
        "stitched_out_of_sample": {
            k: metrics.get(k)
            for k in ("total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown", "exposure", "turnover")
        },
        "per_trade": trade_stats(trades) if len(trades) else {"trades": 0},
        "overfitting": {
            "deflated_sharpe": metrics.get("deflated_sharpe"),
            "dsr_trials": metrics.get("dsr_trials"),
            "pbo_mean": metrics.get("pbo_mean"),
        },
    }
    table = monthly_returns(equity)
    report["monthly_returns"] = {
        str(y): {str(m): (None if np.isnan(v) else float(v)) for m, v in row.items()} for y, row in table.iterrows()
    }
    out = run / "validation"
    out.mkdir(exist_ok=True)
    atomic_write_json(out / "metrics.json", report)
    fig = equity_figure(equity, "Validation: stitched out-of-sample equity")
    fig.savefig(out / "equity_drawdown.png", dpi=110)
    fig = Figure(figsize=(10, 0.6 + 0.5 * max(1, len(table))))
    ax = fig.subplots()
    im = ax.imshow(table.to_numpy(dtype=float) * 100, cmap="RdYlGn", aspect="auto", vmin=-5, vmax=5)
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns])
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    ax.set_title("Monthly out-of-sample returns (%)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "monthly_returns.png", dpi=110)
    if len(trades):
        fig = Figure(figsize=(8, 3.5))
        ax = fig.subplots()
        r = trades["pnl"] / (trades["entry_price"] * trades["quantity"])
        ax.hist(r * 100, bins=40, color="tab:blue")
        ax.set_title("Per-trade net return (%)")
        fig.tight_layout()
        fig.savefig(out / "trade_returns.png", dpi=110)
    return report
