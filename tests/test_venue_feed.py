"""The venue feed: closed bars from a loopback fake Bitget as a (manual) clock passes, live inference on them."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from aitrade.commands import runner_cmd
from aitrade.config import load_settings
from aitrade.runner import control
from aitrade.runner.ledger import TradeLedger
from tests.chaos import STEP, MarketClock, PowerCut
from tests.chaos import books as ledger_books
from tests.chaos import promote as chaos_promote
from tests.fakes.bitget import KEY, PASSPHRASE, SECRET, FakeBitget


class ManualClock:
    """Time that passes only when the runner sleeps (instantly), and moves the fake venue's clock with it."""

    def __init__(self, start: pd.Timestamp, fake: FakeBitget) -> None:
        self.t = start
        self.fake = fake
        self.fake.now_ms = int(start.value // 1_000_000)

    def now(self) -> pd.Timestamp:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += pd.Timedelta(seconds=max(seconds, 0.001))
        self.fake.now_ms = int(self.t.value // 1_000_000)
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A walk model for BTCUSDT and ETHUSDT at 4h, trained on the embedded bars and promoted."""
    home = tmp_path_factory.mktemp("venue")
    chaos_promote(home)
    return home


def _settings(home: Path, url: str):
    (home / ".env").write_text(f"BITGET_BASE_URL={url}\nMAX_OPEN_POSITIONS=50\nMAX_DAILY_DRAWDOWN=0.99\n")
    return load_settings(home)


async def test_closed_bars_only_in_order_with_back_fill_and_a_kill_switch_between_bars(
    promoted: Path, bitget: FakeBitget
) -> None:
    settings = _settings(promoted, bitget.url)  # type: ignore[attr-defined]
    # the venue's clock is the manual one; it runs behind the real one, so the candle source (which drops
    # bars that have not closed by real time) never cuts what the fake venue has closed by manual time
    start = pd.Timestamp("2024-06-01T00:30:00Z")
    clock = ManualClock(start, bitget)
    config, spec = runner_cmd.prepare(
        settings,
        signals="model",
        params=None,
        mode="paper",
        replay=False,
        capital=1000.0,
        long_only=True,
        start=None,
        end=None,
        speed=0.0,
    )
    spec.clock, spec.poll_s = clock, 900.0  # an idle step every 15 simulated minutes
    seen: list[pd.Timestamp] = []

    async def drive() -> None:
        state = settings.state_dir
        while not (state / control.HEARTBEAT_FILE).exists():
            await asyncio.sleep(0.01)
        target = start + 3 * STEP
        while clock.now() < target:
            await asyncio.sleep(0.01)
        bitget.symbols = set()  # an outage: candles fail for two bars
        target = clock.now() + 2 * STEP
        while clock.now() < target:
            await asyncio.sleep(0.01)
        bitget.symbols = {"BTCUSDT", "ETHUSDT"}
        target = clock.now() + 2 * STEP
        while clock.now() < target:
            await asyncio.sleep(0.01)
        control.arm(state, "flatten", "test between bars")
        while control.read_kill(state).acted_at is None:
            await asyncio.sleep(0.01)
        seen.append(clock.now())
        stop.set()

    stop = asyncio.Event()
    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=120)
    await asyncio.wait_for(task, timeout=60)
    ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
    books = ledger.books()
    events = ledger.events(2000)
    ledger.close()
    assert set(books) == {"BTCUSDT", "ETHUSDT"}
    for book in books.values():
        last = pd.Timestamp(book.last_bar)
        assert last + STEP <= seen[0]  # never a forming bar
        # every closed bar from the first one after the start, each once, the outage's two back-filled in order
        assert book.t == (last - start.floor(STEP)) / STEP >= 6
    kill = [e for e in events if e["kind"] == "kill"]
    assert kill and kill[0]["detail"]["state"] == "HALTED"


async def test_bars_that_stop_coming_pause_the_runner(promoted: Path, bitget: FakeBitget, tmp_path: Path) -> None:
    import shutil  # noqa: PLC0415

    home = tmp_path / "home"
    shutil.copytree(promoted / "state" / "production", home / "state" / "production")
    settings = _settings(home, bitget.url)  # type: ignore[attr-defined]
    start = pd.Timestamp("2024-06-01T00:30:00Z")
    clock = ManualClock(start, bitget)
    config, spec = runner_cmd.prepare(
        settings,
        signals="model",
        params=None,
        mode="paper",
        replay=False,
        capital=1000.0,
        long_only=True,
        start=None,
        end=None,
        speed=0.0,
    )
    spec.clock, spec.poll_s = clock, 900.0
    stop = asyncio.Event()

    async def drive() -> None:
        while clock.now() < start + STEP:
            await asyncio.sleep(0.01)
        bitget.symbols = {"ETHUSDT"}  # BTCUSDT's bars stop coming
        while not control.read_kill(settings.state_dir).engaged:
            await asyncio.sleep(0.01)
        stop.set()

    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=120)
    await asyncio.wait_for(task, timeout=60)
    bitget.symbols = {"BTCUSDT", "ETHUSDT"}
    kill = control.read_kill(settings.state_dir)
    assert kill.level == "pause" and "stale data: BTCUSDT" in kill.reason
    assert clock.now() - start < 6 * STEP  # within the stale limit (3 bars) and the retry that confirms it


def _live(promoted: Path, bitget: FakeBitget, home: Path):
    """A home trading live on the fake Bitget futures with the promoted model."""
    import shutil  # noqa: PLC0415

    shutil.copytree(promoted / "state" / "production", home / "state" / "production")
    (home / ".env").write_text(
        f"EXECUTION_MODE=live\nALLOW_LIVE=1\nBITGET_BASE_URL={bitget.url}\nBITGET_MARKET=futures\n"  # type: ignore[attr-defined]
        f"BITGET_API_KEY={KEY}\nBITGET_API_SECRET={SECRET}\nBITGET_API_PASSPHRASE={PASSPHRASE}\n"
        "MAX_OPEN_POSITIONS=50\nMAX_DAILY_DRAWDOWN=0.99\n"
    )
    return load_settings(home)


def _live_runner(promoted: Path, bitget: FakeBitget, tmp_path: Path):
    """A live runner's settings, config and venue feed on the fake Bitget futures, on a market clock from 2024-06-01."""
    import json  # noqa: PLC0415

    settings = _live(promoted, bitget, tmp_path / "home")
    params = tmp_path / "genome.json"
    params.write_text(json.dumps({"conf": 0.34, "pullback": 0.1, "fill_wait": 4, "sl": 1.5, "tp": 3.0}))
    start = pd.Timestamp("2024-06-01T00:30:00Z")
    clock = MarketClock(start, bitget)
    config, spec = runner_cmd.prepare(
        settings,
        signals="model",
        params=str(params),
        mode="live",
        replay=False,
        capital=1000.0,
        long_only=False,
        start=None,
        end=None,
        speed=0.0,
    )
    spec.clock, spec.poll_s = clock, 1800.0
    return settings, config, spec, clock, start


async def test_live_on_a_fake_bitget_futures_fills_are_protected_and_flatten_leaves_nothing(
    promoted: Path, bitget: FakeBitget, tmp_path: Path
) -> None:

    settings, config, spec, clock, start = _live_runner(promoted, bitget, tmp_path)
    stop = asyncio.Event()
    state = settings.state_dir

    def protected_fill() -> bool:
        if not (state / "trades.sqlite").exists():
            return False
        ledger = TradeLedger(state / "trades.sqlite", read_only=True)
        kinds = [e["kind"] for e in ledger.events(500)]
        ledger.close()
        return "fill" in kinds and any(p["planType"] == "loss_plan" and p["planStatus"] == "live" for p in bitget.plans)

    async def drive() -> None:
        while not protected_fill():
            assert clock.now() < start + 60 * STEP, "no entry filled and got protected in 60 bars"
            await asyncio.sleep(0.01)
        control.arm(state, "flatten", "live test")
        while control.read_kill(state).acted_at is None:
            await asyncio.sleep(0.01)
        stop.set()

    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=180)
    await asyncio.wait_for(task, timeout=60)
    kill = control.read_kill(state)
    assert kill.acted and kill.acted["state"] == "HALTED" and not kill.acted.get("errors")
    assert all(p["qty"] == 0 for p in bitget.positions.values())  # nothing of ours left at the venue
    assert not [p for p in bitget.plans if p["planStatus"] == "live"]
    assert not [o for o in bitget.orders.values() if o["status"] in ("live", "partially_filled")]


async def test_a_stop_that_fired_while_the_runner_was_down_is_booked_on_restart(
    promoted: Path, bitget: FakeBitget, tmp_path: Path
) -> None:
    import json  # noqa: PLC0415

    from aitrade.strategy import FLAT, OPEN  # noqa: PLC0415

    settings = _live(promoted, bitget, tmp_path / "home")
    params = tmp_path / "genome.json"
    params.write_text(
        json.dumps(
            {
                "conf": 0.34,
                "pullback": 0.1,
                "fill_wait": 4,
                "sl": 1.5,
                "tp": 30.0,
                "max_hold": 1000,
                "abort": 1.0,
                "vol_exit": 100.0,
                "trail_act": 100.0,
            }
        )
    )
    start = pd.Timestamp("2024-06-01T00:30:00Z")
    clock = MarketClock(start, bitget)
    state = settings.state_dir

    def books() -> dict:
        return ledger_books(state)

    async def session(until) -> None:
        config, spec = runner_cmd.prepare(
            settings,
            signals="model",
            params=str(params),
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

        async def drive() -> None:
            while not until():
                assert clock.now() < start + 80 * STEP, "the condition never came"
                await asyncio.sleep(0.01)
            stop.set()

        task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
        await asyncio.wait_for(drive(), timeout=180)
        await asyncio.wait_for(task, timeout=60)

    def protected() -> bool:
        live = {p["symbol"] for p in bitget.plans if p["planType"] == "loss_plan" and p["planStatus"] == "live"}
        return any(b.state.mode == OPEN and b.symbol in live for b in books().values())

    await session(protected)
    book = next(b for b in books().values() if b.state.mode == OPEN)
    plan = next(
        p
        for p in bitget.plans
        if p["symbol"] == book.symbol and p["planStatus"] == "live" and p["planType"] == "loss_plan"
    )
    trigger = Decimal(plan["triggerPrice"])
    gap = trigger * (Decimal("0.9") if book.state.side > 0 else Decimal("1.1"))  # the market gaps through it
    bitget.set_price(book.symbol, gap)
    assert plan["planStatus"] == "executed" and bitget.positions[book.symbol]["qty"] == 0  # fired while down
    fill = next(o for o in bitget.orders.values() if o["orderId"] == plan["executeOrderId"])

    clock.t += STEP  # the runner comes back a bar later
    await session(lambda: books()[book.symbol].state.mode == FLAT)
    trades = runner_cmd.trades(settings)
    mine = trades[trades["symbol"] == book.symbol]
    assert len(mine) >= 1 and mine.iloc[-1]["exit_reason"] == "sl"
    # booked at the venue's fill of the plan's own order (plan history executeOrderId), not at the trigger level
    assert mine.iloc[-1]["exit_price"] == pytest.approx(float(fill["priceAvg"]), rel=1e-12)
    assert mine.iloc[-1]["exit_price"] == pytest.approx(float(gap), rel=1e-9)
    assert abs(mine.iloc[-1]["exit_price"] - float(trigger)) > 0.05 * float(trigger)


async def test_the_control_room_panels_watch_and_flatten_a_live_runner_on_the_fake_bitget(
    promoted: Path, bitget: FakeBitget, tmp_path: Path
) -> None:
    """LIVE MONITOR and the KILL SWITCH panel, clicked as a user would, against a live runner on the loopback fake
    Bitget futures: a protected position is shown, flatten leaves nothing of ours at the venue."""

    from widgets.kill import KillSwitchPanel  # noqa: PLC0415
    from widgets.monitor import LiveMonitorPanel  # noqa: PLC0415

    settings, config, spec, clock, start = _live_runner(promoted, bitget, tmp_path)
    stop = asyncio.Event()
    kill_panel, monitor_panel = KillSwitchPanel(settings), LiveMonitorPanel(settings)

    async def drive() -> None:
        while True:
            monitor_panel.refresh()
            if monitor_panel.snap and monitor_panel.snap.positions and bitget.plans:
                break
            assert clock.now() < start + 60 * STEP, "no entry filled and got protected in 60 bars"
            await asyncio.sleep(0.05)
        snap = monitor_panel.snap
        assert snap is not None and snap.alive and snap.mode == "live" and snap.positions[0]["stop"]
        assert snap.positions[0]["symbol"] in monitor_panel.positions.value
        kill_panel.level.value = "flatten"
        kill_panel.reason.value = "panel on the fake venue"
        kill_panel.arm.click()
        while "confirmed" not in kill_panel.status.value and "error" not in kill_panel.status.value:
            await asyncio.sleep(0.05)
        stop.set()

    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=180)
    await asyncio.wait_for(task, timeout=60)
    assert "flatten confirmed in" in kill_panel.status.value, kill_panel.status.value
    kill = control.read_kill(settings.state_dir)
    assert kill.acted["state"] == "HALTED" and kill.acted["closed"] >= 1 and not kill.acted.get("errors")
    assert all(p["qty"] == 0 for p in bitget.positions.values())  # nothing of ours left at the venue
    assert not [p for p in bitget.plans if p["planStatus"] == "live"]
    assert not [o for o in bitget.orders.values() if o["status"] in ("live", "partially_filled")]
    monitor_panel.refresh()
    assert monitor_panel.snap.state == "HALTED" and not monitor_panel.snap.positions


async def test_a_flatten_the_venue_refuses_is_not_reported_done_keeps_the_stop_and_is_retried(
    promoted: Path, bitget: FakeBitget, tmp_path: Path
) -> None:
    """Bitget refuses the closes (40762): the kill is confirmed as NOT flat, the book stays open with its stop at the
    venue, and the runner retries until the venue says flat."""
    from aitrade.strategy import OPEN  # noqa: PLC0415

    settings, config, spec, clock, start = _live_runner(promoted, bitget, tmp_path)
    stop = asyncio.Event()
    state = settings.state_dir
    seen: dict = {}

    def books() -> dict:
        ledger = TradeLedger(state / "trades.sqlite", read_only=True)
        try:
            return ledger.books()
        finally:
            ledger.close()

    def protected() -> bool:
        if not (state / "trades.sqlite").exists():
            return False
        live = {p["symbol"] for p in bitget.plans if p["planType"] == "loss_plan" and p["planStatus"] == "live"}
        return any(b.state.mode == OPEN and b.symbol in live for b in books().values())

    async def drive() -> None:
        while not protected():
            assert clock.now() < start + 60 * STEP, "no entry filled and got protected in 60 bars"
            await asyncio.sleep(0.01)
        bitget.faults.add("refuse", path="/api/v2/mix/order/place-order", times=2)  # the book's close, the sweep
        control.arm(state, "flatten", "refused flatten test")
        while control.read_kill(state).acted_at is None:
            await asyncio.sleep(0.01)
        first = control.read_kill(state)
        seen["first"] = first.acted
        seen["books"] = {s: b.state.mode for s, b in books().items()}
        seen["plans"] = [p["symbol"] for p in bitget.plans if p["planStatus"] == "live"]
        seen["venue"] = {s: p["qty"] for s, p in bitget.positions.items() if p["qty"] != 0}
        while not control.read_kill(state).acted.get("flat"):
            await asyncio.sleep(0.05)
        stop.set()

    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=240)
    await asyncio.wait_for(task, timeout=60)
    first = seen["first"]
    assert first["flat"] is False and first["open"] and any("40762" in e for e in first["errors"])
    held = set(seen["venue"])
    assert held and set(first["open"]) == held  # what the venue still held, said as such
    assert all(seen["books"][s] == OPEN for s in held)  # the book was not marked flat
    assert held <= set(seen["plans"])  # and its stop stayed at the venue: never bare
    final = control.read_kill(state).acted
    assert final["flat"] is True and not final["open"]
    assert all(p["qty"] == 0 for p in bitget.positions.values())
    assert not [p for p in bitget.plans if p["planStatus"] == "live"]
    assert all(b.state.mode != OPEN for b in books().values())


