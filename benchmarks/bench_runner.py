"""The runner's paper replay against the backtest on the same artifact: bars per second, side by side."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from aitrade.backtest.engine import BacktestConfig, Panel, run_backtest
from aitrade.commands import runner_cmd
from aitrade.config import load_settings
from aitrade.signals import load_signals, write_signals
from aitrade.strategy import Genome

SYMBOLS, BARS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"), 2_000


def artifact(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    idx = pd.date_range("2024-01-01", periods=BARS, freq="1h", tz="UTC")
    frames = []
    for sym in SYMBOLS:
        c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, BARS)))
        o = np.r_[c[0], c[:-1]]
        pl = rng.uniform(0, 0.9, BARS)
        bars = {"open": o, "high": np.maximum(o, c) * 1.004, "low": np.minimum(o, c) * 0.996, "close": c}
        frames.append(pd.DataFrame({"symbol": sym, "ts": idx, "p_long": pl, "p_short": rng.uniform(0, 1 - pl),
                                    "regime": 0, **bars, "atr": c * 0.01, "fold": 0}))  # fmt: skip
    write_signals(folder, pd.concat(frames), {"mode": "bench", "synthetic": list(SYMBOLS)})
    (folder / "run.json").write_text(json.dumps({"status": "complete"}))
    return folder


def main() -> dict[str, float]:
    genome = Genome(sl=1.5, tp=2.5, conf=0.6, pullback=0.2, fill_wait=3)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / ".env").write_text("MAX_OPEN_POSITIONS=50\nBITGET_MARKET=futures\nMAX_DAILY_DRAWDOWN=0.99\n")
        run = artifact(Path(tmp) / "sig")
        params = Path(tmp) / "genome.json"
        params.write_text(json.dumps(genome.to_dict()))
        settings = load_settings(home)
        config, sig = runner_cmd.prepare(settings, signals=str(run), params=str(params), mode="paper", replay=True,
                                         capital=1000.0, long_only=False, start=None, end=None, speed=0.0)  # fmt: skip
        t0 = time.perf_counter()
        asyncio.run(runner_cmd.run_foreground(settings, config, sig))
        replay = time.perf_counter() - t0
        panel = Panel.from_signals(load_signals(run))
        run_backtest(panel, genome, BacktestConfig(capital=1000.0))  # compile
        t0 = time.perf_counter()
        result = run_backtest(panel, genome, BacktestConfig(capital=1000.0))
        backtest = time.perf_counter() - t0
        trades = len(runner_cmd.trades(settings))
    bars = len(SYMBOLS) * BARS
    print(f"paper replay through the runner ({len(SYMBOLS)} symbols x {BARS} bars, {trades} trades; backtest "
          f"{len(result.trades)}): {replay:.1f} s = {bars / replay:,.0f} symbol-bars/s; "
          f"the backtest {backtest * 1e3:.0f} ms "
          f"-> the replay takes {replay / backtest:,.0f}x the backtest's time (a write-ahead ledger and a paper "
          "venue per bar)")  # fmt: skip
    return {"replay_s": replay, "backtest_s": backtest, "replay_vs_backtest": replay / backtest,
            "replay_symbol_bars_per_s": bars / replay}  # fmt: skip


if __name__ == "__main__":
    main()
