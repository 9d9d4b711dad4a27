"""Carrying the runner's decisions out at the venues: write-ahead sends, cancels, protections, exits, trades.

Every order goes through :meth:`Execution.send`: its intent is written to the
ledger first, a known client id is looked up instead of sent again, and the
venue's answer is recorded. Protections are placed, moved (the new stop
before the old one is cancelled) and dropped here; a venue's fills and fired
protections are read here; a closed round trip becomes a trade record.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd

from aitrade.brokers.base import (
    Bracket,
    Broker,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Protection,
    ProtectionKind,
    Side,
)
from aitrade.brokers.ids import client_id
from aitrade.errors import AiTradeError, SkipError
from aitrade.rules import EXIT_REASONS, FLAT, OPEN, PENDING, SL, TP, TRAIL, net_pnl
from aitrade.runner import failpoints
from aitrade.runner.books import Books
from aitrade.runner.ledger import Book, Intent, IntentStatus, TradeLedger
from aitrade.runner.seams import Event, JsonMap, RunIO, Say, Trade

if TYPE_CHECKING:
    from aitrade.router import Router
    from aitrade.runner.engine import RunnerConfig
from aitrade.strategy import State, opened

LEG_OF_REASON = {
    "time": "time",
    "abort": "abort",
    "vol_exit": "vol",
    "kill": "kill",
    "sl": "sl",
    "tp": "tp",
    "trail": "trail",
}
EXIT_LEGS = {leg: reason for reason, leg in LEG_OF_REASON.items()}  # an exit order's leg -> its exit reason
STOP_MOVE = "stop_move"  # the write-ahead record of a trailing stop's replacement (a protection, not an order)


def dec(x: float) -> Decimal:
    """A float as the Decimal of its shortest repr (what the broker boundary takes)."""
    return Decimal(repr(float(x)))


EXIT_ATTEMPTS = 3  # a market exit and at most two follow-ups for what the venue did not fill
DONE = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)  # nothing more will fill


def _combined(parts: list[Order]) -> Order:
    """One exit of several orders (a partial fill and its follow-ups): total quantity, average price, all fees;
    booked under the first order's id."""
    filled = sum((p.filled for p in parts), Decimal(0))
    notional = sum((p.filled * (p.avg_price or Decimal(0)) for p in parts), Decimal(0))
    first = parts[0]
    return replace(
        first,
        quantity=filled,
        status=OrderStatus.FILLED,
        filled=filled,
        avg_price=notional / filled,
        fee=sum((p.fee for p in parts), Decimal(0)),
    )


STOP, TARGET = ProtectionKind.STOP_LOSS, ProtectionKind.TAKE_PROFIT


@dataclass(frozen=True)
class FlattenReport:
    """What a flatten did, as the venues say it now (the kill switch's confirmation records it)."""

    closed: int
    cancelled: int
    open: list[str]
    errors: list[str]
    flat: bool


@dataclass
class BookClosed:
    """What closing one book did: closed (0 or 1), entries cancelled, still open at the venue, errors."""

    closed: int = 0
    cancelled: int = 0
    open: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Decided:
    """An order a bar decided, with its write-ahead intent; sent once the tick's intents are written.

    ``req`` is None for a trailing stop's move (a protection, placed by :meth:`Execution.finish_move`).
    """

    intent: Intent
    req: OrderRequest | None = None


