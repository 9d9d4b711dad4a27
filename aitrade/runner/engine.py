"""The trading loop: closed bars in, the rules' decisions out through the router, everything in the ledger.

Each tick (one bar time): kill switch -> heartbeat -> for every symbol with a
closed bar: the venue's facts (fills, fired protections) -> the rules'
phases of :mod:`aitrade.strategy` (the same functions the backtest's
``step`` composes) -> order intents written to the ledger -> the router ->
acks in the ledger -> the symbol's book saved with the trades it closed.

Restart safety: a book is saved after its bar, so a crash re-processes that
bar. Every decision derives its client id from (strategy, symbol, bar, leg,
attempt): re-deciding gives the same id, which the ledger already holds, so
the order is looked up at the venue instead of sent again. Each order's
write-ahead intent also records the book its decision leads to, so a restart
that does not re-process the bar (a live feed has moved on, or a power cut
dropped the book) takes the decision from the intent
(:mod:`aitrade.runner.recovery`). A paper venue applies each bar once (by its
time).

Sizing follows the backtest: the capital is split equally between the
symbols (sleeves), and each sleeve sizes from its own realised cash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import pandas as pd

from aitrade.brokers.base import Broker, OrderStatus
from aitrade.errors import AiTradeError, HaltError, ReconcileError, RetryableError, SkipError
from aitrade.runner import control
from aitrade.runner.books import Books
from aitrade.runner.execution import Execution
from aitrade.runner.ledger import Book, TradeLedger
from aitrade.runner.recovery import Recovery
from aitrade.runner.replay import BarSignal
from aitrade.runner.seams import Alerts, Event, Feed, Json, JsonMap
from aitrade.runner.step import BarStep, Plan, partial_fill

if TYPE_CHECKING:
    from aitrade.config import Settings
    from aitrade.router import Router
from aitrade.strategy import (
    EXIT_REASONS,
    FLAT,
    OPEN,
    PENDING,
    Genome,
    Rules,
    protection_exit,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")


class TradingState(StrEnum):
    """Where the runner stands: trading; exits and protections only (the switch at pause, a guard); nothing."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
COVER_EVERY_S = 15.0  # between bars, protections of open positions are re-checked this often
BEAT_EVERY_S = 0.25  # the heartbeat's most frequent write (a replay at full speed ticks far faster)


@dataclass(frozen=True)
class RunnerConfig:
    """What a runner session trades with (recorded in the ledger; a restart must match it). The risk limits
    change only through the runtime settings, as a new config (:meth:`Runner._reload_settings`)."""

    mode: str
    signals_run: str
    genome: Genome
    rules: dict[str, Rules]
    capital: float
    start: str | None = None
    end: str | None = None
    speed: float = 0.0
    strategy_id: str = "aitrade"
    max_open_positions: int = 1_000
    max_daily_drawdown: float = 1.0
    max_consecutive_errors: int = 5
    params_file: str | None = None

    feed: str = "replay"

    def session(self) -> JsonMap:
        return {
            "mode": self.mode,
            "feed": self.feed,
            "signals_run": self.signals_run,
            "genome": self.genome.to_dict(),
            "capital": self.capital,
            "symbols": sorted(self.rules),
            "start": self.start,
            "end": self.end,
            "strategy_id": self.strategy_id,
            "long_only": not any(r.allow_short for r in self.rules.values()),
        }


@dataclass(frozen=True)
class RunResult:
    """How a session ended: ran to the end of its feed or was stopped, after how many ticks, in what state."""

    finished: bool
    ticks: int
    state: TradingState


@dataclass
class Health:
    state: TradingState = ACTIVE
    ticks: int = 0
    last_error: str | None = None
    errors_in_row: int = 0
    uncovered_since: dict[str, float] = field(default_factory=dict)
    seconds_uncovered: float = 0.0
    last_bars: dict[str, str] = field(default_factory=dict)
    day: str = ""  # the UTC day of the bars being traded
    day_start_equity: float = 0.0
    equity: float = 0.0
    settings_applied_at: str | None = None


