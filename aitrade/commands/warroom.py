"""The WAR ROOM panel's headless core: one asset of a signals run with its trades, levels and indicators.

:func:`trade_sources` lists where trades over a signals run come from (the
optimiser's and backtest report's ``trades.csv``, or the runner's ledger when
its session trades that run); :func:`chart` returns plain frames a plotting
library draws. Initial stop and target of a closed trade are not stored in
``trades.csv``: they are rebuilt from the genome as the rules place them
(entry -/+ sl or tp x the ATR of the last bar before the entry), and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from aitrade.commands.runner_cmd import ledger_session
from aitrade.config import Settings
from aitrade.errors import UserError
from aitrade.runs import run_json, runs_using

INDICATORS = ("atr", "rsi", "adx", "sup_dist_atr", "res_dist_atr")


@dataclass
class Chart:
    symbol: str
    bars: pd.DataFrame  # open, high, low, close, p_long, p_short, fold (UTC index)
    indicators: pd.DataFrame  # atr, rsi, adx; support and resistance as prices
    trades: pd.DataFrame  # trades.csv columns, plus stop and target where the genome is known
    source: str
    notes: list[str] = field(default_factory=list)


def trade_sources(settings: Settings, signals_run: str | Path) -> dict[str, str]:
    """Label -> source (a run folder with ``trades.csv``, or ``ledger``) of trades over ``signals_run``."""
    out = {
        f"{run.name} (trades.csv)": str(run)
        for run in runs_using(settings, signals_run)
        if (run / "trades.csv").is_file()
    }
    signals = (ledger_session(settings) or {}).get("signals_run")
    if signals and Path(str(signals)).resolve() == Path(signals_run).resolve():
        out["the runner's ledger"] = "ledger"
    return out


def _trades(settings: Settings, source: str | None) -> tuple[pd.DataFrame, Any, str]:
    from aitrade.backtest.params import genome_from_mapping  # noqa: PLC0415

    if not source:
        return pd.DataFrame(), None, "no trades chosen"
    if source == "ledger":
        from aitrade.commands.runner_cmd import trades  # noqa: PLC0415

        genes = (ledger_session(settings) or {}).get("genome")
        genome = genome_from_mapping(genes, "the runner's session") if genes else None
        return trades(settings), genome, "the runner's ledger"
    run = Path(source)
    frame = pd.read_csv(run / "trades.csv")
    for col in ("entry_time", "exit_time"):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    genome = None
    best = run_json(run / "best_strategy_params.json")
    if best:
        genome = genome_from_mapping(best, str(run / "best_strategy_params.json"))
    else:
        params = run_json(run / "notebook_params.json").get("strategy_params")
        if params:
            from aitrade.backtest.params import load_genome  # noqa: PLC0415

            genome = load_genome(params)
    return frame, genome, f"{run.name}/trades.csv"


def chart(settings: Settings, signals_run: str | Path, symbol: str, *, trades_from: str | None = None) -> Chart:
    """Bars, probabilities, indicators and trades of ``symbol`` in ``signals_run``."""
    from aitrade.features import compute_features  # noqa: PLC0415
    from aitrade.signals.artifact import load_signals  # noqa: PLC0415

    sig = load_signals(signals_run)
    if symbol not in sig.symbols:
        raise UserError(f"{symbol} is not in {signals_run}; it has {', '.join(sig.symbols)}")
    rows = sig.symbol(symbol)
    bars = rows[["open", "high", "low", "close", "p_long", "p_short", "fold"]]
    interval = str(sig.meta.get("interval", "1h"))
    feats = compute_features(
        rows[["open", "high", "low", "close"]].assign(volume=1.0),
        interval,
        ["atr", "rsi", "adx", "sup_dist_atr", "res_dist_atr"],
    )
    ind = pd.DataFrame(
        {
            "atr": feats["atr"],
            "rsi": feats["rsi"],
            "adx": feats["adx"],
            "support": rows["close"] - feats["sup_dist_atr"].where(feats["sup_dist_atr"] < 10) * feats["atr"],
            "resistance": rows["close"] + feats["res_dist_atr"].where(feats["res_dist_atr"] < 10) * feats["atr"],
        },
        index=rows.index,
    )
    notes = ["indicators are computed over the run's out-of-sample bars only (warm-up NaN at the start)"]
    trades, genome, label = _trades(settings, trades_from)
    if len(trades):
        trades = trades[trades["symbol"] == symbol].reset_index(drop=True)
    if len(trades) and genome is not None:
        pos = rows.index.searchsorted(trades["entry_time"], side="left") - 1
        atr_before = rows["atr"].to_numpy()[pos.clip(0)]
        side = trades["side"].map({"long": 1.0, "short": -1.0}).to_numpy()
        trades["stop"] = trades["entry_price"] - side * genome.sl * atr_before
        trades["target"] = trades["entry_price"] + side * genome.tp * atr_before
        notes.append(
            "stop and target are the initial levels rebuilt from the genome (sl, tp x ATR before entry); "
            "trailing moved some stops later"
        )
    return Chart(symbol, bars, ind, trades, label, notes)
