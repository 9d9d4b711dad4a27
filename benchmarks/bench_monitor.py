"""The LIVE MONITOR's refresh: one snapshot of 40 symbols and a 10,000-trade ledger, and memory over many."""

from __future__ import annotations

import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from aitrade.commands import monitor
from aitrade.config import load_settings
from aitrade.runner import control
from aitrade.runner.ledger import Book, TradeLedger
from aitrade.strategy import OPEN, State

SYMBOLS = tuple(f"C{i:02d}USDT" for i in range(40))
TRADES = 10_000


def build(home: Path) -> None:
    state = home / "state"
    ledger = TradeLedger(state / "trades.sqlite")
    ledger.begin_session({"capital": 40_000.0, "symbols": list(SYMBOLS)})
    for k, sym in enumerate(SYMBOLS):
        trades = [{"symbol": sym, "side": "long", "entry_time": f"2024-01-01T{(i % 24):02d}:00:00+00:00",
                   "entry_price": 100.0, "exit_time": f"2024-01-02T{(i % 24):02d}:00:00+00:00", "exit_price": 101.0,
                   "quantity": 1.0, "fees": 0.1, "pnl": 0.9, "exit_reason": "tp", "exit_id": f"x-{sym}-{i}"}
                  for i in range(TRADES // len(SYMBOLS))]  # fmt: skip
        state_ = State(mode=OPEN, side=1, qty=1.0, entry=100.0, stop=98.0, target=104.0, atr=1.0) if k % 2 else State()
        ledger.save_book(Book(sym, state_, t=k, last_bar="2024-01-02T00:00:00+00:00", cash=1000.0), trades=trades)
    ledger.close()
    control.write_heartbeat(state, {"pid": 1, "phase": "running", "state": "ACTIVE",
                                    "last_close": dict.fromkeys(SYMBOLS, 100.5)})  # fmt: skip


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
        for _ in range(1_000):
            monitor.snapshot(settings)
        after, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    growth_kib = (after - first) / 1024
    print(f"LIVE MONITOR snapshot, {len(SYMBOLS)} symbols ({len(snap.positions)} positions) and "
          f"{len(snap.equity):,} ledger trades: {per * 1e3:.1f} ms a refresh; traced memory after 1,000 more refreshes "
          f"{growth_kib:+.0f} KiB")  # fmt: skip
    return {"monitor_refresh_ms": per * 1e3, "monitor_memory_growth_kib_per_1000": growth_kib}


if __name__ == "__main__":
    print(json.dumps(main()))
