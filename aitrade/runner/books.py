"""The runner's books in memory, written through to the ledger.

One runner trades a state folder (it holds the runner lock), so it is the only
writer of books: the copy here is the ledger's content, and reading a book
costs nothing. Other processes read the ledger. A bar's book is *staged* and
the tick's books are committed in one transaction at its end (``flush``);
outside a tick a change is saved at once (``save``). A crash before the flush
re-processes the tick's bars, exactly as a crash before a per-bar save did,
and the write-ahead intents (written before any order leaves) carry the rest
(:mod:`aitrade.runner.recovery`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aitrade.rules import FLAT
from aitrade.runner.ledger import Book, Change, IntentStatus, Mark, TradeLedger
from aitrade.runner.seams import Event, RunIO, Trade


class Books:
    """``get``/``all`` read memory; ``stage`` + ``flush`` or ``save`` write through."""

    def __init__(self, ledger: TradeLedger, run_io: RunIO, sleeve: float) -> None:
        self.ledger, self.run_io, self.sleeve = ledger, run_io, sleeve
        self._books: dict[str, Book] = {}
        self._staged: list[Change] = []
        self._marks: list[Mark] = []

    async def load(self) -> None:
        """Read every book from the ledger (at start, after recovery wrote to it)."""
        self._books = await self.run_io(self.ledger.books)

    def get(self, symbol: str) -> Book:
        return self._books.get(symbol) or Book(symbol, cash=self.sleeve)

    def all(self) -> dict[str, Book]:
        return dict(self._books)

    def open_count(self) -> int:
        return sum(b.state.mode != FLAT for b in self._books.values())

    def stage(self, book: Book, trades: list[Trade], events: list[Event]) -> None:
        self._books[book.symbol] = book
        self._staged.append(Change(book, trades, events))

    def mark(self, client_id: str, status: IntentStatus, venue_order_id: str | None = None) -> None:
        """Stage an intent's new status (committed with the next flush: a status is not fsynced, and a restart
        looks the order up at the venue anyway)."""
        self._marks.append(Mark(client_id, status, venue_order_id))

    async def flush(self) -> None:
        """Commit every staged book, with its trades and events, and the staged statuses, in one transaction."""
        if self._staged or self._marks:
            staged, self._staged = self._staged, []
            marks, self._marks = self._marks, []
            await self.run_io(self.ledger.save_books, staged, marks)

    async def save(
        self,
        book: Book,
        *,
        trades: Sequence[Trade] = (),
        events: Sequence[Event] = (),
    ) -> None:
        """Stage ``book`` and commit everything staged now."""
        self.stage(book, list(trades), list(events))
        await self.flush()
