"""One symbol's bar, in two halves around the tick's one write-ahead commit.

:meth:`BarStep.decide` reads the venue's facts (the paper market moves; a
pending entry fills, half-fills or expires; a protection fired, or the venue
reduced the position) and asks the rules (:mod:`aitrade.strategy`, the same
functions the backtest's ``step`` composes) what to do. A bar decides at most
one order: an entry, an exit, or a trailing stop's move. The tick writes the
intents of every symbol's order in one fsynced transaction
(:meth:`aitrade.runner.ledger.TradeLedger.write_intents`); then
:meth:`BarStep.carry` sends each bar's order and stages its book with what the
venue answered, to be committed with the tick's other books.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd

from aitrade.brokers.base import Order, OrderStatus
from aitrade.runner import failpoints
from aitrade.runner.books import Books
from aitrade.runner.execution import Decided, Execution, dec
from aitrade.runner.ledger import Book, IntentStatus
from aitrade.runner.replay import BarSignal
from aitrade.runner.seams import Event, Say, Trade
from aitrade.strategy import (
    EXIT_REASONS,
    FLAT,
    OPEN,
    PENDING,
    Genome,
    Rules,
    State,
    close_reason,
    decide_entry,
    opened,
    protection_exit,
    trail,
)


@dataclass(frozen=True)
class Entry:
    """A decided entry: its order, and the book it leads to once the venue has it."""

    order: Decided
    after: Book


@dataclass(frozen=True)
class Exit:
    """A decided market exit of the position in ``state`` (kept as it is when the venue does not fill it)."""

    order: Decided
    state: State
    reason: str
    event: Event | None = None


@dataclass(frozen=True)
class Move:
    """A trailing stop's move at a venue that holds the stop."""

    order: Decided
    moved: State


Action = Entry | Exit | Move


def partial_fill(book: Book) -> Event:
    """The event of an entry opened for the part of its order that filled."""
    return ("partial_fill", {"client_id": book.entry_id, "quantity": book.state.qty, "price": book.state.entry})


@dataclass
class Plan:
    """One symbol's bar after its facts and decision: the book so far, the trades and events it made, and the
    order (if any) that :meth:`BarStep.carry` sends."""

    symbol: str
    ts: pd.Timestamp
    t: int
    book: Book
    state: State
    was_open: bool
    trades: list[Trade] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    exited: bool = False
    action: Action | None = None

    @property
    def order(self) -> Decided | None:
        return None if self.action is None else self.action.order


