"""What AiTrade itself holds at a venue, counted from its own fills.

A venue reports everything in the account: coins the user bought by hand,
dust left by fees, shares held for years. Only what AiTrade's orders filled is
AiTrade's position (the original sold every coin in the account on a
close-all). This ledger applies each of our orders' *cumulative* fills once
(a repeated report changes nothing), remembers every client id it sent (so one
is never sent blind twice, even after a restart) and the client id <-> venue
key maps a venue needs (T-Invest request UUIDs, stop-order ids).

A venue position is reported as the part of it that is ours: the same sign and
at most the venue's size. When the venue holds less than we counted (a
protection fired at the venue, a liquidation, a manual sale), our count shrinks
to what is there.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from aitrade.brokers.base import OrderRequest, Side
from aitrade.errors import SkipError

log = logging.getLogger(__name__)
D0 = Decimal(0)


class OwnedInventory:
    """Signed quantities and average prices per symbol, from our own fills, in one SQLite file.

    SQLite in WAL mode with ``synchronous=NORMAL``: every change is one
    transaction that survives a crash of the process (an OS crash may lose the
    last ones, never corrupt the file); an order costs O(1) writes however long
    the history. Positions and unfinished orders are also held in memory.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._tx():
            self._db.execute("CREATE TABLE IF NOT EXISTS positions (symbol TEXT PRIMARY KEY, qty TEXT NOT NULL, "
                             "avg TEXT NOT NULL)")  # fmt: skip
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS orders (client_id TEXT PRIMARY KEY, symbol TEXT NOT NULL, side TEXT NOT "
                "NULL, filled TEXT NOT NULL, fee_base TEXT NOT NULL, final INTEGER NOT NULL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, client_id TEXT NOT NULL)")
        self._positions = {r[0]: {"qty": r[1], "avg": r[2]} for r in self._db.execute("SELECT * FROM positions")}
        self._orders = {r[0]: {"symbol": r[1], "side": r[2], "filled": r[3], "fee_base": r[4], "final": False}
                        for r in self._db.execute("SELECT * FROM orders WHERE final = 0")}  # fmt: skip

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- positions ---------------------------------------------------------------------------
    def quantity(self, symbol: str) -> Decimal:
        return Decimal(self._positions.get(symbol, {}).get("qty", "0"))

    def avg_price(self, symbol: str) -> Decimal:
        return Decimal(self._positions.get(symbol, {}).get("avg", "0"))

    def symbols(self) -> list[str]:
        return sorted(s for s, p in self._positions.items() if Decimal(p["qty"]) != 0)

    def ours(self, symbol: str, venue_qty: Decimal) -> Decimal:
        """The part of a venue's signed position that is ours; shrinks our count when the venue holds less."""
        mine = self.quantity(symbol)
        if mine == 0:
            return D0
        if venue_qty == 0 or (venue_qty > 0) != (mine > 0):
            kept = D0
        else:
            kept = mine if abs(mine) <= abs(venue_qty) else venue_qty
        if kept != mine:
            log.warning("%s: AiTrade counted %s but the venue holds %s; counting %s", symbol, mine, venue_qty, kept)
            with self._tx():
                self._set(symbol, kept, self.avg_price(symbol) if kept else D0)
        return kept

    def _set(self, symbol: str, qty: Decimal, avg: Decimal) -> None:
        if qty == 0:
            self._positions.pop(symbol, None)
            self._db.execute("DELETE FROM positions WHERE symbol = ?", (symbol,))
        else:
            self._positions[symbol] = {"qty": str(qty), "avg": str(avg)}
            self._db.execute("INSERT OR REPLACE INTO positions VALUES (?, ?, ?)", (symbol, str(qty), str(avg)))

    # --- orders and fills --------------------------------------------------------------------
    def track(self, client_id: str, symbol: str, side: Side, *, key: str = "") -> None:
        """Remember an order before it is sent, so its fills are counted and it is never sent blind again."""
        with self._tx():
            if not self.known(client_id):
                self._orders[client_id] = {"symbol": symbol, "side": side.value, "filled": "0", "fee_base": "0",
                                           "final": False}  # fmt: skip
                self._db.execute("INSERT INTO orders VALUES (?, ?, ?, '0', '0', 0)", (client_id, symbol, side.value))
            if key:
                self._db.execute("INSERT OR REPLACE INTO keys VALUES (?, ?)", (key, client_id))

    def known(self, client_id: str) -> bool:
        """Whether an order with this client id was sent before (then look it up; never send it blind)."""
        if client_id in self._orders:
            return True
        return self._db.execute("SELECT 1 FROM orders WHERE client_id = ?", (client_id,)).fetchone() is not None

    def forget(self, client_id: str) -> None:
        """Drop an order from the ledger (tests and manual repair only)."""
        self._orders.pop(client_id, None)
        with self._tx():
            self._db.execute("DELETE FROM orders WHERE client_id = ?", (client_id,))

    def remember_key(self, key: str, client_id: str) -> None:
        with self._tx():
            self._db.execute("INSERT OR REPLACE INTO keys VALUES (?, ?)", (key, client_id))

    def client_for(self, key: str) -> str | None:
        row = self._db.execute("SELECT client_id FROM keys WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def key_for(self, client_id: str) -> str | None:
        row = self._db.execute("SELECT key FROM keys WHERE client_id = ? ORDER BY rowid DESC", (client_id,)).fetchone()
        return None if row is None else str(row[0])

    def pending(self) -> dict[str, str]:
        """Client id -> symbol of our orders that may still fill."""
        return {cid: o["symbol"] for cid, o in self._orders.items()}

    def apply(self, client_id: str, filled: Decimal, price: Decimal | None, *, final: bool,
              fee_in_base: Decimal = D0) -> Decimal:  # fmt: skip
        """Count an order's cumulative ``filled`` quantity once; returns the newly counted part.

        ``fee_in_base`` is the cumulative fee taken in the bought coin (Bitget spot), which we do not hold.
        """
        order = self._orders.get(client_id)
        if order is None:  # unknown, or final and counted already
            return D0
        delta = filled - Decimal(order["filled"])
        counted = delta > 0 and price is not None and price > 0
        if not counted and not final:
            return D0
        with self._tx():
            if counted:
                fee_delta = fee_in_base - Decimal(order["fee_base"])
                side = Side(order["side"])
                self._add(order["symbol"], (delta - fee_delta) if side is Side.BUY else -delta, price)
                order["filled"], order["fee_base"] = str(filled), str(fee_in_base)
            if final:
                del self._orders[client_id]
            self._db.execute("UPDATE orders SET filled = ?, fee_base = ?, final = ? WHERE client_id = ?",
                             (order["filled"], order["fee_base"], int(final), client_id))  # fmt: skip
        return delta if counted else D0

    def _add(self, symbol: str, signed: Decimal, price: Decimal) -> None:
        qty, avg = self.quantity(symbol), self.avg_price(symbol)
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
