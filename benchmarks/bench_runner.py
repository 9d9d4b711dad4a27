"""The runner's paper replay against the backtest on the same artifact: bars per second, side by side."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from aitrade.backtest.engine import BacktestConfig, Panel, run_backtest
from aitrade.commands import runner_cmd
from aitrade.config import load_settings
from aitrade.signals import load_signals, write_signals
from aitrade.strategy import Genome

SYMBOLS, BARS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"), 2_000
WIDE = tuple(f"C{i:02d}USDT" for i in range(40))


def artifact(folder: Path, symbols: tuple[str, ...] = SYMBOLS, bars: int = BARS) -> Path:
    rng = np.random.default_rng(0)
    idx = pd.date_range("2024-01-01", periods=bars, freq="1h", tz="UTC")
    frames = []
    for sym in symbols:
        c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
        o = np.r_[c[0], c[:-1]]
        pl = rng.uniform(0, 0.9, bars)
        ohlc = {"open": o, "high": np.maximum(o, c) * 1.004, "low": np.minimum(o, c) * 0.996, "close": c}
        frames.append(
            pd.DataFrame(
                {
                    "symbol": sym,
                    "ts": idx,
                    "p_long": pl,
                    "p_short": rng.uniform(0, 1 - pl),
                    "regime": 0,
                    **ohlc,
                    "atr": c * 0.01,
                    "fold": 0,
                }
            )
        )
    write_signals(folder, pd.concat(frames), {"mode": "bench", "synthetic": list(symbols)})
    (folder / "run.json").write_text(json.dumps({"status": "complete"}))
    return folder


def _home(root: Path) -> Path:
    home = root / "home"
    home.mkdir()
    (home / ".env").write_text("MAX_OPEN_POSITIONS=50\nBITGET_MARKET=futures\nMAX_DAILY_DRAWDOWN=0.99\n")
    return home


def tick_latency(root: Path) -> dict[str, float]:
    """One tick over 40 symbols (facts, rules, intents written ahead, orders, books saved) against 40 bare
    router calls (a market order and its lookup at the same paper venue)."""
    import aiohttp  # noqa: PLC0415

    from aitrade.brokers.base import OrderRequest, Side  # noqa: PLC0415
    from aitrade.factory import build_brokers  # noqa: PLC0415
    from aitrade.router import Router  # noqa: PLC0415

    home = _home(root)
    run = artifact(root / "wide", WIDE, 300)
    params = root / "wide.json"
    params.write_text(json.dumps(Genome(conf=0.5, pullback=0.0, fill_wait=1).to_dict()))
    settings = load_settings(home)
    config, feed = runner_cmd.prepare(
        settings,
        signals=str(run),
        params=str(params),
        mode="paper",
        replay=True,
        capital=40_000.0,
        long_only=False,
        start=None,
        end=None,
        speed=0.0,
    )
    t0 = time.perf_counter()
    asyncio.run(runner_cmd.run_foreground(settings, config, feed))
    per_tick = (time.perf_counter() - t0) / 300

    async def bare() -> float:
        other = load_settings(_home(root / "bare"))
        async with aiohttp.ClientSession() as http:
            brokers = build_brokers(other, http, "paper", ["bitget"], market_data=False)
            routing = dict.fromkeys(WIDE, "bitget")
            async with Router(other, http, mode="paper", symbols=list(WIDE), routing=routing, brokers=brokers) as r:
                sim = r.brokers["bitget"]
                for sym in WIDE:
                    await sim.on_bar(sym, Decimal(101), Decimal(99), Decimal(100))
                best = float("inf")
                for k in range(5):
                    t = time.perf_counter()
                    for sym in WIDE:
                        req = OrderRequest(
                            sym, Side.BUY if k % 2 == 0 else Side.SELL, Decimal("0.1"), f"at-b-{k}-{sym}"
                        )
                        await r.place_order(req)
                        await r.get_order(sym, req.client_id)
                    best = min(best, time.perf_counter() - t)
                return best

    (root / "bare").mkdir()
    router_s = asyncio.run(bare())
    print(
        f"one tick over 40 symbols (decisions, write-ahead intents, orders, books) {per_tick * 1e3:.1f} ms against "
        f"40 bare router orders with lookups {router_s * 1e3:.1f} ms -> {per_tick / router_s:.2f}x"
    )
    return {
        "tick_40_symbols_ms": per_tick * 1e3,
        "bare_router_40_orders_ms": router_s * 1e3,
        "tick_vs_bare_router": per_tick / router_s,
    }


def _replay_wall(root: Path, symbols: tuple[str, ...], bars: int) -> float:
    """Wall time of a paper replay of ``symbols`` x ``bars`` through the runner (start-up included)."""
    home = _home(root)
    run = artifact(root / "sig", symbols, bars)
    params = root / "genome.json"
    params.write_text(json.dumps(Genome(conf=0.5, pullback=0.0, fill_wait=1).to_dict()))
    settings = load_settings(home)
    config, feed = runner_cmd.prepare(
        settings,
        signals=str(run),
        params=str(params),
        mode="paper",
        replay=True,
        capital=1000.0 * len(symbols),
        long_only=False,
        start=None,
        end=None,
        speed=0.0,
    )
    t0 = time.perf_counter()
    asyncio.run(runner_cmd.run_foreground(settings, config, feed))
    return time.perf_counter() - t0


def tick_scaling(where: Path) -> dict[str, float]:
    """The time of one tick at 1, 10 and 100 symbols: the marginal cost of 300 more bars (start-up cancels out),
    with the state on ``where`` (tmpfs: the tick's own work, not the disk's)."""
    out: dict[str, float] = {}
    for n in (1, 10, 100):
        symbols = tuple(f"S{i:03d}USDT" for i in range(n))
        walls = []
        for bars in (150, 450):
            with tempfile.TemporaryDirectory(dir=where) as tmp:
                walls.append(_replay_wall(Path(tmp), symbols, bars))
        out[f"tick_{n}_symbols_ms"] = (walls[1] - walls[0]) / 300 * 1e3
    ratio = out["tick_100_symbols_ms"] / out["tick_1_symbols_ms"]
    print(
        f"one tick on {where}: {out['tick_1_symbols_ms']:.2f} ms at 1 symbol, {out['tick_10_symbols_ms']:.2f} ms "
        f"at 10, {out['tick_100_symbols_ms']:.1f} ms at 100 (goal < 50 ms) -> 100 symbols take {ratio:.0f}x one "
        f"symbol; per symbol {out['tick_1_symbols_ms']:.2f}, {out['tick_10_symbols_ms'] / 10:.2f}, "
        f"{out['tick_100_symbols_ms'] / 100:.2f} ms (linear when these agree)"
    )
    return out | {"tick_100_vs_1": ratio}


def restart_time(root: Path) -> dict[str, float]:
    """kill -9 in the middle of a replay, then the time until the restarted runner has reconciled and ticks."""
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from aitrade.brokers.paperstore import PaperStore  # noqa: PLC0415
    from aitrade.errors import StateFileError  # noqa: PLC0415
    from aitrade.runner import control  # noqa: PLC0415
    from aitrade.runner.ledger import TradeLedger  # noqa: PLC0415

    home = _home(root)
    run = artifact(root / "sig", SYMBOLS, 1_500)
    env = {**os.environ, "AITRADE_HOME": str(home)}
    cmd = [
        sys.executable,
        "-m",
        "aitrade",
        "runner",
        "start",
        "--signals",
        str(run),
        "--replay",
        "--foreground",
        "--speed",
        "100",
    ]
    state = home / "state"

    def ticking(pid: int, n: int) -> bool:
        try:
            beat = control.read_heartbeat(state) or control.Heartbeat()
        except StateFileError:  # being replaced
            return False
        return beat.pid == pid and beat.ticks >= n

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ticking(proc.pid, 200):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ledger = TradeLedger(state / "trades.sqlite", read_only=True)
    open_books = [b for b in ledger.books().values() if b.state.mode == 2]
    ledger.close()
    store = PaperStore(state / "paper_bitget.sqlite", read_only=True)
    held = {p["symbol"] for p in store.load()["protections"].values()}
    store.close()
    uncovered = sum(b.symbol not in held for b in open_books)
    t0 = time.perf_counter()
    again = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ticking(again.pid, 1):
        time.sleep(0.02)
    took = time.perf_counter() - t0
    again.send_signal(signal.SIGTERM)
    again.wait()
    print(
        f"kill -9 with {len(open_books)} positions open: restarted, reconciled and ticking in {took:.1f} s "
        f"(interpreter and imports included); positions without a protection at the venue meanwhile: "
        f"{uncovered}"
    )
    return {"restart_to_trading_s": took, "positions_open_at_kill": len(open_books), "uncovered": uncovered}


GENOME = Genome(sl=1.5, tp=2.5, conf=0.6, pullback=0.2, fill_wait=3)
TMPFS = Path("/dev/shm")


def replay_time(root: Path) -> tuple[float, int, Path]:
    """The paper replay of SYMBOLS x BARS through the runner with its home under ``root``: (seconds, trades, run)."""
    home = _home(root)
    run = artifact(root / "sig")
    params = root / "genome.json"
    params.write_text(json.dumps(GENOME.to_dict()))
    settings = load_settings(home)
    config, sig = runner_cmd.prepare(
        settings,
        signals=str(run),
        params=str(params),
        mode="paper",
        replay=True,
        capital=1000.0,
        long_only=False,
        start=None,
        end=None,
        speed=0.0,
    )
    t0 = time.perf_counter()
    asyncio.run(runner_cmd.run_foreground(settings, config, sig))
    return time.perf_counter() - t0, len(runner_cmd.trades(settings)), run


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        replay, trades, run = replay_time(Path(tmp))
        panel = Panel.from_signals(load_signals(run))
        run_backtest(panel, GENOME, BacktestConfig(capital=1000.0))  # compile
        t0 = time.perf_counter()
        result = run_backtest(panel, GENOME, BacktestConfig(capital=1000.0))
        backtest = time.perf_counter() - t0
    bars = len(SYMBOLS) * BARS
    print(
        f"paper replay through the runner ({len(SYMBOLS)} symbols x {BARS} bars, {trades} trades; backtest "
        f"{len(result.trades)}): {replay:.1f} s = {bars / replay:,.0f} symbol-bars/s; "
        f"the backtest {backtest * 1e3:.0f} ms "
        f"-> the replay takes {replay / backtest:,.0f}x the backtest's time (a write-ahead ledger and a paper "
        "venue per bar)"
    )
    out = {
        "replay_s": replay,
        "backtest_s": backtest,
        "replay_vs_backtest": replay / backtest,
        "replay_symbol_bars_per_s": bars / replay,
    }
    if TMPFS.is_dir():
        with tempfile.TemporaryDirectory(dir=TMPFS) as tmp:
            in_memory, _, _ = replay_time(Path(tmp))
        print(
            f"the same replay with its state on tmpfs: {in_memory:.1f} s -> on disk it takes "
            f"{replay / in_memory:.2f}x (goal <= 1.3x: only the write-ahead record of an order waits for fsync)"
        )
        out |= {"replay_tmpfs_s": in_memory, "replay_disk_vs_tmpfs": replay / in_memory}
    with tempfile.TemporaryDirectory() as tmp:
        out |= tick_latency(Path(tmp))
    out |= tick_scaling(TMPFS if TMPFS.is_dir() else Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory() as tmp:
        out |= restart_time(Path(tmp))
    return out


if __name__ == "__main__":
    main()