async def test_a_flatten_that_meets_an_entry_filled_on_its_way_books_the_trade_and_closes_it(
    promoted: Path, bitget: FakeBitget, tmp_path: Path
) -> None:
    """The kill cancels a resting entry that the market fills while the cancel is on its way (chaos seed 5): the
    fill becomes a position, the position is closed, and its trade is in the ledger (it once failed to be written,
    for want of an entry time, so the venue saw one more entry than the ledger had trades)."""
    from aitrade.strategy import PENDING  # noqa: PLC0415

    settings, config, spec, clock, start = _live_runner(promoted, bitget, tmp_path)
    stop = asyncio.Event()
    state = settings.state_dir
    seen: dict = {}

    def pending() -> str | None:
        if not (state / "trades.sqlite").exists():
            return None
        held = ledger_books(state)
        return next((s for s, b in held.items() if b.state.mode == PENDING), None)

    async def drive() -> None:
        while (symbol := pending()) is None:
            assert clock.now() < start + 60 * STEP, "no entry rested at the venue in 60 bars"
            await asyncio.sleep(0.005)
        seen["symbol"] = symbol
        bitget.faults.add("fill-before-cancel", path=symbol)
        control.arm(state, "flatten", "an entry fills on the cancel's way")
        while not control.read_kill(state).acted.get("flat"):
            assert clock.now() < start + 90 * STEP, control.read_kill(state).acted
            await asyncio.sleep(0.01)
        stop.set()

    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=240)
    await asyncio.wait_for(task, timeout=60)
    assert "fill-before-cancel" in bitget.faults.fired  # the race happened
    entries = [o for o in bitget.orders.values() if "-entry-" in o["clientOid"] and Decimal(o["baseVolume"]) > 0]
    trades = runner_cmd.trades(settings)
    assert len(trades) == len(entries), (len(trades), len(entries))  # every filled entry is a trade
    last = trades[trades["symbol"] == seen["symbol"]].iloc[-1]
    assert last["exit_reason"] == "kill" and pd.notna(last["entry_time"])
    assert all(p["qty"] == 0 for p in bitget.positions.values())


