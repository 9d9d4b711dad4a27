"""The runner's write-ahead ledger, ``state/trades.sqlite``: intents, books, trades and events.

* An **intent** (an order the runner decided) is written, keyed by its
  decision-derived client id, before it is sent; its status follows the
  venue's answers (``pending`` -> ``sent`` / ``filled`` / ``cancelled`` /
  ``rejected``). Writing an id that exists is refused, so an id is never
  sent twice: a restart finds the intent and looks it up at the venue.
* A **book** is one symbol's trading state: the rules' :class:`State`, bars
  processed, the last bar, the ids of its entry and protections, and the cash
  of its sleeve (the capital is split between symbols, as in the backtest).
* **Trades** (closed round trips, the backtest's ``trades.csv`` columns) and
  **events** are append-only.
* ``meta`` holds the session: what feed, signals, genome and capital the
  books were built with; a start with another session is refused.

Every read that decides something and the write that acts on it share one
``BEGIN IMMEDIATE`` transaction; other processes read the file concurrently.

Durability, per table (:mod:`aitrade.sqlitedb`):

============ ========= ===========================================================
table        commit    after a power cut
============ ========= ===========================================================
intents      fsynced   an intent is on disk before its order leaves: a restart
             (insert)  finds it and looks the order up, never sends it blind
meta         fsynced   the session the books were built with
intents      not       a status (``sent``, ``filled``...) is looked up again at
             (status)  the venue by the restart's reconciliation
books        not       rolled back to an earlier bar, whose re-processing makes
                       the same decisions under the same client ids (found at
                       the venue, not re-sent); a fired protection is found again
trades       not       re-booked by that re-processing (``exit_id`` is unique)
events       not       a log; may lose its last lines
============ ========= ===========================================================

A commit that is not fsynced becomes durable with the next one that is (one
WAL, fsynced in order) or the next checkpoint. A process crash loses nothing
committed.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from aitrade.errors import LedgerBusy, StateFileError
from aitrade.redact import redact
from aitrade.rules import TRADE_COLUMNS
from aitrade.runner.seams import Event, JsonMap, JsonObject, SqlValue, Trade, obj
from aitrade.sqlitedb import connect, fetch, immediate, is_busy, wal
from aitrade.strategy import State

SCHEMA = 1
_TABLES = (
    """CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS intents (
        client_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, leg TEXT NOT NULL, side TEXT NOT NULL,
        order_type TEXT NOT NULL, quantity TEXT NOT NULL, price TEXT, bar TEXT NOT NULL, status TEXT NOT NULL,
        venue_order_id TEXT, detail TEXT, created TEXT NOT NULL, updated TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS books (symbol TEXT PRIMARY KEY, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS trades (
        id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, side TEXT NOT NULL, entry_time TEXT NOT NULL,
        entry_price REAL NOT NULL, exit_time TEXT NOT NULL, exit_price REAL NOT NULL, quantity REAL NOT NULL,
        fees REAL NOT NULL, pnl REAL NOT NULL, exit_reason TEXT NOT NULL, exit_id TEXT NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY, time TEXT NOT NULL, kind TEXT NOT NULL, symbol TEXT, detail TEXT NOT NULL)""",
)


_MARK = "UPDATE intents SET status = ?, venue_order_id = COALESCE(?, venue_order_id), updated = ? WHERE client_id = ?"
_INSERT_TRADE = (
    f"INSERT OR IGNORE INTO trades ({', '.join(TRADE_COLUMNS)}, exit_id) "  # noqa: S608 (constants)
    f"VALUES ({', '.join('?' * (len(TRADE_COLUMNS) + 1))})"
)


class IntentStatus(StrEnum):
    """An intent's standing at its venue: written, not yet answered (``pending``); answered and live
    (``sent``); done (``filled``, ``cancelled``, ``rejected``)."""

    PENDING = "pending"
    SENT = "sent"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Intent:
    """An order (or a protection's move) the runner decided, as written before it leaves.

    ``detail`` is what recovery needs of the decision (the book it leads to, the entry an exit closes).
    """

    client_id: str
    symbol: str
    leg: str
    side: str
    order_type: str
    quantity: str
    price: str | None
    bar: str
    detail: JsonMap = field(default_factory=dict)
    status: IntentStatus = IntentStatus.PENDING
    venue_order_id: str | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Book:
    """One symbol's trading state between bars (what the runner persists after each bar)."""

    symbol: str
    state: State = field(default_factory=State)
    t: int = -1  # index of the last bar processed (the rules count bars)
    last_bar: str | None = None  # its time (UTC ISO)
    cash: float = 0.0  # the sleeve's realised cash
    entry_id: str | None = None
    entry_bar: str | None = None  # time of the bar the entry filled on
    stop_id: str | None = None
    target_id: str | None = None
    trail_n: int = 0  # stop re-placements so far (the attempt number of the next one)
    synthetic: bool = False  # protections watched by the runner, not held at the venue

    def to_json(self) -> str:
        data = {name: getattr(self, name) for name in _BOOK_FIELDS}  # flat fields: no deep copy (asdict's cost)
        data["state"] = {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k in _STATE_FIELDS
            for v in (getattr(self.state, k),)
        }
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Book:
        data = json.loads(text)
        state = data.pop("state")
        for name in _NAN_FIELDS:  # NaN is stored as null
            if state.get(name) is None:
                state[name] = math.nan
        return cls(state=State(**state), **data)

    def with_state(self, state: State) -> Book:
        return replace(self, state=state)

    def flat(self, pnl: float = 0.0) -> Book:
        """No position and no orders: ids and the trailing count cleared, ``pnl`` added to the sleeve."""
        return replace(
            self,
            state=State(),
            cash=self.cash + pnl,
            entry_id=None,
            entry_bar=None,
            stop_id=None,
            target_id=None,
            trail_n=0,
        )


_NAN_FIELDS = {f for f, v in asdict(State()).items() if isinstance(v, float)}
_STATE_FIELDS = tuple(f.name for f in fields(State))
_BOOK_FIELDS = tuple(f.name for f in fields(Book))


def _trade_values(tr: Trade) -> tuple[SqlValue, ...]:
    """A trade's values in the order of ``TRADE_COLUMNS``, then its exit id."""
    return (
        tr.symbol,
        tr.side,
        tr.entry_time,
        tr.entry_price,
        tr.exit_time,
        tr.exit_price,
        tr.quantity,
        tr.fees,
        tr.pnl,
        tr.exit_reason,
        tr.exit_id,
    )


@dataclass(frozen=True)
class Mark:
    """An intent's new standing at its venue (re-derivable: recovery looks the order up again)."""

    client_id: str
    status: IntentStatus
    venue_order_id: str | None = None


@dataclass(frozen=True)
class Change:
    """A book as saved after a bar, with the trades it closed and its events."""

    book: Book
    trades: list[Trade]
    events: list[Event]


class TradeLedger:
    """``state/trades.sqlite``; ``read_only`` opens it ``mode=ro`` (a missing file reads as empty)."""

    def __init__(self, path: Path, *, read_only: bool = False, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.busy_timeout_s = busy_timeout_s
        if read_only:
            if self.path.exists():
                self._db = connect(f"{self.path.resolve().as_uri()}?mode=ro", busy_timeout_s, uri=True)
            else:
                self._db = connect(":memory:", busy_timeout_s)
                for sql in _TABLES:
                    self._db.execute(sql)
            self._check()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path, busy_timeout_s)
        try:
            wal(self._db)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA:
                raise StateFileError(
                    f"trade ledger {self.path} has schema {version}; this AiTrade reads up to "
                    f"{SCHEMA} (upgrade AiTrade)"
                )
            if version < SCHEMA:
                with self._tx() as db:
                    for sql in _TABLES:
                        db.execute(sql)
                    db.execute(f"PRAGMA user_version = {SCHEMA}")
            self._check()
        except BaseException:
            self._db.close()
            raise

    def _check(self) -> None:
        try:
            self._db.execute("SELECT count(*) FROM intents").fetchone()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
                raise self._busy() from exc
            raise StateFileError(
                f"trade ledger {self.path} is unreadable ({exc}); move it aside and reconcile "
                "with `aitrade runner start` (it rebuilds nothing it cannot see at the venue)"
            ) from exc

    def _busy(self) -> LedgerBusy:
        return LedgerBusy(
            f"trade ledger {self.path} stayed locked by another process for more than "
            f"{self.busy_timeout_s:g} s; try again"
        )

    def _tx(self, *, durable: bool = False) -> AbstractContextManager[sqlite3.Connection]:
        if self.read_only:
            raise StateFileError(f"trade ledger {self.path} is open read-only")
        return immediate(self._db, self._busy, durable=durable)

    def _rows(self, sql: str, args: tuple[SqlValue, ...] = ()) -> list[tuple[SqlValue, ...]]:
        return fetch(self._db, sql, args, self._busy)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TradeLedger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- session ---------------------------------------------------------------------------------
    def session(self) -> JsonObject | None:
        rows = self._rows("SELECT value FROM meta WHERE name = 'session'")
        return obj(json.loads(str(rows[0][0]))) if rows else None

    def begin_session(self, session: JsonMap) -> JsonObject:
        """Record the session, or return the one recorded (the caller compares)."""
        with self._tx(durable=True) as db:
            rows = db.execute("SELECT value FROM meta WHERE name = 'session'").fetchall()
            if rows:
                return obj(json.loads(rows[0][0]))
            db.execute("INSERT INTO meta VALUES ('session', ?)", (json.dumps(session, sort_keys=True),))
            self._event(db, "session", None, session)
        return dict(session)

    # --- books -----------------------------------------------------------------------------------
    def books(self) -> dict[str, Book]:
        return {str(s): Book.from_json(str(d)) for s, d in self._rows("SELECT symbol, data FROM books ORDER BY symbol")}

    def save_book(
        self,
        book: Book,
        *,
        trades: Sequence[Trade] = (),
        events: Sequence[Event] = (),
    ) -> None:
        """The book after a bar, with the trades it closed and its events, in one transaction."""
        self.save_books([Change(book, list(trades), list(events))])

    def save_books(self, changes: Sequence[Change], marks: Sequence[Mark] = ()) -> None:
        """Several books (a tick's), each with its trades and events, and intents' statuses, in one transaction."""
        with self._tx() as db:
            stamp = now_iso()
            for m in marks:
                db.execute(_MARK, (m.status, m.venue_order_id, stamp, m.client_id))
            for change in changes:
                book = change.book
                db.execute("INSERT OR REPLACE INTO books VALUES (?, ?)", (book.symbol, book.to_json()))
                for tr in change.trades:
                    db.execute(_INSERT_TRADE, _trade_values(tr))
                for kind, detail in change.events:
                    self._event(db, kind, book.symbol, detail)

    # --- intents ---------------------------------------------------------------------------------
    def write_intents(self, intents: Sequence[Intent]) -> set[str]:
        """Record orders before they are sent, all in one fsynced transaction (a tick's). Returns the ids
        that are new; a known id is never sent again (its order is looked up instead)."""
        if not intents:
            return set()
        stamp = now_iso()
        fresh: set[str] = set()
        with self._tx(durable=True) as db:
            for i in intents:
                cur = db.execute(
                    "INSERT INTO intents VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, ?, ?, ?) "
                    "ON CONFLICT(client_id) DO NOTHING",
                    (
                        i.client_id,
                        i.symbol,
                        i.leg,
                        i.side,
                        i.order_type,
                        i.quantity,
                        i.price,
                        i.bar,
                        json.dumps(i.detail),
                        stamp,
                        stamp,
                    ),
                )
                if cur.rowcount == 1:
                    fresh.add(i.client_id)
        return fresh

    def write_intent(self, intent: Intent) -> bool:
        """Record one order before it is sent (fsynced). False when the id is already known."""
        return bool(self.write_intents([intent]))

    def intent(self, client_id: str) -> Intent | None:
        rows = self._rows(
            "SELECT client_id, symbol, leg, side, order_type, quantity, price, bar, status, "
            "venue_order_id, detail FROM intents WHERE client_id = ?",
            (client_id,),
        )
        if not rows:
            return None
        cid, symbol, leg, side, order_type, quantity, price, bar, status, venue_id, detail = rows[0]
        return Intent(
            client_id=str(cid),
            symbol=str(symbol),
            leg=str(leg),
            side=str(side),
            order_type=str(order_type),
            quantity=str(quantity),
            price=None if price is None else str(price),
            bar=str(bar),
            detail=obj(json.loads(str(detail or "{}"))),
            status=IntentStatus(str(status)),
            venue_order_id=None if venue_id is None else str(venue_id),
        )

    def open_intents(self) -> list[Intent]:
        ids = self._rows("SELECT client_id FROM intents WHERE status IN ('pending', 'sent') ORDER BY created")
        return [i for (cid,) in ids if (i := self.intent(str(cid))) is not None]

    def intent_symbols(self) -> list[str]:
        return [str(r[0]) for r in self._rows("SELECT DISTINCT symbol FROM intents ORDER BY symbol")]

    def intents_after(self, symbol: str, bar: str) -> list[Intent]:
        """``symbol``'s intents decided after ``bar`` (not refused), in decision order: what a book saved at
        ``bar`` has not seen."""
        ids = self._rows(
            "SELECT client_id FROM intents WHERE symbol = ? AND bar > ? AND status != 'rejected' ORDER BY bar, created",
            (symbol, bar),
        )
        return [i for (cid,) in ids if (i := self.intent(str(cid))) is not None]

    def exit_intents(self, symbol: str, since_bar: str) -> list[str]:
        """Client ids of our exit orders for ``symbol`` decided at or after ``since_bar`` (time, abort, vol, kill)."""
        rows = self._rows(
            "SELECT client_id FROM intents WHERE symbol = ? AND leg IN ('time', 'abort', 'vol', 'kill') "
            "AND bar >= ? AND status != 'rejected'",
            (symbol, since_bar),
        )
        return [str(r[0]) for r in rows]

    def mark(self, client_id: str, status: IntentStatus, venue_order_id: str | None = None) -> None:
        with self._tx() as db:
            db.execute(_MARK, (status, venue_order_id, now_iso(), client_id))

    # --- trades and events -------------------------------------------------------------------------
    def trades(self) -> list[dict[str, SqlValue]]:
        columns = ", ".join(TRADE_COLUMNS)
        rows = self._rows(f"SELECT {columns} FROM trades ORDER BY entry_time, symbol, id")  # noqa: S608 (constants)
        return [dict(zip(TRADE_COLUMNS, r, strict=True)) for r in rows]

    def recent_trades(self, limit: int = 20) -> list[dict[str, SqlValue]]:
        """The last ``limit`` trades booked, newest first."""
        columns = ", ".join(TRADE_COLUMNS)
        rows = self._rows(f"SELECT {columns} FROM trades ORDER BY id DESC LIMIT ?", (limit,))  # noqa: S608
        return [dict(zip(TRADE_COLUMNS, r, strict=True)) for r in rows]

    def exits_since(self, rowid: int) -> list[tuple[int, str, float]]:
        """``(id, exit_time, pnl)`` of the trades booked after row ``rowid`` (a monitor reads only what is new)."""
        return [
            (int(i or 0), str(t), float(p or 0))
            for i, t, p in self._rows("SELECT id, exit_time, pnl FROM trades WHERE id > ? ORDER BY id", (rowid,))
        ]

    def event(self, kind: str, symbol: str | None, detail: JsonMap) -> None:
        with self._tx() as db:
            self._event(db, kind, symbol, detail)

    @staticmethod
    def _event(db: sqlite3.Connection, kind: str, symbol: str | None, detail: JsonMap) -> None:
        text = redact(json.dumps(detail, default=str))  # a venue's error may echo our headers: never stored
        db.execute(
            "INSERT INTO events (time, kind, symbol, detail) VALUES (?, ?, ?, ?)", (now_iso(), kind, symbol, text)
        )

    def events(self, limit: int = 50) -> list[JsonObject]:
        rows = self._rows("SELECT time, kind, symbol, detail FROM events ORDER BY id DESC LIMIT ?", (limit,))
        return [
            {"time": str(t), "kind": str(k), "symbol": None if s is None else str(s), "detail": obj(json.loads(str(d)))}
            for t, k, s, d in rows
        ]