class Runner:
    """One asyncio loop over a replay feed; the router's brokers execute; the ledger remembers."""

    def __init__(
        self,
        config: RunnerConfig,
        router: Router,
        ledger: TradeLedger,
        state_dir: Path,
        feed: Feed,
        alerts: Alerts | None = None,
        *,
        stop: asyncio.Event | None = None,
        settings_source: Callable[[], Settings] | None = None,
    ) -> None:
        """``stop`` ends the loop when set (SIGTERM and SIGINT set it too); ``settings_source`` re-reads the
        settings when ``state/runtime_settings.json`` changes."""
        self.config = config
        self.router = router
        self.ledger = ledger
        self.state_dir = Path(state_dir)
        self.feed = feed
        self.sleeve = config.capital / max(1, len(config.rules))
        self.health = Health()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runner-io")
        self._stop = stop or asyncio.Event()
        self.kill = control.KillSwitch()
        self._last_beat = -1e18
        self.alerts = alerts
        self.settings_source = settings_source
        self._settings_stamp: float | str | None = "unseen"
        self._closes: dict[str, float] = {}
        self._covered_at = -1e18
        self._exit_retry_at: dict[str, float] = {}  # symbol -> when a refused synthetic exit is tried again
        self._flatten_backoff_s = 0.0
        self._flatten_retry_at = 0.0
        self.books = Books(ledger, self._run_io, self.sleeve)
        self.ex = Execution(config, router, ledger, self.books, self._run_io, self._say)
        self.step = BarStep(self.ex, self.books, self._say, self._takes_entries)
        self._paper = [b for b in router.brokers.values() if hasattr(b, "hold_writes")]  # commit once per tick

    def _takes_entries(self) -> bool:
        return not self.kill.engaged and self.health.state == ACTIVE

    def _say(self, text: str) -> None:
        if self.alerts is not None:
            self.alerts.send(text)

    # --- plumbing: every SQLite and file call goes through one I/O thread ---------------------------------
    async def _run_io(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, lambda: fn(*args, **kwargs))

    def request_stop(self) -> None:
        self._stop.set()

    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- the loop ----------------------------------------------------------------------------------------
    async def run(self) -> RunResult:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread (tests)
                loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.recover()
            finished = True
            async for ts, bars in self.feed.steps():
                if self._stop.is_set():
                    finished = False
                    break
                await self.tick(ts, bars)
            await self.beat("finished" if finished else "stopped")
            self._say(
                f"runner {'finished its replay' if finished else 'stopped'} after {self.health.ticks} ticks, "
                f"state {self.health.state}"
            )
            await self._run_io(self.ledger.event, "stop", None, {"finished": finished, "ticks": self.health.ticks})
            return RunResult(finished=finished, ticks=self.health.ticks, state=self.health.state)
        finally:
            self._io.shutdown(wait=True)

    async def recover(self) -> None:
        """Startup is recovery: reconcile with every venue, or arm ``pause`` and refuse, saying why."""
        try:
            await self._recover()
        except AiTradeError as exc:
            reason = f"reconciliation failed: {exc}"
            await self._run_io(self.ledger.event, "reconcile_failed", None, {"error": str(exc)})
            await self._run_io(control.arm, self.state_dir, "pause", reason, by="runner")
            self._say(f"NOT STARTED: {reason}")
            raise HaltError(
                f"{reason}; the kill switch is armed (pause); fix the cause, then "
                "`aitrade unkill --confirm` and start again"
            ) from exc

    async def _recover(self) -> None:
        """Reconcile with the venues and the write-ahead record (:mod:`aitrade.runner.recovery`), then report."""
        recovery = Recovery(self.ex, self.ledger, self.config.strategy_id, self.sleeve, self._run_io, self._say)
        counts = await recovery.run()
        await self.books.load()
        self.kill = await self._run_io(control.read_kill, self.state_dir)
        if self.kill.engaged:
            self.health.state = HALTED if self.kill.flatten else REDUCING
        self._say(
            f"runner started (pid {os.getpid()}, {self.config.mode} replay): {counts['intents_resolved']} "
            f"intents resolved, {counts['books_replayed']} books replayed from them, "
            f"{counts['protections_repaired']} protections re-armed, state {self.health.state}"
        )
        await self._run_io(self.ledger.event, "start", None, {"pid": os.getpid(), **counts, "kill": self.kill.engaged})
        await self.beat("running")

    async def tick(self, ts: pd.Timestamp, bars: dict[str, BarSignal]) -> None:
        kill = await self._run_io(control.read_kill, self.state_dir)
        if kill.engaged and kill.acted_at is None:
            await self.act_on_kill(kill)
            kill = self.kill
        elif self._flatten_due(kill):
            await self.act_on_kill(kill)  # the venue has not confirmed flat yet: try again
            kill = self.kill
        elif not kill.engaged and self.kill.engaged:
            self.kill = kill
            await self._run_io(self.ledger.event, "release", None, {})
            self._say("kill switch released: reconciling, then trading again")
            await self.recover()  # resume only after reconciliation
            self.health.state = ACTIVE
        self.kill = kill
        for request in await self._run_io(control.pending_exits, self.state_dir):
            await self.act_on_force_exit(request)
        await self._reload_settings()
        if self.health.state == HALTED:
            self.health.ticks += 1
            await self.beat("running", every_s=BEAT_EVERY_S)
            return
        if not bars:  # an idle step of a live feed: fills, synthetic levels, coverage, staleness
            await self.watch()
            await self.beat("running", every_s=BEAT_EVERY_S)
            return
        self.step.begin_tick()
        venues: dict[str, list[str]] = {}  # each venue's symbols in turn; venues side by side
        for symbol in sorted(bars):
            if symbol in self.config.rules:
                venues.setdefault(self.router.broker_for(symbol).name, []).append(symbol)
        for broker in self._paper:  # a paper account commits once per tick, before the tick's books
            broker.hold_writes()
        try:
            decided = await asyncio.gather(*(self._decide(symbols, ts, bars) for symbols in venues.values()))
            orders = [p.order.intent for plans in decided for p in plans if p.order is not None]
            try:  # the write-ahead record of the tick's orders: one fsynced transaction, before any leaves
                fresh = await self._run_io(self.ledger.write_intents, orders) if orders else set[str]()
            except AiTradeError as exc:
                for plans in decided:
                    for plan in plans:
                        await self._error(plan.symbol, exc)
                return
            await asyncio.gather(*(self._carry(plans, fresh) for plans in decided))
        finally:
            for broker in self._paper:
                broker.write_held()
        await self.books.flush()
        self._closes.update({s: b.close for s, b in bars.items()})
        await self._drawdown_guard(ts)
        await self._stale_guard()
        self.health.ticks += 1
        await self.beat("running", every_s=BEAT_EVERY_S)

    async def _decide(self, symbols: list[str], ts: pd.Timestamp, bars: dict[str, BarSignal]) -> list[Plan]:
        """One venue's symbols of a tick, one after the other (a slow venue holds up only its own): the venue's
        facts and the rules' decisions (:meth:`BarStep.decide`)."""
        plans = []
        for symbol in symbols:
            plan = await self._guarded(symbol, self.step.decide(symbol, ts, bars[symbol]))
            if plan is not None:
                plans.append(plan)
        return plans

    async def _carry(self, plans: list[Plan], fresh: set[str]) -> None:
        """One venue's decided orders sent, in turn, once the tick's intents are written."""
        for plan in plans:
            stamp = await self._guarded(plan.symbol, self.step.carry(plan, fresh))
            if stamp is not None:
                self.health.last_bars[plan.symbol] = stamp
                self.health.errors_in_row = 0

    async def _guarded(self, symbol: str, work: Awaitable[T]) -> T | None:
        """``work`` for ``symbol``; an error is counted (and a halt obeyed) and gives None: the bar's book is not
        staged, as if the bar had not come."""
        try:
            return await work
        except (RetryableError, SkipError, ReconcileError) as exc:
            await self._error(symbol, exc)
        except HaltError as exc:
            await self._error(symbol, exc)
            self.health.state = HALTED
        return None

    async def _stale_guard(self) -> None:
        """A live feed whose closed bars stopped arriving arms ``pause``: no decision on data that is not there."""
        stale = getattr(self.feed, "stale", {})
        late = {s: n for s, n in stale.items() if n >= getattr(self.feed, "stale_bars", 3)}
        if late and self.health.state == ACTIVE and not self.kill.engaged:
            worst = max(late, key=late.__getitem__)
            await self._auto_kill(f"stale data: {worst} has no closed bar for {late[worst]} intervals")

    async def watch(self) -> None:
        """Between bars (live feeds): protect fills as soon as they happen where the venue takes no bracket,
        exit at synthetic levels where it holds no stops, re-check coverage every ``COVER_EVERY_S``."""
        loop = asyncio.get_running_loop()
        cover_due = loop.time() - self._covered_at >= COVER_EVERY_S
        for book in self.books.all().values():
            broker = self.router.broker_for(book.symbol)
            try:
                if book.state.mode == PENDING and not self.ex.brackets(broker):
                    await self._watch_fill(book)
                elif book.state.mode == OPEN:
                    if cover_due and self.ex.native(broker):
                        await self.ex.cover(book)
                    if self.ex.watched(broker, book.state, book.symbol) is not None:
                        await self._watch_levels(book, broker)
            except (RetryableError, SkipError, ReconcileError) as exc:
                await self._error(book.symbol, exc)
        if cover_due:
            self._covered_at = loop.time()

    async def _watch_fill(self, book: Book) -> None:
        """A pending entry between bars: filled, it is protected at once; filled in part, the rest is cancelled and
        the part protected at once (:meth:`BarStep.take_part`)."""
        order = await self.ex.lookup(book.symbol, book.entry_id)
        if order is None or not order.filled:
            return
        seen = asyncio.get_running_loop().time()
        stamp = pd.Timestamp.now(tz="UTC").isoformat()
        if order.status is not OrderStatus.FILLED:
            part = await self.step.take_part(book, book.t + 1, stamp)
            if part is None:
                return  # the rest filled meanwhile: the next poll opens the whole
            if part.state.mode == OPEN:
                self.health.seconds_uncovered += asyncio.get_running_loop().time() - seen
                s = part.state
                await self.books.save(part, events=[partial_fill(part)])
                self._say(
                    f"{book.symbol} entry filled in part: {s.qty:g} at {s.entry:g}; the rest cancelled, "
                    "the part protected"
                )
            return
        held, fill = self.step.take_fill(book, order, book.t + 1, stamp)
        await self.ex.cover(held)
        self.health.seconds_uncovered += asyncio.get_running_loop().time() - seen
        await self.books.save(held, events=[fill])
        self._say(f"{book.symbol} entry filled: {order.filled} at {order.avg_price}; protections placed")

    async def _watch_levels(self, book: Book, broker: Broker) -> None:
        s = book.state
        levels = self.ex.watched(broker, s, book.symbol)
        if levels is None:
            return
        now = asyncio.get_running_loop().time()
        if now < self._exit_retry_at.get(book.symbol, 0.0):
            return  # a refused exit is tried again every COVER_EVERY_S, not on every poll
        price = float(await broker.last_price(book.symbol))
        hit, why = protection_exit(levels, price, price, price)
        if hit < 0:
            return
        stamp, named = pd.Timestamp.now(tz="UTC"), EXIT_REASONS[why]
        filled = await self.ex.exit(book, s, stamp, named)
        if filled is None:
            self._exit_retry_at[book.symbol] = now + COVER_EVERY_S
            return
        trade = self.ex.trade(book, s, filled, stamp.isoformat(), named)
        events: list[Event] = [("synthetic_exit", {"reason": named, "price": price})]
        await self.books.save(book.flat(trade.pnl), trades=[trade], events=events)

    async def _drawdown_guard(self, ts: pd.Timestamp) -> None:
        """Equity (realised sleeves plus open positions at the last close) against the day's start; beyond
        ``max_daily_drawdown`` the kill switch is armed at ``pause`` (REDUCING: exits and protections go on)."""
        books = self.books.all()
        equity = sum(b.cash for b in books.values()) + self.sleeve * (len(self.config.rules) - len(books))
        for b in books.values():
            if b.state.mode == OPEN and b.symbol in self._closes:
                equity += b.state.side * (self._closes[b.symbol] - b.state.entry) * b.state.qty
        day = ts.strftime("%Y-%m-%d")
        if day != self.health.day:
            self.health.day, self.health.day_start_equity = day, equity
        self.health.equity = equity
        start = self.health.day_start_equity
        limit = self.config.max_daily_drawdown
        if start > 0 and equity < start * (1 - limit) and self.health.state == ACTIVE and not self.kill.engaged:
            loss = 1 - equity / start
            await self._auto_kill(f"daily drawdown {loss:.1%} on {day} is beyond MAX_DAILY_DRAWDOWN {limit:.1%}")

    async def _reload_settings(self) -> None:
        """``state/runtime_settings.json`` changed: the risk limits apply from this tick; a mode change waits."""
        if self.settings_source is None:
            return
        path = self.state_dir / "runtime_settings.json"
        stamp = path.stat().st_mtime if path.exists() else None
        if stamp == self._settings_stamp:
            return
        first = self._settings_stamp == "unseen"
        self._settings_stamp = stamp
        if first:  # the limits the runner started with came from this file already
            return
        try:
            fresh = await self._run_io(self.settings_source)
        except AiTradeError as exc:
            await self._run_io(self.ledger.event, "settings_rejected", None, {"error": str(exc)})
            self._say(f"runtime settings not applied: {exc}")
            return
        if fresh.runtime_quarantine:
            why = f"corrupt runtime settings moved aside: {fresh.runtime_quarantine[0]}"
            await self._run_io(self.ledger.event, "settings_rejected", None, {"error": why})
            return
        changes: dict[str, Json] = {}
        rules = {
            s: replace(r, risk_per_trade=fresh.risk_per_trade, max_notional=fresh.max_position_notional)
            for s, r in self.config.rules.items()
        }
        before = next(iter(self.config.rules.values()), None)
        if before is not None and before.risk_per_trade != fresh.risk_per_trade:
            changes["risk_per_trade"] = fresh.risk_per_trade
        if before is not None and before.max_notional != fresh.max_position_notional:
            changes["max_position_notional"] = fresh.max_position_notional
        if self.config.max_open_positions != fresh.max_open_positions:
            changes["max_open_positions"] = fresh.max_open_positions
        if self.config.max_daily_drawdown != fresh.max_daily_drawdown:
            changes["max_daily_drawdown"] = fresh.max_daily_drawdown
        self.config = self.ex.config = replace(
            self.config,
            rules=rules,
            max_open_positions=fresh.max_open_positions,
            max_daily_drawdown=fresh.max_daily_drawdown,
        )
        detail: dict[str, Json] = {"applied": changes}
        wanted = getattr(fresh, "requested_mode", fresh.execution_mode)
        if wanted != self.config.mode and wanted in ("paper", "live"):
            detail["needs_restart"] = f"execution mode {wanted} (running {self.config.mode})"
        self.health.settings_applied_at = pd.Timestamp.now(tz="UTC").isoformat()
        await self._run_io(self.ledger.event, "settings", None, detail)
        self._say(
            f"runtime settings applied: {changes or 'no change to the limits'}"
            + (f"; {detail['needs_restart']} needs a restart" if "needs_restart" in detail else "")
        )
        await self.beat("running")

    async def _error(self, symbol: str, exc: Exception) -> None:
        self.health.last_error = f"{symbol}: {exc}"
        self.health.errors_in_row += 1
        log.warning("runner: %s: %s", symbol, exc)
        await self._run_io(self.ledger.event, "error", symbol, {"error": str(exc)})
        if self.health.errors_in_row >= self.config.max_consecutive_errors and self.health.state == ACTIVE:
            await self._auto_kill(f"{self.health.errors_in_row} errors in a row (last: {exc})")

    async def _auto_kill(self, reason: str) -> None:
        kill = await self._run_io(control.arm, self.state_dir, "pause", reason, by="runner")
        self.kill = kill
        self.health.state = REDUCING
        await self._run_io(self.ledger.event, "kill", None, {"level": "pause", "reason": reason, "automatic": True})
        self._say(f"kill switch armed automatically (pause): {reason}; state REDUCING")
        await self._run_io(control.confirm, self.state_dir, kill, {"state": REDUCING})

    # --- the kill switch ------------------------------------------------------------------------------------
    async def act_on_kill(self, kill: control.KillSwitch) -> None:
        """Act on an armed switch and confirm what the venues say now; a flatten not yet flat is retried with backoff
        (from 5 s up to 60 s) for as long as the switch stays at flatten."""
        acted: dict[str, Json] = {"level": kill.level}
        report = None
        if kill.flatten:
            report = await self.ex.flatten(pd.Timestamp(kill.armed_at or pd.Timestamp.now(tz="UTC")))
            acted.update(
                closed=report.closed,
                cancelled=report.cancelled,
                open=report.open,
                errors=report.errors,
                flat=report.flat,
            )
            self.health.state = HALTED
            loop_time = asyncio.get_running_loop().time()
            if report.flat:
                self._flatten_backoff_s = 0.0
            else:
                self._flatten_backoff_s = min(60.0, max(5.0, 2 * self._flatten_backoff_s))
                self._flatten_retry_at = loop_time + self._flatten_backoff_s
                self.health.last_error = f"flatten incomplete: {', '.join(report.open) or 'venue not readable'}"
        else:
            self.health.state = REDUCING
        acted["state"] = self.health.state
        await self._run_io(self.ledger.event, "kill", None, {"level": kill.level, "reason": kill.reason, **acted})
        if report is not None and not report.flat:
            still, why = ", ".join(report.open) or "?", "; ".join(report.errors) or "none"
            self._say(
                f"FLATTEN NOT DONE: still open at the venue: {still}; errors: {why}; "
                f"retrying in {self._flatten_backoff_s:g} s"
            )
        else:
            self._say(f"kill switch ({kill.level}): {kill.reason}; state {self.health.state}, {acted}")
        self.kill = await self._run_io(control.confirm, self.state_dir, kill, acted)
        await self.beat("running")

    async def act_on_force_exit(self, req: control.ForceExit) -> None:
        """Close one position as the kill switch would (close first, protections once filled) and confirm what the
        venue says now; trading goes on (the rules may enter it again on a later signal)."""
        book = self.books.all().get(req.symbol)
        result: dict[str, Json] = {"symbol": req.symbol, "by": f"runner (pid {os.getpid()})"}
        errors: list[str] = []
        if book is None or book.state.mode == FLAT:
            result.update(closed=0, cancelled=0, note="nothing of ours open in this symbol")
        else:
            done = await self.ex.close_book(book, pd.Timestamp(req.requested_at))
            result.update(closed=done.closed, cancelled=done.cancelled)
            errors += done.errors
        try:
            held = {p.symbol for p in await self.router.positions()}
            result["flat"] = req.symbol not in held
        except AiTradeError as exc:
            result["flat"] = False
            errors.append(f"positions: {exc}")
        result["errors"] = list(errors)
        await self._run_io(self.ledger.event, "force_exit", req.symbol, {"reason": req.reason, **result})
        if result["flat"]:
            self._say(f"force exit of {req.symbol} ({req.reason}): closed, flat at the venue")
        else:
            self.health.last_error = f"force exit of {req.symbol} not done: still open (kept protected)"
            self._say(f"FORCE EXIT NOT DONE: {req.symbol} is still open at the venue, kept protected; {result}")
        await self._run_io(control.confirm_exit, self.state_dir, req, result)
        await self.beat("running")

    def _flatten_due(self, kill: control.KillSwitch) -> bool:
        """An acted flatten the venues do not confirm as flat, whose retry time has come."""
        if not kill.flatten or kill.acted_at is None or kill.acted.get("flat", True):
            return False
        return asyncio.get_running_loop().time() >= self._flatten_retry_at

    # --- heartbeat -------------------------------------------------------------------------------------------
    async def beat(self, phase: str, *, every_s: float = 0.0) -> None:
        """The heartbeat file; ``every_s`` skips it when the last one is younger (a fast replay ticks often)."""
        clock = asyncio.get_running_loop().time()
        if every_s and clock - self._last_beat < every_s:
            return
        self._last_beat = clock
        books = self.books.all()
        positions = tuple(
            control.Held(
                b.symbol,
                "long" if b.state.side > 0 else "short",
                b.state.qty,
                b.state.entry,
                b.state.stop,
                b.state.target,
                b.stop_id is not None,
            )
            for b in books.values()
            if b.state.mode == OPEN
        )
        rules = next(iter(self.config.rules.values()), None)
        beat = control.Heartbeat(
            pid=os.getpid(),
            mode=self.config.mode,
            feed=self.config.feed,
            phase=phase,
            state=self.health.state,
            ticks=self.health.ticks,
            last_bar=dict(self.health.last_bars),
            positions=positions,
            pending=sum(b.state.mode == PENDING for b in books.values()),
            coverage=control.Coverage(
                len(positions), sum(p.protected for p in positions), self.health.seconds_uncovered
            ),
            last_error=self.health.last_error,
            kill=asdict(self.kill),
            equity=self.health.equity,
            day_start_equity=self.health.day_start_equity,
            last_close=dict(self._closes),
            settings_applied_at=self.health.settings_applied_at,
            limits={
                "max_open_positions": self.config.max_open_positions,
                "max_daily_drawdown": self.config.max_daily_drawdown,
                "risk_per_trade": None if rules is None else rules.risk_per_trade,
            },
            realised_cash=sum(b.cash for b in books.values()) if books else None,
        )
        await self._run_io(control.write_heartbeat, self.state_dir, beat)