class BarStep:
    """The bar step of one runner: ``may_enter`` says whether the runner takes new positions at all (its state
    and the kill switch); the position limit is counted here, once per tick (:meth:`begin_tick`)."""

    def __init__(self, ex: Execution, books: Books, say: Say, may_enter: Callable[[], bool]) -> None:
        self.ex, self.books, self.say = ex, books, say
        self.may_enter = may_enter
        self._open_books = 0  # books not flat: counted at the start of a tick, kept by its decisions

    @property
    def genome(self) -> Genome:
        return self.ex.config.genome

    def rules(self, symbol: str) -> Rules:
        return self.ex.config.rules[symbol]

    def begin_tick(self) -> None:
        """Count the books that are not flat, once; each decision of the tick keeps the count."""
        self._open_books = self.books.open_count()

    def _room(self) -> bool:
        """Whether one more position fits the limit (an exit decided this tick frees its place the next)."""
        return self.may_enter() and self._open_books < self.ex.config.max_open_positions

    # --- the first half: facts and the decision ----------------------------------------------------------------
    async def decide(self, symbol: str, ts: pd.Timestamp, bar: BarSignal) -> Plan | None:
        """The venue's facts and the rules' decision for ``symbol``'s bar; None for a bar processed before."""
        book = self.books.get(symbol)
        if book.last_bar is not None and pd.Timestamp(book.last_bar) >= ts:
            return None  # processed before a restart
        broker = self.ex.router.broker_for(symbol)
        if hasattr(broker, "on_bar"):  # a paper venue: the replayed market moves first
            await broker.on_bar(
                symbol, dec(bar.high), dec(bar.low), dec(bar.close), open=dec(bar.open), time=ts.to_pydatetime()
            )
        plan = Plan(symbol, ts, book.t + 1, book, book.state, book.state.mode != FLAT)
        if plan.state.mode == PENDING:
            await self._pending(plan)
        elif plan.state.mode == OPEN:
            await self._open(plan, bar)
        if plan.exited or plan.state.mode == FLAT:
            plan.book = plan.book.flat(sum(tr.pnl for tr in plan.trades))
        self._open_books += int(plan.state.mode != FLAT) - int(plan.was_open)
        if plan.state.mode == FLAT and not plan.exited and self._room():
            pending = decide_entry(
                plan.t, bar.close, bar.atr, bar.p_long, bar.p_short, self.genome, self.rules(symbol), plan.book.cash
            )
            if pending is not None:
                plan.action = Entry(*self.ex.entry(plan.book, pending, ts, broker))
                self._open_books += 1  # taken (a refusal frees it at the next tick's count)
        return plan

    async def _pending(self, plan: Plan) -> None:
        ex, book, s, stamp = self.ex, plan.book, plan.state, plan.ts.isoformat()
        broker = ex.router.broker_for(plan.symbol)
        order = await ex.lookup(plan.symbol, book.entry_id)
        if order is not None and order.status is OrderStatus.FILLED:
            failpoints.hit("fill_seen")
            book, fill = self.take_fill(book, order, plan.t, stamp)
            s = book.state
            plan.events.append(fill)
            fired = await ex.fired(book)
            if fired is not None:  # the bracket's stop on the fill bar
                plan.trades.append(ex.trade(book, s, fired, stamp))
                s, plan.exited = State(), True
            elif not ex.brackets(broker):
                await ex.cover(book)
        elif (order is not None and order.filled > 0) or plan.t - s.placed >= self.genome.fill_wait:
            part = await self.take_part(book, plan.t, stamp)
            if part is None:  # filled while cancelling: the next bar opens it
                pass
            elif part.state.mode == OPEN:
                book, s = part, part.state
                plan.events.append(partial_fill(book))
            else:
                plan.events.append(("expired", {"client_id": book.entry_id}))
                s, plan.exited = State(), True
        plan.book, plan.state = book, s

    def take_fill(self, book: Book, order: Order, t: int, stamp: str) -> tuple[Book, Event]:
        """A pending entry whose order filled: the book opened at the fill (its fee kept) at bar ``t``, and the
        fill's event; the intent is marked filled."""
        self.books.mark(order.client_id, IntentStatus.FILLED, order.venue_order_id)
        opened_at = opened(book.state, float(order.avg_price or 0), t, self.genome, self.rules(book.symbol))
        fill: Event = (
            "fill",
            {"client_id": order.client_id, "price": str(order.avg_price), "quantity": str(order.filled)},
        )
        return replace(book, state=replace(opened_at, fee=float(order.fee)), entry_bar=stamp), fill

    async def take_part(self, book: Book, t: int, stamp: str) -> Book | None:
        """A pending entry that filled in part, or expired: the rest is cancelled; what filled (if anything) opens
        the book at bar ``t``, protected at once (a stop on the part, not a wait for the rest). Returns the book
        (flat-state when nothing filled), or None when the whole order filled meanwhile."""
        ex = self.ex
        await ex.cancel(book.symbol, book.entry_id)
        again = await ex.lookup(book.symbol, book.entry_id)
        if again is not None and again.status is OrderStatus.FILLED:
            return None
        if again is None or not again.filled:
            return book.with_state(State())
        opened_book = replace(book, entry_bar=stamp).with_state(ex.opened_part(book.state, again, t))
        if not ex.brackets(ex.router.broker_for(book.symbol)):
            await ex.cover(opened_book)
        return opened_book

    async def _open(self, plan: Plan, bar: BarSignal) -> None:
        ex, book, s, ts = self.ex, plan.book, plan.state, plan.ts
        broker = ex.router.broker_for(plan.symbol)
        fired = await ex.fired(book) or await ex.vanished(book, broker)
        held = None if fired is not None else await ex.shrunk(book, broker)
        if held is not None:  # a protection closed part of it (or a hand trade): follow the venue
            plan.events.append(("reduced_at_venue", {"from": s.qty, "to": float(held)}))
            book = await ex.reduce(book, held, ts)
            s = book.state
            await ex.cover(book)
        levels = ex.watched(broker, s, plan.symbol)
        hit, why = (
            (-1.0, -1) if fired is not None or levels is None else protection_exit(levels, bar.open, bar.high, bar.low)
        )
        if fired is not None:
            plan.trades.append(ex.trade(book, s, fired, ts.isoformat()))
            await ex.drop_protections(book)
            s, plan.exited = State(), True
        elif hit >= 0:  # a synthetic stop or target, watched here: the venue holds none
            named = EXIT_REASONS[why]
            event: Event = ("synthetic_exit", {"reason": named, "level": hit})
            plan.action = Exit(ex.exit_order(book, s, ts, named), s, named, event)
        else:
            moved = trail(s, bar.high, bar.low, self.genome)
            reason = close_reason(moved, plan.t, bar.high, bar.low, bar.atr, bar.p_long, bar.p_short, self.genome)
            if reason >= 0:
                named = EXIT_REASONS[reason]
                plan.action = Exit(ex.exit_order(book, moved, ts, named), moved, named)
            elif moved.stop != s.stop and ex.native(broker):
                plan.action = Move(ex.stop_move(book, moved, ts), moved)
            elif moved.stop != s.stop:  # a synthetic stop moves in the book; later bars are checked against it
                book = replace(book, trail_n=book.trail_n + 1)
            if plan.action is None:
                s = moved
        plan.book, plan.state = book, s

    # --- the second half: the order sent, the book staged ---------------------------------------------------------
    async def carry(self, plan: Plan, fresh: set[str]) -> str:
        """Send the plan's order (its intent written: ``fresh`` holds the ids new to the ledger), stage the book.
        Returns the bar's time."""
        action, stamp = plan.action, plan.ts.isoformat()
        if isinstance(action, Entry):
            if await self.ex.dispatch(action.order, action.order.intent.client_id in fresh) is not None:
                after = action.after
                plan.book = replace(
                    plan.book, entry_id=after.entry_id, stop_id=after.stop_id, target_id=after.target_id, trail_n=0
                )
                plan.state = after.state
        elif isinstance(action, Exit):
            filled = await self.ex.finish_exit(plan.book, action.order, action.order.intent.client_id in fresh)
            if filled is not None:
                plan.trades.append(self.ex.trade(plan.book, action.state, filled, stamp, action.reason))
                if action.event is not None:
                    plan.events.append(action.event)
                plan.state, plan.exited = State(), True
                plan.book = plan.book.flat(sum(tr.pnl for tr in plan.trades))
            else:
                plan.state = action.state
        elif isinstance(action, Move):
            fresh_move = action.order.intent.client_id in fresh
            plan.book = await self.ex.finish_move(plan.book, action.moved, action.order, fresh_move)
            plan.state = action.moved
        self.stage(plan)
        return stamp

    def stage(self, plan: Plan) -> None:
        """The bar's book, trades and events, committed with the tick's other books."""
        symbol, stamp = plan.symbol, plan.ts.isoformat()
        book = replace(plan.book, state=plan.state, t=plan.t, last_bar=stamp)
        events = list(plan.events)
        for tr in plan.trades:
            events.append(("trade", {"side": tr.side, "pnl": tr.pnl, "exit_reason": tr.exit_reason}))
            self.say(f"{symbol} {tr.side} closed ({tr.exit_reason}) at {tr.exit_price:.6g}: pnl {tr.pnl:+.2f}")
        for kind, detail in plan.events:
            if kind == "fill":
                self.say(f"{symbol} entry filled: {detail['quantity']} at {detail['price']}")
        self.books.stage(book, plan.trades, events)