async def test_a_venue_down_during_the_flatten_neither_crashes_the_runner_nor_reports_flat(
    promoted: Path, bitget: FakeBitget, tmp_path: Path
) -> None:
    """Every futures call answers 503 for a while: the kill is confirmed as not flat, the runner stays up, and
    the retries flatten once the venue is back."""
    from aitrade.strategy import OPEN  # noqa: PLC0415

    settings, config, spec, clock, start = _live_runner(promoted, bitget, tmp_path)
    stop = asyncio.Event()
    state = settings.state_dir
    seen: dict = {}

    def opened() -> bool:
        if not (state / "trades.sqlite").exists():
            return False
        ledger = TradeLedger(state / "trades.sqlite", read_only=True)
        try:
            return any(b.state.mode == OPEN for b in ledger.books().values())
        finally:
            ledger.close()

    async def drive() -> None:
        while not opened():
            assert clock.now() < start + 60 * STEP, "no entry filled in 60 bars"
            await asyncio.sleep(0.01)
        bitget.faults.add("500", path="/api/v2/mix/", times=40)  # the venue is down
        control.arm(state, "flatten", "venue down test")
        while control.read_kill(state).acted_at is None:
            await asyncio.sleep(0.01)
        seen["first"] = control.read_kill(state).acted
        while not control.read_kill(state).acted.get("flat"):
            assert not task.done(), "the runner died"
            await asyncio.sleep(0.05)
        stop.set()

    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=240)
    await asyncio.wait_for(task, timeout=60)
    assert seen["first"]["flat"] is False and seen["first"]["errors"]
    assert all(p["qty"] == 0 for p in bitget.positions.values())


