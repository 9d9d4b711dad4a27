"""Bitget v2 brokers: what spot and USDT-M futures share, over one :class:`BitgetHttp`.

* Orders carry our client id as ``clientOid``. A placement whose outcome is
  unknown (timeout or 5xx after sending) or that Bitget calls a duplicate is
  looked up first; only a confirmed "not found" is re-sent, with the same
  clientOid, so Bitget itself refuses a second order (spot also waits out the
  first send's receive window: :mod:`aitrade.brokers.reconcile`).
* Positions count only what AiTrade's own fills bought (:class:`OwnedInventory`):
  a coin balance or a futures position the bot did not open is not its position.
* Request bodies are typed (:mod:`.requests`), every call names its endpoint
  (:mod:`.endpoints`), and wire JSON is read in :mod:`.translate`.

The markets differ in :mod:`.spot` (long only, synthetic protections, orders
looked up by orderId) and :mod:`.futures` (long and short, TP/SL plan orders).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pandas as pd

from aitrade.brokers.base import (
    CLIENT_ID_PREFIX,
    Account,
    Capabilities,
    InstrumentRules,
    Order,
    OrderAck,
    OrderRequest,
    OrderStatus,
    Position,
    Protection,
    Side,
)
from aitrade.brokers.bitget.endpoints import Endpoint
from aitrade.brokers.bitget.http import BitgetHttp
from aitrade.brokers.bitget.requests import CancelOrder, PlaceOrder
from aitrade.brokers.bitget.translate import dec
from aitrade.brokers.inventory import NettingGuard, OwnedInventory
from aitrade.brokers.reconcile import send_once
from aitrade.errors import HaltError, OrderNotFound, ReconcileError, SkipError, UnknownSymbolError

log = logging.getLogger(__name__)
MARKETS = ("futures", "spot")
D0 = Decimal(0)
CandleFn = Callable[[str, str, pd.Timestamp, pd.Timestamp], Awaitable[pd.DataFrame]]


class BitgetBroker(ABC):
    """One Bitget market as an AiTrade broker; :func:`bitget_broker` builds the right one."""

    market: str
    capabilities: Capabilities
    PLACE: Endpoint
    CANCEL: Endpoint
    TICKER: Endpoint
    CLOSE_REDUCE_ONLY: bool  # a close is reduceOnly (futures), or a plain sell of coins held (spot)

    def __init__(
        self,
        http: BitgetHttp,
        inventory: OwnedInventory,
        *,
        name: str = "bitget",
        candles: CandleFn | None = None,
    ) -> None:
        self.http = http
        self.inventory = inventory
        self.name = name
        self._rules: dict[str, InstrumentRules] = {}
        self._prices: dict[str, tuple[Decimal, float]] = {}
        self._candles = candles  # the market-data source the factory gives it (data layer), if any
        self.guard = NettingGuard(self._venue_positions, inventory)

    # --- what each market defines --------------------------------------------------------------
    @abstractmethod
    def _parse(self, raw: dict[str, Any]) -> Order:
        """A wire order row of this market as a domain order."""

    @abstractmethod
    async def _fetch_rules(self, symbol: str) -> InstrumentRules | None: ...

    @abstractmethod
    def _ticker_params(self, symbol: str) -> dict[str, str]: ...

    @abstractmethod
    async def _open_rows(self, symbol: str | None = None) -> list[dict[str, Any]]: ...

    @abstractmethod
    async def _history_page(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """One page of the order history (newest first) and the id to page below."""

    @abstractmethod
    async def _venue_positions(self) -> dict[str, tuple[Decimal, Decimal | None]]:
        """Symbol -> (signed venue quantity, mark price if known)."""

    @abstractmethod
    async def account(self) -> Account: ...

    @abstractmethod
    async def get_order(self, symbol: str, client_id: str) -> Order | None: ...

    @abstractmethod
    async def _order_request(self, req: OrderRequest, rules: InstrumentRules, stamp_ms: int) -> PlaceOrder: ...

    @abstractmethod
    async def place_protection(self, protection: Protection) -> Protection: ...

    @abstractmethod
    async def cancel_protection(self, protection: Protection) -> None: ...

    @abstractmethod
    async def protections(self, symbol: str | None = None) -> list[Protection]: ...

    @abstractmethod
    async def protection_fill(self, protection: Protection) -> Order | None: ...

    def _closing(self, req: OrderRequest) -> bool:
        """Whether an order reduces AiTrade's position (claimed as a reducing order)."""
        return req.reduce_only

    async def _before_send(self, req: OrderRequest) -> None:  # noqa: B027 (a hook: nothing by default)
        """What a market does before an order that adds to a position (futures: netting check, leverage)."""

    async def _after_close(self, symbol: str) -> None:  # noqa: B027
        """What a market does once AiTrade holds nothing in ``symbol`` (futures: cancel our TP/SL plans)."""

    # --- session -----------------------------------------------------------------------------
    async def connect(self) -> None:
        """Sync the clock; a trading broker takes the account lock and rebuilds an unsynced ledger first."""
        await self.http.sync_time()
        await self.inventory.open_for_trading(f"{self.name} {self.market}", self.rebuild)

    async def rebuild(self) -> int:
        """Import every order of ours the venue lists (open orders and order history) into the ledger.

        Run when the ledger is new, lost or was corrupt, before anything is
        sent: a filled decision is then known (never re-sent) and the fills
        AiTrade made count as its position again. Returns the orders imported.
        """
        rows = await self._history() + await self._open_rows()
        ours = sorted(
            (r for r in rows if str(r.get("clientOid") or "").startswith(CLIENT_ID_PREFIX)),
            key=lambda r: int(r.get("cTime") or 0),
        )
        imported = 0
        for raw in ours:
            order = self._parse(raw)
            imported += self.inventory.claim(order.client_id, order.symbol, order.side, order.quantity)
            self._remember(order.client_id, raw)
            self._count(raw)
        self.inventory.mark_synced(f"rebuilt from Bitget {self.market} order history: {imported} orders")
        if imported:
            log.warning(
                "Bitget %s: ownership ledger rebuilt from the venue's history: %d orders of ours", self.market, imported
            )
        return imported

    async def _history(self, pages: int = 50, symbol: str | None = None) -> list[dict[str, Any]]:
        """The venue's order history (Bitget keeps 90 days), newest first, paged by ``idLessThan``."""
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": "100"} | ({"symbol": symbol} if symbol else {})
        for _ in range(pages):
            rows, below = await self._history_page(params)
            out.extend(rows)
            if len(rows) < 100 or not below:
                break
            params["idLessThan"] = below
        return out

    async def close(self) -> None:
        """Close the ownership ledger; the HTTP session belongs to the caller."""
        self.inventory.close()

    # --- reference data ----------------------------------------------------------------------
    async def instrument(self, symbol: str) -> InstrumentRules:
        if symbol not in self._rules:
            rules = await self._fetch_rules(symbol)
            if rules is None:
                raise UnknownSymbolError(f"Bitget {self.market} has no symbol {symbol!r}")
            self._rules[symbol] = rules
        return self._rules[symbol]

    async def last_price(self, symbol: str) -> Decimal:
        rows = await self.http.call(self.TICKER, params=self._ticker_params(symbol), what=f"Bitget ticker {symbol}")
        price = dec((rows or [{}])[0].get("lastPr"))
        if not price:
            raise UnknownSymbolError(f"Bitget {self.market} has no last price for {symbol!r}")
        return price

    async def _recent_price(self, symbol: str, max_age_s: float = 5.0) -> Decimal:
        """A last price at most ``max_age_s`` old: enough to check a market order's minimum notional."""
        seen = self._prices.get(symbol)
        if seen is None or time.monotonic() - seen[1] > max_age_s:
            seen = (await self.last_price(symbol), time.monotonic())
            self._prices[symbol] = seen
        return seen[0]

    async def candles(self, symbol: str, interval: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Complete bars of this market opening in ``[start, end)`` (the factory's candle source)."""
        if self._candles is None:
            raise SkipError(f"{self.name}: no candle source was given to this broker")
        return await self._candles(symbol, interval, pd.Timestamp(start), pd.Timestamp(end))

    # --- positions -----------------------------------------------------------------------------
    async def _refresh_pending(self, only: str | None = None) -> None:
        """Count fills of our orders that may have filled since we last looked."""
        for cid, symbol in self.inventory.pending().items():
            if only is None or symbol == only:
                await self.get_order(symbol, cid)

    async def positions(self) -> list[Position]:
        await self._refresh_pending()
        venue = await self._venue_positions()
        out = []
        for symbol in sorted(set(self.inventory.symbols())):
            qty, mark = venue.get(symbol, (D0, None))
            ours = self.inventory.ours(symbol, qty)
            if ours == 0:
                continue
            avg = self.inventory.avg_price(symbol)
            last = mark or await self.last_price(symbol)
            out.append(Position(symbol, ours, avg, self.name, last, (last - avg) * ours))
        return out

    # --- orders ------------------------------------------------------------------------------
    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [self._parse(r) for r in await self._open_rows(symbol)]

    def _count(self, raw: dict[str, Any]) -> Order:
        """A wire order as a domain order, its cumulative fills counted in the ledger once."""
        order = self._parse(raw)
        self.inventory.apply(order.client_id, order.filled, order.avg_price, final=order.status.final)
        return order

    def _remember(self, client_id: str, raw: dict[str, Any]) -> None:
        """Keep the venue's orderId of one of our orders (spot lookups of filled orders need it)."""
        order_id = str(raw.get("orderId") or "")
        if order_id and self.inventory.key_for(client_id) != order_id and not self.inventory.read_only:
            self.inventory.remember_key(order_id, client_id)

    async def _lookup(self, symbol: str, client_id: str) -> Order | None:
        """Find an order after an unknown outcome (the detail, else the open orders and the history)."""
        return await self.get_order(symbol, client_id)

    async def _normalized(self, req: OrderRequest, rules: InstrumentRules) -> OrderRequest:
        """Price to the tick, quantity down to the step, minimums checked (market orders against the last price)."""
        if req.price is not None:
            return req.normalized(rules)
        qty = rules.quantity(req.quantity)
        last = await self._recent_price(req.symbol) if rules.min_notional > 0 else None
        rules.check(qty, last, what=f"{req.side.value} {req.symbol}")
        return OrderRequest(req.symbol, req.side, qty, req.client_id, req.order_type, None, req.reduce_only)

    async def place_order(self, request: OrderRequest) -> OrderAck:
        self.inventory.require_owner(self.name)
        if request.bracket is not None:
            raise HaltError("Bitget takes no attached protections (capabilities.brackets is false); nothing is sent")
        if not self.inventory.synced:
            raise HaltError(
                f"Bitget {self.market}: the ownership ledger has not been rebuilt from the venue yet "
                "(connect first); nothing is sent"
            )
        rules = await self.instrument(request.symbol)
        req = await self._normalized(request, rules)
        if not self._closing(req):
            await self._before_send(req)
        stamp = self.http.now_ms()
        wire = await self._order_request(req, rules, stamp)
        body = wire.wire()
        what = f"Bitget {req.side.value} {req.quantity} {req.symbol}" + (f" @ {req.price}" if req.price else "")
        deadline = stamp + wire.receive_window_ms if wire.receive_window_ms else 0
        fresh = self.inventory.claim(
            req.client_id, req.symbol, req.side, req.quantity, reduce=self._closing(req), deadline_ms=deadline
        )

        async def send() -> OrderAck:
            data = await self.http.call(self.PLACE, body=body, what=what)
            self._remember(req.client_id, data or {})
            return OrderAck(req.client_id, str((data or {}).get("orderId") or ""), OrderStatus.NEW)

        try:
            return await self._send_once(send, req, body, what, known=not fresh)
        except SkipError:  # refused by the venue: certainly not placed, so it reserves nothing
            self.inventory.refused(req.client_id)
            raise

    async def _send_once(
        self,
        send: Callable[[], Awaitable[OrderAck]],
        req: OrderRequest,
        body: dict[str, Any],
        what: str,
        *,
        known: bool,
    ) -> OrderAck:
        return await send_once(
            send,
            lambda: self._lookup(req.symbol, req.client_id),
            client_id=req.client_id,
            known=known,
            what=what,
            key="clientOid",
            settle=self._settle(req, body, what),
        )

    def _settle(self, req: OrderRequest, body: dict[str, Any], what: str) -> Callable[[], Awaitable[None]] | None:
        """How a market waits out an earlier send before a re-send (spot); ``None`` where the venue dedups ids."""
        return None

    async def cancel_order(self, symbol: str, client_id: str) -> None:
        self.inventory.require_owner(self.name)
        body = CancelOrder(self.market, symbol, client_id).wire()
        try:
            await self.http.call(self.CANCEL, body=body, what=f"Bitget cancel {client_id} {symbol}")
        except (OrderNotFound, ReconcileError):
            order = await self.get_order(symbol, client_id)
            if order is None:
                raise OrderNotFound(f"Bitget cancel {client_id} {symbol}: no such order") from None
            if not order.status.final:
                raise
        await self.get_order(symbol, client_id)  # count any fills made before the cancel

    async def _held(self, symbol: str) -> Decimal:
        return next((p.quantity for p in await self.positions() if p.symbol == symbol), D0)

    async def close_position(self, symbol: str, client_id: str) -> OrderAck | None:
        """Close what AiTrade holds in ``symbol`` (never more); its protections go only once it is gone.

        A close the venue refuses raises and leaves the protections in place:
        the position is never left bare by a failed close.
        """
        held = await self._held(symbol)
        if held == 0:
            await self._after_close(symbol)
            return None
        rules = await self.instrument(symbol)
        qty = rules.quantity(abs(held))
        if qty < rules.min_qty:
            log.warning(
                "Bitget %s: AiTrade holds %s, below the minimum order %s; left as dust", symbol, held, rules.min_qty
            )
            return None
        side = Side.SELL if held > 0 else Side.BUY
        ack = await self.place_order(OrderRequest(symbol, side, qty, client_id, reduce_only=self.CLOSE_REDUCE_ONLY))
        if await self._held(symbol) == 0:
            await self._after_close(symbol)
        return ack


def bitget_broker(
    http: BitgetHttp,
    inventory: OwnedInventory,
    *,
    market: str = "futures",
    name: str = "bitget",
    candles: CandleFn | None = None,
    margin_mode: str = "crossed",
    leverage: int = 1,
    receive_window_ms: int = 5_000,
    settle_margin_ms: int = 1_000,
) -> BitgetBroker:
    """The broker of one Bitget market: spot (``receive_window_ms``, ``settle_margin_ms``) or futures
    (``margin_mode``, ``leverage``); each takes only its own options."""
    if market == "spot":
        from aitrade.brokers.bitget.spot import BitgetSpotBroker  # noqa: PLC0415 (the subclasses import this module)

        return BitgetSpotBroker(
            http,
            inventory,
            name=name,
            candles=candles,
            receive_window_ms=receive_window_ms,
            settle_margin_ms=settle_margin_ms,
        )
    if market == "futures":
        from aitrade.brokers.bitget.futures import BitgetFuturesBroker  # noqa: PLC0415

        return BitgetFuturesBroker(
            http, inventory, name=name, candles=candles, margin_mode=margin_mode, leverage=leverage
        )
    raise ValueError(f"unknown Bitget market {market!r}; allowed: {', '.join(MARKETS)}")


__all__ = ["MARKETS", "BitgetBroker", "bitget_broker"]
