"""Bitget spot: long only, protected synthetically, orders looked up by the orderId kept from the ack.

* Get-Order-Info finds an order by ``clientOid`` only while it is unfilled, so
  a filled order is read by its ``orderId`` (kept in the ownership ledger from
  the ack), else found in the order history.
* A market buy is sized in the quote coin (the place-order page); the bought
  base quantity is the order's ``baseVolume``, less a fee taken in the coin.
* No native protections: Bitget's spot plan orders are independent sells (no
  OCO, no link to a position) that can outlive the position and sell coins
  AiTrade no longer holds, so the runner protects spot positions synthetically.
* A spot clientOid may be accepted again once its first order is final, so a
  re-send waits until the first send's ``requestTime + receiveWindow`` has
  passed (:func:`aitrade.brokers.reconcile.send_once` with ``settle``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aitrade.brokers.base import (
    Account,
    Capabilities,
    InstrumentRules,
    Order,
    OrderRequest,
    OrderType,
    Protection,
    Side,
)
from aitrade.brokers.bitget import endpoints as ep
from aitrade.brokers.bitget.broker import D0, BitgetBroker, CandleFn
from aitrade.brokers.bitget.endpoints import MARGIN_COIN
from aitrade.brokers.bitget.http import BitgetHttp
from aitrade.brokers.bitget.requests import PlaceOrder
from aitrade.brokers.bitget.translate import dec, fee_detail, rules_from_symbol, spot_order
from aitrade.brokers.inventory import OwnedInventory
from aitrade.errors import OrderNotFound, ReconcileError, SkipError

log = logging.getLogger(__name__)
QUOTE_STEP = Decimal("0.000001")


class BitgetSpotBroker(BitgetBroker):
    """Bitget spot (USDT pairs) as an AiTrade broker."""

    market = "spot"
    capabilities = Capabilities(native_protections=False, shorting=False)
    PLACE, CANCEL, TICKER = ep.SPOT_PLACE, ep.SPOT_CANCEL, ep.SPOT_TICKERS
    CLOSE_REDUCE_ONLY = False

    def __init__(
        self,
        http: BitgetHttp,
        inventory: OwnedInventory,
        *,
        name: str = "bitget",
        receive_window_ms: int = 5_000,
        settle_margin_ms: int = 1_000,
        candles: CandleFn | None = None,
    ) -> None:
        super().__init__(http, inventory, name=name, candles=candles)
        self.receive_window_ms = int(receive_window_ms)
        self.settle_margin_ms = int(settle_margin_ms)

    def _parse(self, raw: dict[str, Any]) -> Order:
        return spot_order(raw)

    # --- reference data and account -------------------------------------------------------------
    async def _fetch_rules(self, symbol: str) -> InstrumentRules | None:
        rows = await self.http.call(ep.SPOT_SYMBOLS, params={"symbol": symbol}, what=f"Bitget spot symbol {symbol}")
        row = next((r for r in rows or [] if r.get("symbol") == symbol), None)
        return None if row is None else rules_from_symbol(row)

    def _ticker_params(self, symbol: str) -> dict[str, str]:
        return {"symbol": symbol}

    async def _venue_positions(self) -> dict[str, tuple[Decimal, Decimal | None]]:
        out: dict[str, tuple[Decimal, Decimal | None]] = {}
        for row in await self.http.call(ep.SPOT_ASSETS, what="Bitget spot assets") or []:
            coin = str(row.get("coin", "")).upper()
            if coin == MARGIN_COIN:
                continue
            total = sum((dec(row.get(k), D0) or D0 for k in ("available", "frozen", "locked")), D0)
            out[coin + MARGIN_COIN] = (total, None)
        return out

    async def account(self) -> Account:
        rows = await self.http.call(ep.SPOT_ASSETS, params={"coin": MARGIN_COIN}, what="Bitget spot assets")
        row: dict[str, Any] = next((r for r in rows or [] if str(r.get("coin", "")).upper() == MARGIN_COIN), {})
        cash = sum((dec(row.get(k), D0) or D0 for k in ("available", "frozen", "locked")), D0)
        held = await self.positions()
        value = sum(((p.last_price or D0) * p.quantity for p in held), D0)
        upnl = sum((p.unrealized_pnl or D0 for p in held), D0)
        return Account(
            self.name,
            MARGIN_COIN,
            cash + value,
            dec(row.get("available"), D0) or D0,
            upnl,
            {"usdt_total": cash, "owned_coins_value": value},
        )

    # --- orders --------------------------------------------------------------------------------
    async def _open_rows(self, symbol: str | None = None) -> list[dict[str, Any]]:
        params = {"symbol": symbol} if symbol else None
        return list(await self.http.call(ep.SPOT_UNFILLED, params=params, what="Bitget open orders") or [])

    async def _history_page(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        rows = list(await self.http.call(ep.SPOT_HISTORY, params=params, what="Bitget spot order history") or [])
        return rows, str(rows[-1]["orderId"]) if rows else ""

    async def get_order(self, symbol: str, client_id: str) -> Order | None:
        """By the orderId kept from the ack; without one by clientOid (unfilled only), then in the history."""
        try:
            order_id = self.inventory.key_for(client_id)
            params = {"orderId": order_id} if order_id else {"clientOid": client_id}
            rows = await self.http.call(ep.SPOT_ORDER_INFO, params=params, what=f"Bitget order {client_id}")
            raw = next((r for r in rows or [] if r.get("clientOid") == client_id), None)
            if raw is None:
                raw = await self._history_row(symbol, client_id)
        except OrderNotFound:
            return None
        return None if raw is None else self._count(raw)

    async def _history_row(self, symbol: str, client_id: str, pages: int = 3) -> dict[str, Any] | None:
        """A final order of ours from the order history, its orderId kept in the ledger for next time."""
        for row in await self._history(pages=pages, symbol=symbol):
            if row.get("clientOid") == client_id:
                self._remember(client_id, row)
                return dict(row)
        return None

    def _count(self, raw: dict[str, Any]) -> Order:
        """Fills counted net of a fee taken in the bought coin (we never hold that part)."""
        order = spot_order(raw)
        fee_base = D0
        if order.side is Side.BUY:
            fee, coin = fee_detail(raw.get("feeDetail"))
            fee_base = fee if coin and coin.upper() != MARGIN_COIN else D0
        self.inventory.apply(
            order.client_id, order.filled, order.avg_price, final=order.status.final, fee_in_base=fee_base
        )
        return order

    def _closing(self, req: OrderRequest) -> bool:
        return req.side is Side.SELL  # selling coins AiTrade bought

    async def _normalized(self, req: OrderRequest, rules: InstrumentRules) -> OrderRequest:
        req = await super()._normalized(req, rules)
        held = self.inventory.quantity(req.symbol)
        if req.side is Side.SELL and req.quantity > held:
            raise SkipError(f"Bitget spot is long only: sell {req.quantity} {req.symbol} but AiTrade holds {held}")
        return req

    async def _order_request(self, req: OrderRequest, rules: InstrumentRules, stamp_ms: int) -> PlaceOrder:
        quote = req.order_type is OrderType.MARKET and req.side is Side.BUY
        size = req.quantity
        if quote:  # the page: a market buy's size is the quote amount
            size = (req.quantity * await self.last_price(req.symbol)).quantize(QUOTE_STEP, rounding=ROUND_HALF_UP)
        return PlaceOrder(
            "spot",
            rules,
            req.side,
            req.order_type,
            size,
            req.client_id,
            req.price,
            quote_sized=quote,
            request_time_ms=stamp_ms,
            receive_window_ms=self.receive_window_ms,
        )

    def _settle(self, req: OrderRequest, body: dict[str, Any], what: str) -> Callable[[], Awaitable[None]]:
        async def restamp() -> None:
            """Wait out the last send's acceptance window, then own the next send (compare-and-set)."""
            seen = self.inventory.deadline(req.client_id)
            wait_ms = seen + self.settle_margin_ms - self.http.now_ms()
            if wait_ms > 0:
                log.warning(
                    "%s: outcome unknown; waiting %.1f s until Bitget can no longer accept it", what, wait_ms / 1000
                )
                await asyncio.sleep(wait_ms / 1000)
            new = self.http.now_ms()
            if not self.inventory.swap_deadline(req.client_id, seen, new + self.receive_window_ms):
                raise ReconcileError(f"{what}: another process is re-sending {req.client_id}; look it up later")
            body.update(requestTime=str(new))

        return restamp

    # --- protections: none at the venue ----------------------------------------------------------
    def _no_native(self) -> SkipError:
        return SkipError(
            "Bitget spot has no native protections here (plan orders are not linked to a position); "
            "protect spot positions synthetically"
        )

    async def place_protection(self, protection: Protection) -> Protection:
        self.inventory.require_owner(self.name)
        raise self._no_native()

    async def cancel_protection(self, protection: Protection) -> None:
        self.inventory.require_owner(self.name)
        raise self._no_native()

    async def protections(self, symbol: str | None = None) -> list[Protection]:
        return []

    async def protection_fill(self, protection: Protection) -> Order | None:
        return None