@pytest.mark.parametrize("orders", [1, 6])
async def test_a_power_cut_after_the_venue_took_an_order_sends_nothing_twice_and_leaves_nothing_unowned(
    promoted: Path, bitget: FakeBitget, tmp_path: Path, orders: int
) -> None:
    """Power fails just after the venue accepted the ``orders``-th order or stop; the state files lose every
    commit after their last fsync; the runner restarts: no clientOid is sent twice, everything at the venue is
    AiTrade's by its ownership ledger, and no position is without its stop."""
    import gc  # noqa: PLC0415

    import aiohttp  # noqa: PLC0415

    from aitrade import sqlitedb  # noqa: PLC0415
    from aitrade.factory import build_brokers  # noqa: PLC0415
    from aitrade.strategy import OPEN  # noqa: PLC0415

    def live_ids(fake: FakeBitget) -> list[str]:
        return [o["clientOid"] for o in fake.orders.values() if o["status"] in ("live", "partially_filled")]

    settings, config, spec, clock, start = _live_runner(promoted, bitget, tmp_path)
    state = settings.state_dir
    power = PowerCut(until=lambda: len(bitget.orders) + len(bitget.plans) >= orders)
    sqlitedb.FSYNCED.append(power)
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
        while not power.cut and len(bitget.orders) + len(bitget.plans) < orders:
            assert clock.now() < start + 60 * STEP and not task.done(), "no orders in 60 bars"
            await asyncio.sleep(0)
        bitget.faults.add("500", path="/api/v2/", times=1_000_000)  # the machine is off: nothing more reaches it
        power.cut = True
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gc.collect()  # every connection of the dead process closed before its files are put back
    finally:
        sqlitedb.FSYNCED.remove(power)
    power.restore()
    bitget.faults.queue.clear()
    taken = len(bitget.orders) + len(bitget.plans)

    config, spec = runner_cmd.prepare(
        settings,
        signals="model",
        params=str(tmp_path / "genome.json"),
        mode="live",
        replay=False,
        capital=1000.0,
        long_only=False,
        start=None,
        end=None,
        speed=0.0,
    )
    spec.clock, spec.poll_s = clock, 1800.0
    restarted = clock.now()
    stop = asyncio.Event()
    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))

    def bare() -> set[str]:  # positions at the venue without a live stop
        stops = {p["symbol"] for p in bitget.plans if p["planType"] == "loss_plan" and p["planStatus"] == "live"}
        return {s for s, p in bitget.positions.items() if p["qty"] != 0} - stops

    while clock.now() < restarted + 6 * STEP or bare():  # a fill of the last bar is protected by the next one
        assert clock.now() < restarted + 30 * STEP, f"left without a stop: {bare()}"
        assert not task.done(), "the restarted runner stopped"
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=60)

    assert not bitget.duplicates, f"sent twice: {bitget.duplicates}"
    async with aiohttp.ClientSession() as http:  # the broker as `aitrade broker status` sees it, fills followed
        broker = build_brokers(settings, http, "live", ["bitget"])["bitget"]
        await broker.connect()
        try:
            ours = {p.symbol: p.quantity for p in await broker.positions()}
            known = [cid for cid in live_ids(bitget) if not broker.inventory.known(cid)]
        finally:
            await broker.close()
    assert ours == {s: p["qty"] for s, p in bitget.positions.items() if p["qty"] != 0}  # all of it ours, no more
    assert not known, f"at the venue, not known to AiTrade: {known}"
    ledger = TradeLedger(state / "trades.sqlite", read_only=True)
    books = ledger.books()
    ledger.close()
    held = {cid for b in books.values() if b.state.mode == OPEN for cid in (b.stop_id, b.target_id)}
    orphans = [p["clientOid"] for p in bitget.plans if p["planStatus"] == "live" and p["clientOid"] not in held]
    assert not orphans, f"stops at the venue that no book of AiTrade's holds: {orphans}"
    assert not bare()
    assert taken >= orders


