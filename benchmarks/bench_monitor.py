"""The LIVE MONITOR's refresh: one snapshot of 40 symbols and a 10,000-trade ledger, the panel's whole refresh
(snapshot plus widget and chart updates), memory over an hour of refreshes, and the peer: a bare read of the
same files (the trades table with pandas, the heartbeat and kill switch JSON)."""

from __future__ import annotations

import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from aitrade.commands import monitor
from aitrade.commands.runner_cmd import runner_lock
from aitrade.config import load_settings
from aitrade.runner import control
from aitrade.runner.ledger import Book, TradeLedger
from aitrade.runner.seams import Trade
from aitrade.strategy import OPEN, State

SYMBOLS = tuple(f"C{i:02d}USDT" for i in range(40))
TRADES = 10_000


def build(home: Path, total: int = TRADES) -> None:
    state = home / "state"
    ledger = TradeLedger(state / "trades.sqlite")
    ledger.begin_session({"capital": 40_000.0, "symbols": list(SYMBOLS)})
    for k, sym in enumerate(SYMBOLS):
        trades = [
            Trade(
                **{
                    "symbol": sym,
                    "side": "long",
                    "entry_time": f"2024-01-01T{(i % 24):02d}:00:00+00:00",
                    "entry_price": 100.0,
                    "exit_time": f"2024-01-02T{(i % 24):02d}:00:00+00:00",
                    "exit_price": 101.0,
                    "quantity": 1.0,
                    "fees": 0.1,
                    "pnl": 0.9,
                    "exit_reason": "tp",
                    "exit_id": f"x-{sym}-{i}",
                }
            )
            for i in range(total // len(SYMBOLS))
        ]
        state_ = State(mode=OPEN, side=1, qty=1.0, entry=100.0, stop=98.0, target=104.0, atr=1.0) if k % 2 else State()
        ledger.save_book(Book(sym, state_, t=k, last_bar="2024-01-02T00:00:00+00:00", cash=1000.0), trades=trades)
    ledger.close()
    beat = control.Heartbeat(pid=1, phase="running", state="ACTIVE", last_close=dict.fromkeys(SYMBOLS, 100.5))
    control.write_heartbeat(state, beat)
    # a runner alive (this process holds its lock): the monitor reads its ledger, as it does while one trades
    lock = runner_lock(load_settings(home))
    lock.acquire("bench: the runner")
    _HELD.append(lock)


_HELD: list[object] = []


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        build(home)
        settings = load_settings(home)
        monitor.snapshot(settings)
        runs = 50
        t0 = time.perf_counter()
        for _ in range(runs):
            snap = monitor.snapshot(settings)
        per = (time.perf_counter() - t0) / runs
        tracemalloc.start()
        for _ in range(100):
            monitor.snapshot(settings)
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(300):
            monitor.snapshot(settings)
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peer = _peer(home)
        panel_ms, panel_growth, rss = _panel(settings)
    growth_kib = (after - first) / 1024
    print(
        f"LIVE MONITOR panel refresh (snapshot, tables, equity chart of {TRADES:,} points): {panel_ms:.1f} ms, "
        f"{panel_ms / peer:.1f}x a bare read of the same files ({peer:.1f} ms); traced memory over 200 refreshes "
        f"{panel_growth:+.0f} KiB; RSS over an hour of refreshes at 2 s ({HOUR:,}), by quarter: "
        + ", ".join(f"{q:+.1f}" for q in rss)
        + " MiB"
    )
    print(
        f"LIVE MONITOR snapshot, {len(SYMBOLS)} symbols ({len(snap.positions)} positions) and "
        f"{len(snap.equity):,} ledger trades: {per * 1e3:.1f} ms a refresh; traced memory after 300 more refreshes "
        f"{growth_kib:+.0f} KiB"
    )
    return scaling() | {
        "monitor_refresh_ms": per * 1e3,
        "monitor_memory_growth_kib_per_300": growth_kib,
        "panel_refresh_ms": panel_ms,
        "panel_vs_bare_read": panel_ms / peer,
        "panel_memory_growth_kib_per_200": panel_growth,
        "panel_rss_growth_mib_per_hour": rss[-1],
    }


HOUR = 1800  # refreshes in an hour at the panel's 2 s


def scaling() -> dict[str, float]:
    """A running monitor's refresh (its equity tracker kept between refreshes, as the panel keeps it) at 1,000
    and at 100,000 ledger trades: it reads only the rows booked since its last refresh."""
    out = {}
    for total in (1_000, 100_000):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            build(home, total)
            settings = load_settings(home)
            tracker = monitor.EquityTracker()
            monitor.snapshot(settings, equity=tracker)  # the first refresh reads the whole ledger once
            t0 = time.perf_counter()
            for _ in range(50):
                monitor.snapshot(settings, equity=tracker)
            out[total] = (time.perf_counter() - t0) / 50 * 1e3
    ratio = out[100_000] / out[1_000]
    print(
        f"LIVE MONITOR refresh with its equity kept: {out[1_000]:.1f} ms at 1,000 trades, {out[100_000]:.1f} ms "
        f"at 100,000 -> {ratio:.2f}x (goal <= 2x: new rows only, by rowid)"
    )
    return {"monitor_refresh_1k_ms": out[1_000], "monitor_refresh_100k_ms": out[100_000], "monitor_100k_vs_1k": ratio}


def _peer(home: Path) -> float:
    """A bare read of what the panel shows: the trades table and the two JSON files (ms)."""
    import sqlite3  # noqa: PLC0415

    import pandas as pd  # noqa: PLC0415

    def read() -> None:
        with sqlite3.connect(f"file:{home / 'state' / 'trades.sqlite'}?mode=ro", uri=True) as db:
            pd.read_sql("SELECT * FROM trades", db)
        for name in ("runner_heartbeat.json", "kill_switch.json"):
            path = home / "state" / name
            if path.exists():
                json.loads(path.read_text())

    read()
    t0 = time.perf_counter()
    for _ in range(20):
        read()
    return (time.perf_counter() - t0) / 20 * 1e3


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def _panel(settings) -> tuple[float, float, list[float]]:
    """The panel's refresh (ms, the equity chart redrawn each time as if a trade had closed), traced memory growth
    over 200 refreshes (KiB), and RSS growth at each quarter of an hour of refreshes (MiB)."""
    from widgets.monitor import LiveMonitorPanel  # noqa: PLC0415

    panel = LiveMonitorPanel(settings)

    def refresh() -> None:
        panel._equity_mark = (-1, None)  # the worst case: a trade closed since the last refresh
        panel.refresh()

    for _ in range(20):
        refresh()
    t0 = time.perf_counter()
    for _ in range(20):
        refresh()
    per = (time.perf_counter() - t0) / 20 * 1e3
    tracemalloc.start()
    for _ in range(50):
        refresh()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(200):
        refresh()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss0, quarters = _rss_mib(), []
    for i in range(HOUR):
        panel.refresh()  # as it runs: the chart is redrawn only when the ledger changed
        if (i + 1) % (HOUR // 4) == 0:
            quarters.append(_rss_mib() - rss0)
    panel.close()
    return per, (after - first) / 1024, quarters


if __name__ == "__main__":
    print(json.dumps(main()))
