"""Backtest outputs: ``trades.csv``, ``metrics.json``, equity and drawdown plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from aitrade.backtest.engine import BacktestResult
from aitrade.rules import TRADE_COLUMNS
from aitrade.statefile import atomic_write, atomic_write_json


def write_trades(trades: pd.DataFrame, path: Path) -> Path:
    out = trades.loc[:, list(TRADE_COLUMNS)].copy()
    for col in ("entry_time", "exit_time"):
        out[col] = pd.to_datetime(out[col], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return atomic_write(path, lambda tmp: out.to_csv(tmp, index=False))


def buy_and_hold(frame: pd.DataFrame, capital: float) -> pd.Series:
    """Equity of holding every symbol from its first bar, capital split equally (the same split as the backtest)."""
    closes = frame.pivot_table(index="ts", columns="symbol", values="close").sort_index().ffill()
    first = closes.bfill().iloc[0]
    return (closes / first * (capital / max(1, closes.shape[1]))).fillna(capital / max(1, closes.shape[1])).sum(axis=1)


def equity_figure(equity: pd.Series, title: str, benchmark: pd.Series | None = None) -> Figure:
    fig = Figure(figsize=(11, 5.5))
    (ax, dd) = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    ax.plot(equity.index, equity.to_numpy(), lw=0.9, color="tab:blue", label="strategy")
    if benchmark is not None and len(benchmark):
        ax.plot(benchmark.index, benchmark.to_numpy(), lw=0.7, color="tab:orange", alpha=0.8, label="buy and hold")
    ax.plot(equity.index, equity.cummax().to_numpy(), lw=0.6, ls="--", color="0.5", label="high-water mark")
    ax.set_title(title)
    ax.set_ylabel("equity (mark to market)")
    ax.legend(loc="upper left", fontsize=8)
    draw = equity / equity.cummax() - 1.0
    dd.fill_between(draw.index, draw.to_numpy(), 0.0, color="tab:red", alpha=0.4)
    dd.set_ylabel("drawdown")
    fig.tight_layout()
    return fig


def exit_reasons(trades: pd.DataFrame) -> pd.DataFrame:
    """Trades, net P&L and win rate per exit reason."""
    if trades.empty:
        return pd.DataFrame(columns=["trades", "pnl", "win_rate"])
    return trades.groupby("exit_reason").agg(
        trades=("pnl", "size"), pnl=("pnl", "sum"), win_rate=("pnl", lambda x: float((x > 0).mean()))
    )


def write_report(
    result: BacktestResult, metrics: dict[str, Any], out: Path, title: str, benchmark: pd.Series | None = None
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"trades": write_trades(result.trades, out / "trades.csv")}
    paths["metrics"] = atomic_write_json(out / "metrics.json", metrics)
    fig = equity_figure(result.equity, title, benchmark)
    fig.savefig(out / "equity.png", dpi=110)
    paths["equity_png"] = out / "equity.png"
    return paths