async def test_protections_the_venue_refuses_are_watched_by_the_runner_and_exit_at_their_level(
    promoted: Path, bitget: FakeBitget, tmp_path: Path
) -> None:
    """Every stop and target placement is refused (as Bitget refuses a stop the market is already beyond): the
    open position is not left bare; the runner watches both levels itself and closes at market at the first
    one a bar reaches (the genome exits at no other reason)."""
    import json  # noqa: PLC0415

    from aitrade.strategy import FLAT, OPEN  # noqa: PLC0415

    settings = _live(promoted, bitget, tmp_path / "home")
    params = tmp_path / "genome.json"
    params.write_text(
        json.dumps(
            {
                "conf": 0.34,
                "pullback": 0.1,
                "fill_wait": 4,
                "sl": 1.0,
                "tp": 1.5,
                "max_hold": 1000,
                "abort": 1.0,
                "vol_exit": 100.0,
                "trail_act": 100.0,
            }
        )
    )
    start = pd.Timestamp("2024-06-01T00:30:00Z")
    clock = MarketClock(start, bitget)
    config, spec = runner_cmd.prepare(
        settings,
        signals="model",
        params=str(params),
        mode="live",
        replay=False,
        capital=1000.0,
        long_only=False,
        start=None,
        end=None,
        speed=0.0,
    )
    spec.clock, spec.poll_s = clock, 1800.0
    state = settings.state_dir
    bitget.faults.add("refuse", path="/api/v2/mix/order/place-tpsl-order", times=1_000_000)
    seen: dict = {}

    def books() -> dict:
        return ledger_books(state)

    async def drive() -> None:
        while not any(b.state.mode == OPEN for b in books().values()):
            assert clock.now() < start + 60 * STEP, "no entry filled in 60 bars"
            await asyncio.sleep(0.01)
        seen["book"] = book = next(b for b in books().values() if b.state.mode == OPEN)
        while books()[book.symbol].state.mode != FLAT:
            assert clock.now() < start + 160 * STEP, "the runner never exited at a level it watches"
            await asyncio.sleep(0.01)
        stop.set()

    stop = asyncio.Event()
    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=300)
    await asyncio.wait_for(task, timeout=60)
    book = seen["book"]
    assert not [p for p in bitget.plans if p["symbol"] == book.symbol]  # the venue never held a protection
    trades = runner_cmd.trades(settings)
    last = trades[trades["symbol"] == book.symbol].iloc[0]
    assert last["exit_reason"] in ("sl", "tp")
    level = book.state.stop if last["exit_reason"] == "sl" else book.state.target
    beyond = (last["exit_price"] - level) * book.state.side  # at or beyond the level (a bar may gap through it)
    assert beyond <= 0.01 * level if last["exit_reason"] == "sl" else beyond >= -0.01 * level
    assert bitget.positions[book.symbol]["qty"] == 0


