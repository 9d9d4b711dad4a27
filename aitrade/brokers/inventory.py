"""What AiTrade itself holds at a venue, counted from its own fills: one SQLite file, shared by processes.

A venue reports everything in the account: coins the user bought by hand,
dust left by fees, shares held for years. Only what AiTrade's orders filled is
AiTrade's position (the original sold every coin in the account on a
close-all). This ledger applies each of our orders' *cumulative* fills once
(a repeated report changes nothing), remembers every client id it sent (so one
is never sent blind twice, even after a restart) and the client id <-> venue
key maps a venue needs (T-Invest request UUIDs, stop-order ids).

Several processes share the file (runner, CLI, notebook kernels). Nothing is
cached in memory: every read is a query and every check-and-record is one
``BEGIN IMMEDIATE`` transaction, so a process that started an hour ago sees a
close-all made by another one a second ago. Recording a client id is an insert
that reports a conflict: a conflict means "known: look it up, never send".

Durability: a claim (the client id recorded *before* its order is sent) is
fsynced: a forgotten claim is an order AiTrade no longer knows it sent (re-sent
on Bitget spot, or a position counted as the user's). One fsync per order is
cheap next to a venue round trip. Everything else here is re-derived from the
venue and is committed without waiting for the disk (:mod:`aitrade.sqlitedb`):
fills are cumulative and re-applied from the venue's answer for every order not
yet final; keys are derived from client ids or looked up; a refused order is
refused again when looked up. A power cut rolls those back to the last fsync,
never past a claim.

A busy ledger (another process inside a transaction) is waited for up to
``busy_timeout_s``; after that :class:`LedgerBusy` says so in one line. A ledger
that is not a SQLite file is moved aside and a new one starts *unsynced*: the
broker rebuilds it from the venue's order history before it sends anything.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from aitrade.brokers.base import OrderRequest, Side
from aitrade.errors import HaltError, LedgerBusy, SkipError, StateFileError
from aitrade.locks import ProcessLock
from aitrade.sqlitedb import connect, fetch, immediate, is_busy, wal
from aitrade.statefile import quarantine

log = logging.getLogger(__name__)
D0 = Decimal(0)
SCHEMA = 2
_TABLES = (
    "CREATE TABLE IF NOT EXISTS positions (symbol TEXT PRIMARY KEY, qty TEXT NOT NULL, avg TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS orders (client_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, side TEXT NOT NULL, "
    "filled TEXT NOT NULL, fee_base TEXT NOT NULL, final INTEGER NOT NULL, qty TEXT NOT NULL DEFAULT '0', "
    "reduce INTEGER NOT NULL DEFAULT 0, deadline_ms INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, client_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_INDEX = "CREATE INDEX IF NOT EXISTS orders_open ON orders (final, symbol)"
_V1_COLUMNS = (
    "qty TEXT NOT NULL DEFAULT '0'",
    "reduce INTEGER NOT NULL DEFAULT 0",
    "deadline_ms INTEGER NOT NULL DEFAULT 0",
)


class OwnedInventory:
    """Signed quantities and average prices per symbol, from our own fills, in one SQLite file.

    ``read_only`` opens the file for reading only (``mode=ro``): nothing is
    created, migrated, quarantined or written; fills seen are not recorded.
    """

    def __init__(self, path: Path, *, read_only: bool = False, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.busy_timeout_s = busy_timeout_s
        self.quarantined: Path | None = None
        self.lock = ProcessLock(self.path.with_suffix(".lock"), f"the venue account of ledger {self.path.name}")
        if read_only:
            self._db = self._open_read_only()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open_patiently()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
                raise self._busy_error() from exc
            self.quarantined = self._quarantine()
            log.error(
                "ownership ledger %s was unreadable (%s); moved aside to %s; it will be rebuilt from the "
                "venue before anything is sent",
                self.path,
                exc,
                self.quarantined.name,
            )
            self._db = self._open()

    # --- opening ---------------------------------------------------------------------------------
    def _connect(self, target: str, *, uri: bool = False) -> sqlite3.Connection:
        return connect(target, self.busy_timeout_s, uri=uri)

    def _open_patiently(self) -> sqlite3.Connection:
        """Open, retrying while another process creates or migrates the file.

        Switching to WAL and the first schema transaction can be refused at once
        (SQLite skips the busy handler where waiting could deadlock), so those
        are retried here until the busy timeout.
        """
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                return self._open()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _open(self) -> sqlite3.Connection:
        db = self._connect(str(self.path))
        try:
            wal(db)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA:
                db.execute("BEGIN IMMEDIATE")
                for sql in _TABLES:  # IF NOT EXISTS: a version-1 orders table is kept and widened below
                    db.execute(sql)
                have = {r[1] for r in db.execute("PRAGMA table_info(orders)")}
                for column in _V1_COLUMNS:
                    if column.split()[0] not in have:
                        db.execute(f"ALTER TABLE orders ADD COLUMN {column}")
                db.execute(_INDEX)
                db.execute(f"PRAGMA user_version = {SCHEMA}")
                db.execute("COMMIT")
            elif version > SCHEMA:
                raise StateFileError(
                    f"ownership ledger {self.path} has schema {version}; this AiTrade reads up "
                    f"to {SCHEMA} (upgrade AiTrade)"
                )
            db.execute("SELECT count(*) FROM orders").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _open_read_only(self) -> sqlite3.Connection:
        if not self.path.exists():
            db = self._connect(":memory:")
            for sql in _TABLES:
                db.execute(sql)
            return db
        db = self._connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            db.execute("SELECT count(*) FROM orders").fetchone()
        except sqlite3.DatabaseError as exc:
            db.close()
            if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
                raise self._busy_error() from exc
            raise StateFileError(
                f"ownership ledger {self.path} is unreadable ({exc}); a trading process will "
                "move it aside and rebuild it from the venue"
            ) from exc
        return db

    def _quarantine(self) -> Path:
        for suffix in ("-wal", "-shm"):
            extra = self.path.with_name(self.path.name + suffix)
            if extra.exists():
                extra.unlink()
        return quarantine(self.path)

    def _busy_error(self) -> LedgerBusy:
        holder = self.lock.holder()
        who = f" (account lock held by process {holder.get('pid')})" if holder else ""
        return LedgerBusy(
            f"ownership ledger {self.path} stayed locked by another process for more than "
            f"{self.busy_timeout_s:g} s{who}; try again"
        )

    def close(self) -> None:
        self.lock.release()
        self._db.close()

    # --- the one-process-per-account lock ------------------------------------------------------
    def acquire(self, purpose: str) -> None:
        """Take this account's order-placing lock (raises :class:`LockHeld` naming the holder's pid)."""
        if self.read_only:
            return
        self.lock.acquire(purpose)

    async def open_for_trading(self, purpose: str, rebuild: Callable[[], Awaitable[int]]) -> None:
        """A broker's connect(): take the lock, then rebuild an unsynced ledger from the venue. Read-only: nothing."""
        if self.read_only:
            return
        self.acquire(purpose)
        if not self.synced:
            await rebuild()

    def require_owner(self, broker: str) -> None:
        """Only the process holding this account's lock sends anything (connect() takes it)."""
        if not self.lock.held:
            raise HaltError(
                f"{broker}: this process does not hold the account lock (read-only, or not connected); nothing is sent"
            )

    # --- transactions ----------------------------------------------------------------------------
    @contextmanager
    def _tx(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            yield self._db
            return
        with immediate(self._db, self._busy_error, durable=durable) as db:
            yield db

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return fetch(self._db, sql, args, self._busy_error)

    def _write(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor | None:
        return None if self.read_only else self._db.execute(sql, args)

    # --- the venue rebuild marker ----------------------------------------------------------------
    @property
    def synced(self) -> bool:
        """Whether this ledger is known to hold every order of ours the venue has (built here, or rebuilt)."""
        return bool(self._rows("SELECT 1 FROM meta WHERE name = 'synced'"))

    def mark_synced(self, how: str) -> None:
        with self._tx():
            self._write("INSERT OR REPLACE INTO meta VALUES ('synced', ?)", (how,))

    def sync_note(self) -> str:
        """How the ledger was last built or rebuilt from the venue ("" if never)."""
        rows = self._rows("SELECT value FROM meta WHERE name = 'synced'")
        return str(rows[0][0]) if rows else ""

    # --- positions -------------------------------------------------------------------------------
    def position(self, symbol: str) -> tuple[Decimal, Decimal]:
        row = self._rows("SELECT qty, avg FROM positions WHERE symbol = ?", (symbol,))
        return (Decimal(row[0][0]), Decimal(row[0][1])) if row else (D0, D0)

    def quantity(self, symbol: str) -> Decimal:
        return self.position(symbol)[0]

    def avg_price(self, symbol: str) -> Decimal:
        return self.position(symbol)[1]

    def symbols(self) -> list[str]:
        return sorted(r[0] for r in self._rows("SELECT symbol, qty FROM positions") if Decimal(r[1]) != 0)

    def ours(self, symbol: str, venue_qty: Decimal) -> Decimal:
        """The part of a venue's signed position that is ours; shrinks our count when the venue holds less."""
        with self._tx():
            mine, avg = self.position(symbol)
            if mine == 0:
                return D0
            if venue_qty == 0 or (venue_qty > 0) != (mine > 0):
                kept = D0
            else:
                kept = mine if abs(mine) <= abs(venue_qty) else venue_qty
            if kept != mine:
                log.warning("%s: AiTrade counted %s but the venue holds %s; counting %s", symbol, mine, venue_qty, kept)
                self._set(symbol, kept, avg if kept else D0)
        return kept

    def _set(self, symbol: str, qty: Decimal, avg: Decimal) -> None:
        if qty == 0:
            self._write("DELETE FROM positions WHERE symbol = ?", (symbol,))
        else:
            self._write("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)", (symbol, str(qty), str(avg)))

    # --- orders and fills ------------------------------------------------------------------------
    def claim(
        self,
        client_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        reduce: bool = False,
        key: str = "",
        deadline_ms: int = 0,
    ) -> bool:
        """Record an order before it is sent; False when the id is known already (look it up, never send).

        A ``reduce`` order (closing AiTrade's position) is refused with
        :class:`SkipError` when, together with our other unfinished reducing
        orders, it would close more than AiTrade holds: two close-alls never
        sell the user's coins. ``deadline_ms`` is the last moment the venue may
        accept the first send (Bitget spot's requestTime + receiveWindow).
        """
        if self.read_only:
            raise StateFileError(f"ownership ledger {self.path} is open read-only; nothing can be sent through it")
        with self._tx(durable=True) as db:
            inserted = db.execute(
                "INSERT INTO orders (client_id, symbol, side, filled, fee_base, final, qty, reduce, deadline_ms) "
                "VALUES (?, ?, ?, '0', '0', 0, ?, ?, ?) ON CONFLICT(client_id) DO NOTHING",
                (client_id, symbol, side.value, str(quantity), int(reduce), int(deadline_ms)),
            ).rowcount
            if not inserted:
                return False
            if reduce:
                held = self.position(symbol)[0]
                sign = 1 if side is Side.BUY else -1
                open_reducing = sum(
                    (
                        Decimal(q) - Decimal(f)
                        for q, f in db.execute(
                            "SELECT qty, filled FROM orders WHERE symbol = ? AND side = ? AND reduce = 1 AND final = 0",
                            (symbol, side.value),
                        )
                    ),
                    D0,
                )
                if held == 0 or (held > 0) == (sign > 0) or open_reducing > abs(held):
                    raise SkipError(
                        f"{side.value} {quantity} {symbol} would close more than AiTrade holds ({held}, "
                        f"with {open_reducing} already being closed)"
                    )
            if key:
                db.execute("INSERT OR REPLACE INTO keys VALUES (?, ?)", (key, client_id))
        return True

    def refused(self, client_id: str) -> bool:
        """Finish an order the venue refused (nothing filled): it reserves nothing any more. True if it was open.

        Without this a refused close would stay "in progress" and every later
        close of the position would be refused as closing more than AiTrade holds.
        """
        with self._tx() as db:
            row = db.execute("SELECT filled, final FROM orders WHERE client_id = ?", (client_id,)).fetchone()
            if row is None or row[1] or Decimal(row[0]) != 0:
                return False
            self._write("UPDATE orders SET final = 1 WHERE client_id = ?", (client_id,))
        return True

    def known(self, client_id: str) -> bool:
        """Whether an order with this client id was recorded before (then look it up; never send it blind)."""
        return bool(self._rows("SELECT 1 FROM orders WHERE client_id = ?", (client_id,)))

    def swap_deadline(self, client_id: str, seen_ms: int, new_ms: int) -> bool:
        """Take the right to re-send: set a new deadline only if it is still ``seen_ms`` (compare-and-set)."""
        with self._tx() as db:
            return bool(
                db.execute(
                    "UPDATE orders SET deadline_ms = ? WHERE client_id = ? AND deadline_ms = ?",
                    (int(new_ms), client_id, int(seen_ms)),
                ).rowcount
            )

    def deadline(self, client_id: str) -> int:
        row = self._rows("SELECT deadline_ms FROM orders WHERE client_id = ?", (client_id,))
        return int(row[0][0]) if row else 0

    def forget(self, client_id: str) -> None:
        """Drop an order from the ledger (tests and manual repair only)."""
        with self._tx():
            self._write("DELETE FROM orders WHERE client_id = ?", (client_id,))

    def remember_key(self, key: str, client_id: str) -> None:
        with self._tx():
            self._write("INSERT OR REPLACE INTO keys VALUES (?, ?)", (key, client_id))

    def client_for(self, key: str) -> str | None:
        row = self._rows("SELECT client_id FROM keys WHERE key = ?", (key,))
        return str(row[0][0]) if row else None

    def key_for(self, client_id: str) -> str | None:
        row = self._rows("SELECT key FROM keys WHERE client_id = ? ORDER BY rowid DESC", (client_id,))
        return str(row[0][0]) if row else None

    def pending(self) -> dict[str, str]:
        """Client id -> symbol of our orders that may still fill."""
        return dict(self._rows("SELECT client_id, symbol FROM orders WHERE final = 0 ORDER BY rowid"))

    def apply(
        self, client_id: str, filled: Decimal, price: Decimal | None, *, final: bool, fee_in_base: Decimal = D0
    ) -> Decimal:
        """Count an order's cumulative ``filled`` quantity once; returns the newly counted part.

        ``fee_in_base`` is the cumulative fee taken in the bought coin (Bitget spot), which we do not hold.
        Read and written in one transaction, so two processes reporting fills never lose one.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT symbol, side, filled, fee_base, final FROM orders WHERE client_id = ?", (client_id,)
            ).fetchone()
            if row is None or row[4]:  # unknown, or final and counted already
                return D0
            symbol, side, before, fee_before = row[0], Side(row[1]), Decimal(row[2]), Decimal(row[3])
            delta = filled - before
            counted = delta > 0 and price is not None and price > 0
            if delta > 0 and not counted:  # a fill without a known price: never booked, never forgotten (pending)
                return D0
            if not counted and not final:
                return D0
            if counted:
                assert price is not None
                fee_delta = fee_in_base - fee_before
                self._add(symbol, (delta - fee_delta) if side is Side.BUY else -delta, price)
                before, fee_before = filled, fee_in_base
            self._write(
                "UPDATE orders SET filled = ?, fee_base = ?, final = ? WHERE client_id = ?",
                (str(before), str(fee_before), int(final), client_id),
            )
        return delta if counted else D0

    def _add(self, symbol: str, signed: Decimal, price: Decimal) -> None:
        qty, avg = self.position(symbol)
        new = qty + signed
        if qty == 0 or (qty > 0) == (signed > 0):
            avg = (qty * avg + signed * price) / new if new != 0 else D0
        elif new != 0 and (new > 0) != (qty > 0):
            avg = price  # reversed: the rest opened at this price
        self._set(symbol, new, avg)


VenuePositions = Callable[[], Awaitable[dict[str, tuple[Decimal, Decimal | None]]]]


class NettingGuard:
    """Refuse an opening order against a position in the same account that AiTrade did not open.

    A venue nets one account's position per symbol: selling short 20 SBER while
    the user holds 100 sells 20 of the user's shares. So an order that opens or
    adds to AiTrade's position is refused when the account holds a foreign
    position (venue minus ours) of the other sign. The foreign part changes
    only by the user's hand, so it is cached for ``ttl_s`` seconds.
    """

    def __init__(self, venue: VenuePositions, inventory: OwnedInventory, *, ttl_s: float = 30.0) -> None:
        self.venue = venue
        self.inventory = inventory
        self.ttl_s = ttl_s
        self._foreign: dict[str, Decimal] = {}
        self._at = -1e18

    async def foreign(self, symbol: str, refresh: Callable[[str], Awaitable[None]]) -> Decimal:
        if time.monotonic() - self._at > self.ttl_s or symbol not in self._foreign:
            await refresh(symbol)  # our fills counted first, so venue minus ours is the user's part
            venue = await self.venue()
            self._foreign = {s: q - self.inventory.quantity(s) for s, (q, _) in venue.items()}
            self._foreign.setdefault(symbol, -self.inventory.quantity(symbol))
            self._at = time.monotonic()
        return self._foreign.get(symbol, D0)

    async def check(self, req: OrderRequest, refresh: Callable[[str], Awaitable[None]], *, venue: str) -> None:
        held = self.inventory.quantity(req.symbol)
        signed = req.quantity if req.side is Side.BUY else -req.quantity
        if held != 0 and (held > 0) != (signed > 0) and abs(signed) <= abs(held):
            return  # reduces our own position
        foreign = await self.foreign(req.symbol, refresh)
        if foreign != 0 and (foreign > 0) != (signed > 0):
            raise SkipError(
                f"{venue}: {req.side.value} {req.quantity} {req.symbol} would trade against {foreign} held in this "
                "account that AiTrade did not open (the venue nets them); close or move that holding first"
            )
