"""The chaos harness: the runner trading live on a loopback Bitget futures venue that misbehaves.

Each run trades the promoted model on the fake venue over ``bars`` bars of a
market clock. A seeded schedule injects, bar by bar: refused orders and stops
(40762), a venue that answers 500 for a while, orders done at the venue whose
answer is a 500, half-filled market orders, and crashes of the runner (its
task cancelled mid-flight; half of them also a power cut: every state file
put back as it stood at its last fsync). After each crash the runner is
started again. At the end the kill switch flattens, retried until the venue
confirms.

Checked after every bar and at the end:

* no position of ours at the venue stays unmanaged (no live stop there and no
  open book watching it) for more than a bar;
* no client id reaches the venue twice;
* a flatten is reported flat only when nothing of ours is open at the venue;
* every entry that filled at the venue is closed by exactly one trade in the
  ledger (nothing lost, nothing booked twice);
* no API key, secret or passphrase in any file under the home.

Run it as a program for many seeds:
``.venv/bin/python -m tests.chaos --runs 20 --seed 1`` (prints each run's
faults and verdict; exits 1 on the first broken invariant).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from aitrade import sqlitedb
from aitrade.cli import main as cli
from aitrade.commands import runner_cmd
from aitrade.config import load_settings
from aitrade.runner import control
from aitrade.runner.ledger import TradeLedger
from aitrade.strategy import OPEN
from tests import PROMOTE_ANYWAY
from tests.fakes.bitget import KEY, PASSPHRASE, SECRET, FakeBitget

STEP = pd.Timedelta(hours=4)
START = pd.Timestamp("2024-06-01T00:30:00Z")
PLACE = "/api/v2/mix/order/place-order"
TPSL = "/api/v2/mix/order/place-tpsl-order"
GENOME = '{"conf": 0.34, "pullback": 0.1, "fill_wait": 3, "sl": 1.0, "tp": 2.0, "max_hold": 12}'


class MarketClock:
    """The market's clock: the fake's candles follow it and its price is the last close; time passes only
    when the runner sleeps (signatures and receive windows keep the real time)."""

    def __init__(self, start: pd.Timestamp, fake: FakeBitget) -> None:
        self.t, self.fake = start, fake
        self._move()

    def now(self) -> pd.Timestamp:
        return self.t

    def _move(self) -> None:
        ms = int(self.t.value // 1_000_000)
        self.fake.market_now_ms = ms
        step = int(STEP.total_seconds() * 1000)
        last_open = ms // step * step - step
        for sym in ("BTCUSDT", "ETHUSDT"):
            rows = self.fake.truth(sym, int(STEP.total_seconds()), last_open, last_open + 1)
            if rows:
                self.fake.set_price(sym, Decimal(rows[-1][4]))

    async def sleep(self, seconds: float) -> None:
        self.t += pd.Timedelta(seconds=max(seconds, 0.001))
        self._move()
        await asyncio.sleep(0)


class PowerCut:
    """The power-loss model: each state file is put back as it stood at its last fsynced commit.

    Every fsynced commit (:data:`aitrade.sqlitedb.FSYNCED`) copies its database as committed then (an fsync of
    the WAL covers every earlier commit in it). Once cut (``cut`` set, or ``until()`` true), no copy is taken; ``restore`` drops each file's WAL
    tail by putting the last copy back. Commits never followed by an fsync are lost, even where a checkpoint
    would have kept them (the pessimistic case).
    """

    def __init__(self, until: Callable[[], bool] | None = None) -> None:
        self.copies: dict[Path, Path] = {}
        self.cut = False
        self.until = until  # the power fails as soon as this is true (checked at every fsync)

    def __call__(self, db: sqlite3.Connection) -> None:
        if self.cut or (self.until is not None and self.until()):
            self.cut = True
            return
        path = Path(db.execute("PRAGMA database_list").fetchone()[2])
        copy = path.with_name(path.name + ".fsynced")
        target = sqlite3.connect(copy)
        db.backup(target)
        target.close()
        self.copies[path] = copy

    def restore(self) -> None:
        for path, copy in self.copies.items():
            for extra in ("-wal", "-shm"):
                Path(f"{path}{extra}").unlink(missing_ok=True)
            os.replace(copy, path)
        self.copies.clear()
        self.cut = False


@dataclass
class Report:
    seed: int
    events: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    trades: int = 0
    entries_filled: int = 0

    def line(self) -> str:
        verdict = "OK" if not self.broken else "BROKEN: " + "; ".join(self.broken)
        return f"seed {self.seed}: {self.trades} trades, faults {', '.join(self.events) or 'none'} -> {verdict}"


def promote(home: Path) -> None:
    """A walk model for BTCUSDT and ETHUSDT at 4h, trained on the embedded bars and promoted in ``home``."""
    run = home / "runs" / "sig"
    assert (
        cli(
            [
                "--home",
                str(home),
                "signals",
                "--symbols",
                "BTCUSDT,ETHUSDT",
                "--interval",
                "4h",
                "--train_window",
                "500",
                "--trade_window",
                "250",
                "--epochs",
                "20",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    assert cli(["--home", str(home), "promote", str(run), *PROMOTE_ANYWAY]) == 0


def books(state: Path) -> dict:
    """The runner's books as the ledger holds them (none before the first start)."""
    if not (state / "trades.sqlite").exists():
        return {}
    ledger = TradeLedger(state / "trades.sqlite", read_only=True)
    try:
        return ledger.books()
    finally:
        ledger.close()