async def test_an_entry_filled_in_part_is_a_position_protected_at_once_and_the_rest_is_cancelled(
    promoted: Path, bitget: FakeBitget, tmp_path: Path
) -> None:
    """Every resting entry the market crosses fills only half (the rest would rest on): the bar that sees it
    cancels the rest and opens the book for the half, its stop at the venue sized to it, in the same tick,
    not after the entry's ``fill_wait`` bars."""
    from aitrade.strategy import OPEN  # noqa: PLC0415

    settings, config, spec, clock, start = _live_runner(promoted, bitget, tmp_path)
    state = settings.state_dir
    bitget.faults.add("partial", path=None, times=1_000_000)
    stop = asyncio.Event()
    seen: dict = {}

    def half_filled() -> dict | None:
        for order in bitget.orders.values():
            if (
                order["orderType"] == "limit"
                and order["clientOid"].startswith("at-")
                and 0 < Decimal(order["baseVolume"]) < Decimal(order["size"])
            ):
                return order
        return None

    async def drive() -> None:
        while (order := half_filled()) is None:
            assert clock.now() < start + 60 * STEP, "no entry was crossed in 60 bars"
            await asyncio.sleep(0.01)
        seen["order"], seen["at"] = order, clock.now()
        symbol = order["symbol"]
        while ledger_books(state).get(symbol) is None or ledger_books(state)[symbol].state.mode != OPEN:
            assert clock.now() < seen["at"] + STEP, "the part was not opened by the next bar"
            await asyncio.sleep(0.01)
        seen["book"] = ledger_books(state)[symbol]
        seen["plans"] = [dict(p) for p in bitget.plans if p["symbol"] == symbol and p["planStatus"] == "live"]
        seen["status"] = order["status"]
        stop.set()

    task = asyncio.create_task(runner_cmd.run_foreground(settings, config, spec, stop=stop))
    await asyncio.wait_for(drive(), timeout=300)
    await asyncio.wait_for(task, timeout=60)
    order, book = seen["order"], seen["book"]
    filled = Decimal(order["baseVolume"])
    assert Decimal(repr(book.state.qty)) == filled < Decimal(order["size"])
    assert seen["status"] == "cancelled"  # the rest does not rest on, unprotected
    stops = [p for p in seen["plans"] if p["planType"] == "loss_plan"]
    assert len(stops) == 1 and Decimal(stops[0]["size"]) == filled and stops[0]["clientOid"] == book.stop_id
    assert abs(bitget.positions[order["symbol"]]["qty"]) == filled
