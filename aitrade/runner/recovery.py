"""Startup is recovery: what the venues did and what the write-ahead record knows, brought into the books.

In order:

1. **Intents**: every open intent is looked up at its venue and its status recorded.
2. **The write-ahead record over the books.** Intents are fsynced before their
   order leaves; books are not (:mod:`aitrade.runner.ledger`). A book saved
   before an intent of its symbol was written (a power cut dropped the book,
   never the intent; or the process died between the two) takes what the
   intent recorded, in bar order: an exit of ours that filled is booked and
   the book goes flat; an entry the venue knows and a trailing stop it holds
   are adopted (the pending book, the stop's new level and id). An intent
   that never reached the venue is left to the bar's re-decision. Without this a restart on a later bar (a live
   feed moves on) would leave that entry's fill unmanaged and unprotected.
3. **The venue** for the rest: an entry cancelled there ends its book; a
   position closed or reduced by hand is followed.
4. **Protections**: every open book is covered; a stop or target of ours at
   the venue that no book holds (its decision's book was lost) is cancelled.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from decimal import Decimal

import pandas as pd

from aitrade.brokers.base import Order, OrderStatus, OrderType, Side
from aitrade.errors import SkipError
from aitrade.rules import FLAT, OPEN, PENDING
from aitrade.runner.execution import EXIT_LEGS, STOP_MOVE, Execution, dec
from aitrade.runner.ledger import Book, IntentStatus, TradeLedger
from aitrade.runner.seams import Event, RunIO, Say, Trade, text


class Recovery:
    """One startup's reconciliation; ``run()`` returns the counts the start event records."""

    def __init__(
        self, ex: Execution, ledger: TradeLedger, strategy_id: str, sleeve: float, run_io: RunIO, say: Say
    ) -> None:
        self.ex, self.ledger, self.strategy_id, self.sleeve = ex, ledger, strategy_id, sleeve
        self.run_io, self.say = run_io, say

    async def run(self) -> dict[str, int]:
        resolved = await self._resolve_intents()
        adopted = 0
        books = await self.run_io(self.ledger.books)
        for symbol in sorted(set(books) | set(await self.run_io(self.ledger.intent_symbols))):
            book = books.get(symbol) or Book(symbol, cash=self.sleeve)
            replayed, n = await self._replay(book)
            adopted += n
            books[symbol] = await self._follow_venue(replayed)
        repaired = orphans = 0
        for book in books.values():
            if book.state.mode == OPEN:
                repaired += await self.ex.cover(book)
        for symbol in sorted(books):
            orphans += await self._cancel_orphans(symbol, books)
        return {
            "intents_resolved": resolved,
            "books_replayed": adopted,
            "protections_repaired": repaired,
            "orphan_protections_cancelled": orphans,
        }

    async def _resolve_intents(self) -> int:
        resolved = 0
        for intent in await self.run_io(self.ledger.open_intents):
            if intent.leg == STOP_MOVE:  # a protection, not an order: its book holds it (step 2)
                continue
            order = await self.ex.lookup(intent.symbol, intent.client_id)
            if order is None:
                continue  # not at the venue: a re-decision sends it under the same id; else it never went
            await self.run_io(self.ledger.mark, intent.client_id, self.ex.status(order), order.venue_order_id)
            resolved += 1
        return resolved

    async def _replay(self, book: Book) -> tuple[Book, int]:
        """The decisions recorded after the book's last saved bar, applied in order."""
        adopted = 0
        for intent in await self.run_io(self.ledger.intents_after, book.symbol, book.last_bar or ""):
            recorded = text(intent.detail.get("book"))
            after = None if recorded is None else Book.from_json(recorded)
            leg = intent.leg
            if leg in EXIT_LEGS and book.state.mode == OPEN and intent.detail.get("entry_id") == book.entry_id:
                order = await self.ex.lookup(book.symbol, intent.client_id)
                if order is None or order.status is not OrderStatus.FILLED:
                    continue  # not done: the position is still there and the rules decide again
                trade = self.ex.trade(book, book.state, order, intent.bar, EXIT_LEGS[leg])
                await self.ex.drop_protections(book)
                book = replace(book.flat(trade.pnl), last_bar=intent.bar)
                await self.run_io(
                    self.ledger.save_book,
                    book,
                    trades=[trade],
                    events=[("replayed", {"client_id": intent.client_id, "leg": leg})],
                )
                adopted += 1
            elif after is not None and self._applies(book, leg, after):
                if not await self._at_venue(book.symbol, leg, intent.client_id):
                    continue  # it never left: the bar's re-decision sends it, or nothing happened
                book = after
                await self.run_io(
                    self.ledger.save_book, book, events=[("replayed", {"client_id": intent.client_id, "leg": leg})]
                )
                adopted += 1
        return book, adopted

    async def _at_venue(self, symbol: str, leg: str, cid: str) -> bool:
        """Whether the venue knows the order (an entry) or holds the stop (a stop move) of an intent."""
        if leg == STOP_MOVE:
            return cid in {p.client_id for p in await self.ex.router.broker_for(symbol).protections(symbol)}
        return await self.ex.lookup(symbol, cid) is not None

    @staticmethod
    def _applies(book: Book, leg: str, after: Book) -> bool:
        if leg == "entry":
            return book.state.mode == FLAT and after.state.mode == PENDING
        if leg == STOP_MOVE:  # the same position, its stop moved on
            return book.state.mode == OPEN and after.entry_id == book.entry_id and after.trail_n > book.trail_n
        return False

    async def _follow_venue(self, book: Book) -> Book:
        """What changed at the venue while the runner was away, into the book.

        An entry cancelled there (not by us) ends the pending book. A position that shrank or vanished without a
        fired protection or an exit of ours (the user traded by hand) is followed: the book shrinks,
        or closes with a trade marked ``external`` at the venue's last price. A fired protection or an
        exit of ours is left to the bar that re-processes it (it knows the bar's time).
        """
        ex, s, symbol = self.ex, book.state, book.symbol
        events: list[Event] = []
        trades: list[Trade] = []
        if s.mode == PENDING:
            order = await ex.lookup(symbol, book.entry_id)
            if order is None or order.status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
                return book
            ours = await self.run_io(self.ledger.intent, book.entry_id) if book.entry_id else None
            if ours is not None and ours.status is IntentStatus.CANCELLED:
                return book  # we cancelled it (its expiry): the bar that re-processes it ends the book, no entry there
            events.append(("entry_gone", {"client_id": book.entry_id, "status": order.status.value}))
            book = book.flat()
        elif s.mode == OPEN:
            broker = ex.router.broker_for(symbol)
            if await ex.fired(book) is not None or await ex.vanished(book, broker) is not None:
                return book  # the bar that follows books it
            if await self.run_io(self.ledger.exit_intents, symbol, book.entry_bar or ""):
                return book
            held = sum((p.quantity for p in await broker.positions() if p.symbol == symbol), Decimal(0))
            want = dec(s.side * s.qty)
            if held * (1 if s.side > 0 else -1) >= abs(want):
                return book
            if held == 0 or (held > 0) != (s.side > 0):
                price = await broker.last_price(symbol)
                exit_id = f"external-{symbol}-{book.entry_bar}"
                fake = Order(
                    exit_id,
                    "",
                    symbol,
                    Side.SELL if s.side > 0 else Side.BUY,
                    OrderType.MARKET,
                    dec(s.qty),
                    None,
                    OrderStatus.FILLED,
                    dec(s.qty),
                    price,
                )
                trades.append(ex.trade(book, s, fake, book.last_bar or "", "external"))
                events.append(("external_close", {"price": str(price), "quantity": s.qty}))
                self.say(f"{symbol}: the position was closed outside AiTrade while the runner was down")
                await ex.drop_protections(book)
                book = book.flat(trades[0].pnl)
            else:
                events.append(("external_reduce", {"from": s.qty, "to": float(abs(held))}))
                stamp = pd.Timestamp(book.last_bar or pd.Timestamp.now(tz="UTC"))
                book = await ex.reduce(book, abs(held), stamp)
        else:
            return book
        await self.run_io(self.ledger.save_book, book, trades=trades, events=events)
        return book

    async def _cancel_orphans(self, symbol: str, books: dict[str, Book]) -> int:
        """Cancel our protections for ``symbol`` that no book holds (ids are ``at-<symbol>-...``)."""
        broker = self.ex.router.broker_for(symbol)
        if not self.ex.native(broker):
            return 0
        book = books.get(symbol)
        held = {book.stop_id, book.target_id} if book is not None and book.state.mode != FLAT else set()
        cancelled = 0
        for p in await broker.protections(symbol):
            if p.client_id.startswith(f"at-{symbol}-") and p.client_id not in held:
                with contextlib.suppress(SkipError):
                    await self.ex.router.cancel_protection(p)
                    cancelled += 1
        if cancelled:
            await self.run_io(self.ledger.event, "orphan_protections", symbol, {"cancelled": cancelled})
            self.say(f"{symbol}: {cancelled} protection(s) of ours that no book holds cancelled")
        return cancelled