async def chaos_run(promoted: Path, root: Path, seed: int, bars: int = 36) -> Report:
    """One seeded run; the report lists what was injected and every invariant broken."""
    rng = random.Random(seed)
    report = Report(seed)
    fake = FakeBitget()
    fake.hang_s = 0.2
    fake.url = await fake.start()  # type: ignore[attr-defined]
    home = root / "home"
    shutil.copytree(promoted / "state" / "production", home / "state" / "production")
    (home / ".env").write_text(
        f"EXECUTION_MODE=live\nALLOW_LIVE=1\nBITGET_BASE_URL={fake.url}\nBITGET_MARKET=futures\n"  # type: ignore[attr-defined]
        f"BITGET_API_KEY={KEY}\nBITGET_API_SECRET={SECRET}\nBITGET_API_PASSPHRASE={PASSPHRASE}\n"
        "MAX_OPEN_POSITIONS=50\nMAX_DAILY_DRAWDOWN=0.99\n"
    )
    (root / "genome.json").write_text(GENOME)
    settings = load_settings(home)
    state = settings.state_dir
    clock = MarketClock(START, fake)
    power = PowerCut()
    sqlitedb.FSYNCED.append(power)

    def start() -> tuple[asyncio.Task, asyncio.Event]:
        config, spec = runner_cmd.prepare(
            settings,
            signals="model",
            params=str(root / "genome.json"),
            mode="live",
            replay=False,
            capital=1000.0,
            long_only=False,
            start=None,
            end=None,
            speed=0.0,
        )
        spec.clock, spec.poll_s = clock, 1800.0
        stop = asyncio.Event()
        return asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop)), stop

    def unmanaged() -> set[str]:
        stops = {p["symbol"] for p in fake.plans if p["planType"] == "loss_plan" and p["planStatus"] == "live"}
        watched = {s for s, b in books(state).items() if b.state.mode == OPEN}
        return {s for s, p in fake.positions.items() if p["qty"] != 0} - stops - watched

    async def crash(task: asyncio.Task, cut: bool) -> None:
        power.cut = cut
        fake.faults.add("500", path="/api/v2/", times=1_000_000)  # nothing more reaches the venue
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # a crash, whatever it was doing
            await task
        gc.collect()
        if cut:
            power.restore()
        fake.faults.queue.clear()

    try:
        task, stop = start()
        bar, bare_since = 0, {}
        while bar < bars:
            while clock.now() < START + (bar + 1) * STEP:
                if task.done():
                    exc = task.exception()
                    report.broken.append(f"the runner died at bar {bar}: {exc!r}")
                    return report
                await asyncio.sleep(0.005)
            bar += 1
            for symbol in unmanaged():
                if bar - bare_since.setdefault(symbol, bar) >= 2:
                    report.broken.append(f"{symbol} unmanaged at the venue since bar {bare_since[symbol]}")
            bare_since = {s: b for s, b in bare_since.items() if s in unmanaged()}
            roll = rng.random()
            if roll < 0.08:
                report.events.append(f"refuse@{bar}")
                fake.faults.add("refuse", path=rng.choice([PLACE, TPSL]), times=rng.randint(1, 3))
            elif roll < 0.14:
                report.events.append(f"down@{bar}")
                fake.faults.add("500", path="/api/v2/mix/", times=rng.randint(3, 12))
            elif roll < 0.20:
                report.events.append(f"lost-answer@{bar}")
                fake.faults.add("after500", path=PLACE)
            elif roll < 0.26:
                report.events.append(f"half-fill@{bar}")
                fake.faults.add("partial", path=rng.choice(["BTCUSDT", "ETHUSDT"]))
            elif roll < 0.34:
                cut = rng.random() < 0.5
                report.events.append(f"{'power-cut' if cut else 'crash'}@{bar}")
                await crash(task, cut)
                task, stop = start()
        fake.faults.queue.clear()
        control.arm(state, "flatten", "chaos: the end")
        while True:
            kill = control.read_kill(state)
            if kill.acted_at is not None:
                held = {s for s, p in fake.positions.items() if p["qty"] != 0}
                if kill.acted.get("flat") is True and held:
                    report.broken.append(f"flatten reported flat with {sorted(held)} open at the venue")
                if kill.acted.get("flat") is True:
                    break
            if clock.now() > START + (bars + 30) * STEP:
                report.broken.append(f"the flatten never completed: {kill.acted}")
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    finally:
        sqlitedb.FSYNCED.remove(power)
        await fake.stop()
    if fake.duplicates:
        report.broken.append(f"sent twice: {fake.duplicates}")
    if live := [p["clientOid"] for p in fake.plans if p["planStatus"] == "live"]:
        report.broken.append(f"stops left at the venue: {live}")
    trades = runner_cmd.trades(settings)
    report.trades = len(trades)
    entries = [o for o in fake.orders.values() if "-entry-" in o["clientOid"] and Decimal(o["baseVolume"]) > 0]
    report.entries_filled = len(entries)
    if len(entries) != len(trades):
        report.broken.append(f"{len(entries)} entries filled at the venue, {len(trades)} trades in the ledger")
    for path in home.rglob("*"):
        if path.is_file() and path.name != ".env":
            blob = path.read_bytes()
            for secret in (KEY, SECRET, PASSPHRASE):
                if secret.encode() in blob:
                    report.broken.append(f"a secret in {path.relative_to(home)}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="seeded runs (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--bars", type=int, default=36, help="bars of the market clock per run (default 36)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        promote(model)
        for seed in range(args.seed, args.seed + args.runs):
            run = Path(tmp) / f"run{seed}"
            run.mkdir()
            report = asyncio.run(chaos_run(model, run, seed, args.bars))
            print(report.line(), flush=True)
            if report.broken:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
