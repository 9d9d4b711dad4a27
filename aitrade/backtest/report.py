"""Backtest outputs: ``trades.csv``, ``metrics.json``, equity and drawdown plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from aitrade.backtest.engine import TRADE_COLUMNS, BacktestResult
from aitrade.statefile import atomic_write, atomic_write_json


def write_trades(trades: pd.DataFrame, path: Path) -> Path:
    out = trades.loc[:, TRADE_COLUMNS].copy()
    for col in ("entry_time", "exit_time"):
        out[col] = pd.to_datetime(out[col], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return atomic_write(path, lambda tmp: out.to_csv(tmp, index=False))


def equity_figure(equity: pd.Series, title: str) -> Figure:
    fig = Figure(figsize=(11, 5.5))
    (ax, dd) = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    ax.plot(equity.index, equity.to_numpy(), lw=0.9, color="tab:blue")
    ax.plot(equity.index, equity.cummax().to_numpy(), lw=0.6, ls="--", color="0.5", label="high-water mark")
    ax.set_title(title)
    ax.set_ylabel("equity (mark to market)")
    ax.legend(loc="upper left", fontsize=8)
    draw = equity / equity.cummax() - 1.0
    dd.fill_between(draw.index, draw.to_numpy(), 0.0, color="tab:red", alpha=0.4)
    dd.set_ylabel("drawdown")
    fig.tight_layout()
    return fig


def write_report(result: BacktestResult, metrics: dict[str, Any], out: Path, title: str) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"trades": write_trades(result.trades, out / "trades.csv")}
    paths["metrics"] = atomic_write_json(out / "metrics.json", metrics)
    fig = equity_figure(result.equity, title)
    fig.savefig(out / "equity.png", dpi=110)
    paths["equity_png"] = out / "equity.png"
    return paths