class Execution:
    def __init__(
        self, config: RunnerConfig, router: Router, ledger: TradeLedger, books: Books, run_io: RunIO, say: Say
    ) -> None:
        self.config = config
        self.router = router
        self.ledger = ledger
        self.books = books
        self.run_io = run_io
        self.say = say
        self.uncovered: dict[
            str, set[ProtectionKind]
        ] = {}  # per open book, the protections the venue refused: watched here

    # --- orders ------------------------------------------------------------------------------------------
    @staticmethod
    def native(broker: Broker) -> bool:
        return bool(broker.capabilities.native_protections)

    def watched(self, broker: Broker, s: State, symbol: str) -> State | None:
        """The levels the runner itself watches for an open book (as a state), or None when the venue holds them.

        Everything where the venue holds no stops; where it does, the levels it refused to hold for this book.
        """
        if not self.native(broker):
            return s
        missing = self.uncovered.get(symbol)
        if not missing:
            return None
        return replace(
            s, stop=s.stop if STOP in missing else math.nan, target=s.target if TARGET in missing else math.nan
        )

    @staticmethod
    def brackets(broker: Broker) -> bool:
        return bool(getattr(broker.capabilities, "brackets", False))

    @staticmethod
    def status(order: Order) -> IntentStatus:
        """The intent's standing that an order's status at the venue means."""
        done = {
            OrderStatus.FILLED: IntentStatus.FILLED,
            OrderStatus.CANCELLED: IntentStatus.CANCELLED,
            OrderStatus.REJECTED: IntentStatus.REJECTED,
        }
        return done.get(order.status, IntentStatus.SENT)

    async def lookup(self, symbol: str, cid: str | None) -> Order | None:
        if not cid:
            return None
        return await self.router.get_order(symbol, cid)

    @staticmethod
    def decided(req: OrderRequest, leg: str, ts: pd.Timestamp, detail: JsonMap | None = None) -> Decided:
        """An order and its intent (``detail``: what recovery needs of the decision)."""
        price = None if req.price is None else str(req.price)
        intent = Intent(
            req.client_id,
            req.symbol,
            leg,
            req.side.value,
            req.order_type.value,
            str(req.quantity),
            price,
            ts.isoformat(),
            dict(detail or {}),
        )
        return Decided(intent, req)

    async def send(self, req: OrderRequest, leg: str, ts: pd.Timestamp, detail: JsonMap | None = None) -> Order | None:
        """Write-ahead (one fsynced intent), then send once."""
        order = self.decided(req, leg, ts, detail)
        return await self.dispatch(order, await self.run_io(self.ledger.write_intent, order.intent))

    async def dispatch(self, order: Decided, fresh: bool) -> Order | None:
        """Send an order whose intent is written; a known id (``fresh`` false) is looked up, never sent again."""
        req = order.req
        if req is None:
            raise TypeError(f"{order.intent.client_id} is a protection's move, not an order")
        if not fresh:
            known = await self.lookup(req.symbol, req.client_id)
            if known is not None:
                self.books.mark(req.client_id, self.status(known), known.venue_order_id)
                return known
        failpoints.hit("intent_written")
        try:
            ack = await self.router.place_order(req)
        except SkipError as exc:
            self.books.mark(req.client_id, IntentStatus.REJECTED)
            await self.run_io(
                self.ledger.event, "rejected", req.symbol, {"client_id": req.client_id, "error": str(exc)}
            )
            return None
        failpoints.hit("order_sent")
        placed = await self.lookup(req.symbol, req.client_id)
        status = IntentStatus.SENT if placed is None else self.status(placed)
        self.books.mark(req.client_id, status, ack.venue_order_id)
        return placed

    def entry(self, book: Book, pending: State, ts: pd.Timestamp, broker: Broker) -> tuple[Decided, Book]:
        """The entry order of a decision, and the book it leads to once the venue has it."""
        strategy, symbol = self.config.strategy_id, book.symbol
        entry_id = client_id(strategy, symbol, ts.to_pydatetime(), "entry")
        stop_id = client_id(strategy, symbol, ts.to_pydatetime(), "sl")
        target_id = client_id(strategy, symbol, ts.to_pydatetime(), "tp")
        genome = self.config.genome
        bracket = None
        if self.brackets(broker):
            bracket = Bracket(dec(genome.sl * pending.atr), stop_id, dec(genome.tp * pending.atr), target_id)
        side = Side.BUY if pending.side > 0 else Side.SELL
        req = OrderRequest(
            symbol, side, dec(pending.qty), entry_id, OrderType.LIMIT, dec(pending.limit), bracket=bracket
        )
        after = replace(
            book,
            state=pending,
            t=pending.placed,
            last_bar=ts.isoformat(),
            entry_id=entry_id,
            stop_id=stop_id,
            target_id=target_id,
            trail_n=0,
        )
        return self.decided(req, "entry", ts, {"book": after.to_json()}), after

    async def cancel(self, symbol: str, cid: str | None) -> None:
        if not cid:
            return
        # committed first (with every status staged before it): a restart must know the cancel was ours
        self.books.mark(cid, IntentStatus.CANCELLED)
        await self.books.flush()
        with contextlib.suppress(SkipError):  # already gone
            await self.router.cancel_order(symbol, cid)

    async def fired(self, book: Book) -> Order | None:
        """A protection of this book that filled at the venue (the stop is looked at first)."""
        for cid in (book.stop_id, book.target_id):
            order = await self.lookup(book.symbol, cid)
            if order is not None and order.status is OrderStatus.FILLED:
                return order
        return None

    async def vanished(self, book: Book, broker: Broker) -> Order | None:
        """A protection the venue executed as a new order of its own (Bitget plan orders, T-Invest stop orders):
        the position is gone and our protection with it. The exit is the venue's own order, found through the
        protection (its fill price and fees, never the trigger level); ``None`` while the venue does not know it."""
        if not self.native(broker) or self.brackets(broker):
            return None
        live = {p.client_id for p in await broker.protections(book.symbol)}
        if book.stop_id in live or (book.target_id and book.target_id in live):
            return None
        s = book.state
        held = await self._held(book.symbol, broker)
        if held != 0 and (held > 0) == (s.side > 0):
            return None
        for cid, kind in ((book.stop_id, STOP), (book.target_id, TARGET)):
            if not cid:
                continue
            trigger = s.stop if kind is STOP else s.target  # the venue finds it by our client id
            protection = Protection(book.symbol, kind, dec(trigger if math.isfinite(trigger) else 0), dec(s.qty), cid)
            order = await broker.protection_fill(protection)
            if order is not None:
                return order
        detail = {
            "stop_id": book.stop_id,
            "target_id": book.target_id,
            "detail": "the protection is gone at the venue, its fill not yet known; not booked",
        }
        await self.run_io(self.ledger.event, "exit_fill_unknown", book.symbol, detail)
        return None

    @staticmethod
    async def _held(symbol: str, broker: Broker) -> Decimal:
        """The signed quantity of ``symbol`` the venue holds of ours."""
        return sum((p.quantity for p in await broker.positions() if p.symbol == symbol), Decimal(0))

    async def shrunk(self, book: Book, broker: Broker) -> Decimal | None:
        """What the venue still holds of an open book whose stop is gone there while the position is not: a
        protection that closed only part of it, or a hand trade. ``None`` when nothing is missing."""
        if not self.native(broker) or self.brackets(broker):
            return None
        if book.stop_id in {p.client_id for p in await broker.protections(book.symbol)}:
            return None
        s = book.state
        held = await self._held(book.symbol, broker)
        if held == 0 or (held > 0) != (s.side > 0) or abs(held) >= dec(s.qty):
            return None
        return abs(held)

    async def reduce(self, book: Book, held: Decimal, stamp: pd.Timestamp) -> Book:
        """The book follows a position the venue reduced: the quantity it holds, its protections re-armed under
        fresh ids (the old ones are spent at the venue)."""
        await self.drop_protections(book)
        n = book.trail_n + 1
        when = stamp.to_pydatetime()
        return replace(
            book,
            state=replace(book.state, qty=float(held)),
            trail_n=n,
            stop_id=client_id(self.config.strategy_id, book.symbol, when, "sl", n),
            target_id=client_id(self.config.strategy_id, book.symbol, when, "tp", n),
        )

    async def protections(self, book: Book) -> list[Protection]:
        ours = {book.stop_id, book.target_id}
        return [p for p in await self.router.broker_for(book.symbol).protections(book.symbol) if p.client_id in ours]

    async def drop_protections(self, book: Book) -> None:
        self.uncovered.pop(book.symbol, None)
        for p in await self.protections(book):
            with contextlib.suppress(SkipError):
                await self.router.cancel_protection(p)

    async def cover(self, book: Book) -> int:
        """The protection coverage invariant for one open book: place what is missing. Returns the count placed."""
        s, symbol = book.state, book.symbol
        broker = self.router.broker_for(symbol)
        if not broker.capabilities.native_protections:
            return 0  # synthetic: watched on every bar by the rules themselves
        have = {p.kind for p in await self.protections(book)}
        placed = 0
        qty = dec(s.qty)
        levels = ((STOP, book.stop_id, s.stop), (TARGET, book.target_id, s.target))
        wanted = [
            (kind, cid, level) for kind, cid, level in levels if kind not in have and cid and math.isfinite(level)
        ]
        for kind, cid, level in wanted:  # one that fired ended the position: the bar that follows books the exit
            if await broker.protection_fill(Protection(symbol, kind, dec(level), qty, cid)) is not None:
                return 0  # and nothing is re-armed over it (its ids are spent at the venue)
        for kind, cid, level in wanted:
            protection = Protection(symbol, kind, dec(level), qty, cid)
            try:
                await self.router.place_protection(protection)
                failpoints.hit("protection_placed")
                placed += 1
                have.add(kind)
            except SkipError as exc:
                await self.run_io(self.ledger.event, "protection_failed", symbol, {"kind": kind, "error": str(exc)})
                self.say(f"{symbol}: could not place the {kind} ({exc}); watching its level here until it is")
        # what the venue does not hold (e.g. a stop the market is already beyond): the runner exits at the level
        missing = {
            kind for kind, level in ((STOP, s.stop), (TARGET, s.target)) if kind not in have and math.isfinite(level)
        }
        if missing:
            self.uncovered[symbol] = missing
        else:
            self.uncovered.pop(symbol, None)
        if placed:
            await self.run_io(self.ledger.event, "protection", symbol, {"placed": placed})
        return placed

    def stop_move(self, book: Book, moved: State, ts: pd.Timestamp) -> Decided:
        """Trailing at a venue that holds the stop: the new stop's intent (a protection, no order)."""
        n = book.trail_n + 1
        new_id = client_id(self.config.strategy_id, book.symbol, ts.to_pydatetime(), "trail", n)
        after = replace(book, state=moved, stop_id=new_id, trail_n=n, t=book.t + 1, last_bar=ts.isoformat())
        side = Side.SELL if moved.side > 0 else Side.BUY
        return Decided(
            Intent(
                new_id,
                book.symbol,
                STOP_MOVE,
                side.value,
                "stop",
                str(dec(moved.qty)),
                str(dec(moved.stop)),
                ts.isoformat(),
                {"book": after.to_json()},
            )
        )

    async def finish_move(self, book: Book, moved: State, order: Decided, fresh: bool) -> Book:
        """The new stop is placed before the old one is cancelled (never uncovered)."""
        new_id, symbol = order.intent.client_id, book.symbol
        broker = self.router.broker_for(symbol)
        old = [p for p in await self.protections(book) if p.kind is STOP]
        if fresh or new_id not in {p.client_id for p in await broker.protections(symbol)}:
            await self.router.place_protection(Protection(symbol, STOP, dec(moved.stop), dec(moved.qty), new_id))
            failpoints.hit("protection_placed")
        self.books.mark(new_id, IntentStatus.SENT)
        for p in old:
            with contextlib.suppress(SkipError):
                await self.router.cancel_protection(p)
        return replace(book, stop_id=new_id, trail_n=book.trail_n + 1)

    def exit_order(self, book: Book, s: State, ts: pd.Timestamp, reason: str) -> Decided:
        """A market exit of the whole position at the close (time, abort, vol_exit, kill, a watched level)."""
        side, leg = Side.SELL if s.side > 0 else Side.BUY, LEG_OF_REASON[reason]
        cid = client_id(self.config.strategy_id, book.symbol, ts.to_pydatetime(), leg)
        req = OrderRequest(book.symbol, side, dec(s.qty), cid, reduce_only=True)
        return self.decided(req, leg, ts, {"entry_id": book.entry_id})

    async def exit(self, book: Book, s: State, ts: pd.Timestamp, reason: str) -> Order | None:
        """A market exit decided and sent at once (its own fsynced intent): :meth:`finish_exit`."""
        order = self.exit_order(book, s, ts, reason)
        return await self.finish_exit(book, order, await self.run_io(self.ledger.write_intent, order.intent))

    async def finish_exit(self, book: Book, exit_order: Decided, fresh: bool) -> Order | None:
        """Send a market exit: the order first, the protections only once it filled. A refused or unfilled exit
        returns ``None`` and leaves the position protected as it was."""
        req, leg, ts = exit_order.req, exit_order.intent.leg, pd.Timestamp(exit_order.intent.bar)
        if req is None:
            raise TypeError(f"{exit_order.intent.client_id} is not an exit order")
        order = await self.dispatch(exit_order, fresh)
        parts = [order] if order is not None else []
        # a market exit the venue filled in part and cancelled the rest of: the rest goes under follow-up ids
        for attempt in range(1, EXIT_ATTEMPTS):
            last = parts[-1] if parts else None
            if last is not None and last.filled and last.status not in DONE:  # a market order left part-filled
                await self.cancel(book.symbol, last.client_id)
                last = await self.lookup(book.symbol, last.client_id) or last
                parts[-1] = last
            if last is None or last.status is OrderStatus.FILLED or last.status not in DONE or not last.filled:
                break
            rest = parts[0].quantity - sum((p.filled for p in parts), Decimal(0))
            again = client_id(self.config.strategy_id, book.symbol, ts.to_pydatetime(), leg, attempt)
            follow = await self.send(
                OrderRequest(book.symbol, req.side, rest, again, reduce_only=True),
                leg,
                ts,
                {"entry_id": book.entry_id, "rest_of": req.client_id},
            )
            if follow is None:
                break
            parts.append(follow)
        if not parts or parts[-1].status is not OrderStatus.FILLED:
            return None
        await self.drop_protections(book)
        return parts[0] if len(parts) == 1 else _combined(parts)

    def opened_part(self, s: State, order: Order, t: int) -> State:
        """A pending entry that filled only in part: a position of what filled, its protections sized to it."""
        part = replace(s, qty=float(order.filled))
        rules = self.config.rules[order.symbol]
        price = float(order.avg_price or 0) or s.limit  # a venue that has not priced the fill yet: at our limit
        return replace(opened(part, price, t, self.config.genome, rules), fee=float(order.fee))

    async def flatten(self, stamp: pd.Timestamp) -> FlattenReport:
        """The kill switch's flatten at ``stamp``: cancel AiTrade's entries, close its positions book by book, sweep.

        A book is flat only when its close filled (or its protection already
        did): a refused or failed close keeps the book open with its
        protections. ``flat`` is what the venues say afterwards.
        """
        closed, cancelled, still_open, errors = 0, 0, set[str](), list[str]()
        for held in self.books.all().values():
            done = await self.close_book(held, stamp)
            closed, cancelled, errors = closed + done.closed, cancelled + done.cancelled, errors + done.errors
            if done.open:
                still_open.add(held.symbol)
        try:
            report = await self.router.close_all_positions(reason="kill")  # anything of ours the books did not hold
            errors += report.errors
            closed += len(report.closed)
            cancelled += len(report.cancelled)
        except AiTradeError as exc:
            errors.append(f"close-all: {exc}")
        venue_ok = True
        try:
            still_open |= {p.symbol for p in await self.router.positions()}  # what the venues say now
        except AiTradeError as exc:
            venue_ok = False
            errors.append(f"positions: {exc}")
        return FlattenReport(
            closed=closed, cancelled=cancelled, open=sorted(still_open), errors=errors, flat=venue_ok and not still_open
        )

    async def close_book(self, held: Book, stamp: pd.Timestamp) -> BookClosed:
        """Close one book now, as the kill switch does (its resting entry cancelled, its position closed at market
        under the ``kill`` leg of ``stamp``, its protections once that filled). A refused close keeps it open and
        protected; the trade is booked as a ``kill`` exit."""
        book, s = held, held.state
        trades: list[Trade] = []
        done = BookClosed()
        try:
            if s.mode == PENDING:
                await self.cancel(book.symbol, book.entry_id)
                again = await self.lookup(book.symbol, book.entry_id)
                if again is not None and again.filled > 0:  # filled (in part) before the cancel reached it
                    if again.status is OrderStatus.FILLED:  # wholly: the intent filled, it was not cancelled
                        self.books.mark(again.client_id, IntentStatus.FILLED, again.venue_order_id)
                    s = self.opened_part(s, again, book.t)
                    book = replace(book, entry_bar=book.last_bar or stamp.isoformat()).with_state(s)
                else:
                    done.cancelled += 1
            if s.mode == OPEN:
                broker = self.router.broker_for(book.symbol)
                fired = await self.fired(book) or await self.vanished(book, broker)
                venue_qty = abs(await self._held(book.symbol, broker))
                if fired is None and 0 < venue_qty < dec(s.qty):  # the venue holds less (a part closed): that
                    s = replace(s, qty=float(venue_qty))
                exit_order = fired or await self.exit(book, s, stamp, "kill")
                if exit_order is None:
                    done.open = True
                    kept: list[Event] = [("flatten_refused", {"detail": "close not filled; kept open and protected"})]
                    await self.books.save(book, events=kept)
                    return done
                trades.append(
                    self.trade(book, s, exit_order, book.last_bar or stamp.isoformat(), None if fired else "kill")
                )
                done.closed += 1
        except AiTradeError as exc:
            done.errors.append(f"{book.symbol}: {exc}")
            if s.mode == OPEN:
                done.open = True
                await self.run_io(self.ledger.event, "flatten_failed", book.symbol, {"error": str(exc)})
                return done
        failpoints.hit("flatten")
        if s.mode != FLAT:
            book = book.flat(sum(tr.pnl for tr in trades))
            await self.books.save(book, trades=trades, events=[("flattened", {})])
        return done

    def trade(self, book: Book, s: State, exit_order: Order, stamp: str, reason: str | None = None) -> Trade:
        if reason is None:
            is_stop = exit_order.client_id != book.target_id
            reason = EXIT_REASONS[(TRAIL if s.trailed else SL) if is_stop else TP]
        entry, exit_px, qty = s.entry, float(exit_order.avg_price or 0), s.qty
        fees = s.fee + float(exit_order.fee)
        pnl = net_pnl(s.side, entry, exit_px, qty, fees)
        entered = book.entry_bar or book.last_bar or stamp  # a trade is always recorded, whenever it was entered
        return Trade(
            symbol=book.symbol,
            side="long" if s.side > 0 else "short",
            entry_time=entered,
            entry_price=entry,
            exit_time=stamp,
            exit_price=exit_px,
            quantity=qty,
            fees=fees,
            pnl=pnl,
            exit_reason=reason,
            exit_id=exit_order.client_id,
        )
