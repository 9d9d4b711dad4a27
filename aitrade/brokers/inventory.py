"""What AiTrade itself holds at a venue, counted from its own fills.

A venue reports everything in the account: coins the user bought by hand,
dust left by fees, shares held for years. Only what AiTrade's orders filled is
AiTrade's position (the original sold every coin in the account on a
close-all). This ledger applies each of our orders' *cumulative* fills once
(a repeated report changes nothing), keeps the client id <-> venue key maps
that a venue needs (T-Invest request UUIDs, stop-order ids), and is written
atomically after every change.

A venue position is reported as the part of it that is ours: the same sign and
at most the venue's size. When the venue holds less than we counted (a
protection fired at the venue, a liquidation, a manual sale), our count shrinks
to what is there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from aitrade.brokers.base import OrderRequest, Side
from aitrade.errors import SkipError
from aitrade.statefile import atomic_write_json, read_json_object

log = logging.getLogger(__name__)
D0 = Decimal(0)
KEEP_FINAL = 5000  # final orders remembered (a late duplicate report of one is still ignored)


class OwnedInventory:
    """Signed quantities and average prices per symbol, from our own fills."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        data = read_json_object(self.path, {})
        self._positions: dict[str, dict[str, str]] = data.get("positions", {})
        self._orders: dict[str, dict[str, Any]] = data.get("orders", {})
        self._keys: dict[str, str] = data.get("keys", {})  # venue key (uuid, stop id) -> our client id

    def _save(self) -> None:
        atomic_write_json(self.path, {"version": 1, "positions": self._positions, "orders": self._orders,
                                      "keys": self._keys})  # fmt: skip

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
            self._set(symbol, kept, self.avg_price(symbol) if kept else D0)
            self._save()
        return kept

    def _set(self, symbol: str, qty: Decimal, avg: Decimal) -> None:
        if qty == 0:
            self._positions.pop(symbol, None)
        else:
            self._positions[symbol] = {"qty": str(qty), "avg": str(avg)}

    # --- orders and fills --------------------------------------------------------------------
    def track(self, client_id: str, symbol: str, side: Side, *, key: str = "") -> None:
        """Remember an order we sent (before the answer arrives), so its fills are counted later."""
        if client_id not in self._orders:
            self._orders[client_id] = {"symbol": symbol, "side": side.value, "filled": "0", "final": False}
        if key:
            self._keys[key] = client_id
        self._save()

    def known(self, client_id: str) -> bool:
        """Whether an order with this client id was sent before (then look it up; never send it blind)."""
        return client_id in self._orders

    def remember_key(self, key: str, client_id: str) -> None:
        self._keys[key] = client_id
        self._save()

    def client_for(self, key: str) -> str | None:
        return self._keys.get(key)

    def key_for(self, client_id: str) -> str | None:
        for key, cid in self._keys.items():
            if cid == client_id:
                return key
        return None

    def pending(self) -> dict[str, str]:
        """Client id -> symbol of our orders that may still fill."""
        return {cid: o["symbol"] for cid, o in self._orders.items() if not o["final"]}

    def apply(self, client_id: str, filled: Decimal, price: Decimal | None, *, final: bool,
              fee_in_base: Decimal = D0) -> Decimal:  # fmt: skip
        """Count an order's cumulative ``filled`` quantity once; returns the newly counted part.

        ``fee_in_base`` is the cumulative fee taken in the bought coin (Bitget spot), which we do not hold.
        """
        order = self._orders.get(client_id)
        if order is None:
            return D0
        delta = filled - Decimal(order["filled"])
        fee_delta = fee_in_base - Decimal(order.get("fee_base", "0"))
        changed = False
        if delta > 0 and price is not None and price > 0:
            side = Side(order["side"])
            signed = (delta - fee_delta) if side is Side.BUY else -delta
            self._add(order["symbol"], signed, price)
            order["filled"], order["fee_base"] = str(filled), str(fee_in_base)
            changed = True
        if final and not order["final"]:
            order["final"] = True
            changed = True
        if changed:
            self._prune()
            self._save()
        return delta if delta > 0 else D0

    def _add(self, symbol: str, signed: Decimal, price: Decimal) -> None:
        qty, avg = self.quantity(symbol), self.avg_price(symbol)
        new = qty + signed
        if qty == 0 or (qty > 0) == (signed > 0):
            avg = (qty * avg + signed * price) / new if new != 0 else D0
        elif new != 0 and (new > 0) != (qty > 0):
            avg = price  # reversed: the rest opened at this price
        self._set(symbol, new, avg)

    def _prune(self) -> None:
        final = [cid for cid, o in self._orders.items() if o["final"]]
        for cid in final[: max(0, len(final) - KEEP_FINAL)]:
            del self._orders[cid]


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
