"""Bitget USDT-M futures: long and short in one-way position mode, native TP/SL plan orders.

* ``side`` is the trade direction and a closing order is ``reduceOnly``.
  Leverage is set once per symbol before the first order of a session.
* Protections are TP/SL plan orders (``place-tpsl-order`` with ``loss_plan`` /
  ``profit_plan`` for exactly our size, ``cancel-plan-order``). A plan that
  fires becomes an order of the venue's own: its fill is read through the plan
  history's ``executeOrderId``, never assumed at the trigger.
* An order adding to a position is refused when the venue holds a position in
  the symbol AiTrade did not open (one-way mode would net them).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from aitrade.brokers.base import (
    CLIENT_ID_PREFIX,
    Account,
    Capabilities,
    InstrumentRules,
    Order,
    OrderRequest,
    OrderStatus,
    Protection,
    ProtectionKind,
    Side,
)
from aitrade.brokers.bitget import endpoints as ep
from aitrade.brokers.bitget.broker import D0, BitgetBroker, CandleFn
from aitrade.brokers.bitget.endpoints import MARGIN_COIN, PRODUCT
from aitrade.brokers.bitget.http import BitgetHttp
from aitrade.brokers.bitget.requests import MARGIN_MODES, CancelPlan, PlaceOrder, PlaceTpsl
from aitrade.brokers.bitget.translate import dec, futures_order, rules_from_contract
from aitrade.brokers.inventory import OwnedInventory
from aitrade.errors import DuplicateOrder, OrderNotFound, ReconcileError, SkipError

PLAN = {ProtectionKind.STOP_LOSS: "loss_plan", ProtectionKind.TAKE_PROFIT: "profit_plan"}
KIND = {v: k for k, v in PLAN.items()}


class BitgetFuturesBroker(BitgetBroker):
    """Bitget USDT-M perpetual futures as an AiTrade broker."""

    market = "futures"
    capabilities = Capabilities(native_protections=True, shorting=True)
    PLACE, CANCEL, TICKER = ep.MIX_PLACE, ep.MIX_CANCEL, ep.MIX_TICKER
    CLOSE_REDUCE_ONLY = True

    def __init__(
        self,
        http: BitgetHttp,
        inventory: OwnedInventory,
        *,
        name: str = "bitget",
        margin_mode: str = "crossed",
        leverage: int = 1,
        candles: CandleFn | None = None,
    ) -> None:
        if margin_mode not in MARGIN_MODES:
            raise ValueError(f"unknown Bitget margin mode {margin_mode!r}; allowed: {', '.join(MARGIN_MODES)}")
        super().__init__(http, inventory, name=name, candles=candles)
        self.margin_mode = margin_mode
        self.leverage = int(leverage)
        self._levered: set[str] = set()

    def _parse(self, raw: dict[str, Any]) -> Order:
        return futures_order(raw)

    # --- reference data and account -------------------------------------------------------------
    async def _fetch_rules(self, symbol: str) -> InstrumentRules | None:
        rows = await self.http.call(
            ep.MIX_CONTRACTS, params={"productType": PRODUCT, "symbol": symbol}, what=f"Bitget contract {symbol}"
        )
        row = next((r for r in rows or [] if r.get("symbol") == symbol), None)
        return None if row is None else rules_from_contract(row)

    def _ticker_params(self, symbol: str) -> dict[str, str]:
        return {"productType": PRODUCT, "symbol": symbol}

    async def _venue_positions(self) -> dict[str, tuple[Decimal, Decimal | None]]:
        out: dict[str, tuple[Decimal, Decimal | None]] = {}
        rows = await self.http.call(
            ep.MIX_POSITIONS, params={"productType": PRODUCT, "marginCoin": MARGIN_COIN}, what="Bitget positions"
        )
        for row in rows or []:
            total = dec(row.get("total"), D0) or D0
            signed = total if row.get("holdSide") in ("long", "buy") else -total
            qty, _ = out.get(row["symbol"], (D0, None))
            out[row["symbol"]] = (qty + signed, dec(row.get("markPrice")))
        return out

    async def account(self) -> Account:
        rows = await self.http.call(ep.MIX_ACCOUNTS, params={"productType": PRODUCT}, what="Bitget futures account")
        row: dict[str, Any] = next((r for r in rows or [] if str(r.get("marginCoin", "")).upper() == MARGIN_COIN), {})
        equity = dec(row.get("usdtEquity")) or dec(row.get("accountEquity"), D0) or D0
        return Account(
            self.name,
            MARGIN_COIN,
            equity,
            dec(row.get("available"), D0) or D0,
            dec(row.get("unrealizedPL"), D0) or D0,
            {"locked": dec(row.get("locked"), D0) or D0},
        )

    # --- orders --------------------------------------------------------------------------------
    async def _open_rows(self, symbol: str | None = None) -> list[dict[str, Any]]:
        params = {"productType": PRODUCT} | ({"symbol": symbol} if symbol else {})
        data = await self.http.call(ep.MIX_PENDING, params=params, what="Bitget open orders")
        return list((data or {}).get("entrustedList") or [])

    async def _history_page(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """Get-History-Orders pages by the answer's ``endId``."""
        data = (
            await self.http.call(
                ep.MIX_HISTORY, params={"productType": PRODUCT, **params}, what="Bitget futures order history"
            )
            or {}
        )
        rows = list(data.get("entrustedList") or [])
        return rows, str(data.get("endId") or (rows[-1]["orderId"] if rows else ""))

    async def get_order(self, symbol: str, client_id: str) -> Order | None:
        try:
            raw = await self.http.call(
                ep.MIX_DETAIL,
                params={"productType": PRODUCT, "symbol": symbol, "clientOid": client_id},
                what=f"Bitget order {client_id}",
            )
        except OrderNotFound:
            return None
        return self._count(raw) if raw else None

    async def _before_send(self, req: OrderRequest) -> None:
        await self.guard.check(req, self._refresh_pending, venue="Bitget futures")
        if req.symbol not in self._levered:
            await self.http.call(
                ep.MIX_SET_LEVERAGE,
                body={
                    "symbol": req.symbol,
                    "productType": PRODUCT,
                    "marginCoin": MARGIN_COIN,
                    "leverage": str(self.leverage),
                },
                what=f"Bitget set leverage {req.symbol} x{self.leverage}",
            )
            self._levered.add(req.symbol)

    async def _order_request(self, req: OrderRequest, rules: InstrumentRules, stamp_ms: int) -> PlaceOrder:
        return PlaceOrder(
            "futures",
            rules,
            req.side,
            req.order_type,
            req.quantity,
            req.client_id,
            req.price,
            reduce_only=req.reduce_only,
            margin_mode=self.margin_mode,
        )

    # --- protections: TP/SL plan orders ----------------------------------------------------------
    async def place_protection(self, protection: Protection) -> Protection:
        self.inventory.require_owner(self.name)
        if protection.kind not in PLAN:
            raise ValueError(f"unknown protection kind {protection.kind!r}; allowed: {', '.join(PLAN)}")
        rules = await self.instrument(protection.symbol)
        await self._refresh_pending(protection.symbol)
        held = self.inventory.quantity(protection.symbol)
        if held == 0:
            raise SkipError(f"Bitget {protection.kind} {protection.symbol}: AiTrade holds no position to protect")
        qty = rules.quantity(min(protection.quantity, abs(held)))
        rules.check(qty, None, what=f"{protection.kind} {protection.symbol}")
        trigger = rules.price(protection.trigger)
        request = PlaceTpsl(
            rules, PLAN[protection.kind], trigger, Side.BUY if held > 0 else Side.SELL, qty, protection.client_id
        )
        what = f"Bitget {protection.kind} {protection.symbol} {qty} @ {trigger}"
        try:
            data = await self.http.call(ep.MIX_PLACE_TPSL, body=request.wire(), what=what)
            venue_id = str((data or {}).get("orderId") or "")
        except (ReconcileError, DuplicateOrder):
            found = [p for p in await self.protections(protection.symbol) if p.client_id == protection.client_id]
            if not found:
                raise
            venue_id = found[0].venue_id
        return Protection(protection.symbol, protection.kind, trigger, qty, protection.client_id, venue_id)

    async def cancel_protection(self, protection: Protection) -> None:
        self.inventory.require_owner(self.name)
        request = CancelPlan(protection.symbol, PLAN[protection.kind], protection.venue_id, protection.client_id)
        what = f"Bitget cancel {protection.kind} {protection.symbol} {protection.client_id}"
        try:
            data = await self.http.call(ep.MIX_CANCEL_PLAN, body=request.wire(), what=what)
        except OrderNotFound:
            return  # fired or already cancelled: nothing is left to cancel
        except ReconcileError:
            if any(p.client_id == protection.client_id for p in await self.protections(protection.symbol)):
                raise
            return
        failed = (data or {}).get("failureList") or []
        if failed and any(p.client_id == protection.client_id for p in await self.protections(protection.symbol)):
            raise SkipError(f"{what}: {failed[0].get('errorMsg') or failed[0]}")

    async def protections(self, symbol: str | None = None) -> list[Protection]:
        params: dict[str, Any] = {"productType": PRODUCT, "planType": "profit_loss"}
        if symbol:
            params["symbol"] = symbol
        data = await self.http.call(ep.MIX_PLAN_PENDING, params=params, what="Bitget TP/SL orders")
        out = []
        for row in (data or {}).get("entrustedList") or []:
            kind = KIND.get(str(row.get("planType")))
            if kind is None or row.get("planStatus", "live") != "live":
                continue
            out.append(
                Protection(
                    row["symbol"],
                    kind,
                    dec(row.get("triggerPrice"), D0) or D0,
                    dec(row.get("size"), D0) or D0,
                    str(row.get("clientOid") or ""),
                    str(row.get("orderId") or ""),
                )
            )
        return out

    async def protection_fill(self, protection: Protection) -> Order | None:
        """A fired TP/SL plan's own order: plan history (``executeOrderId``), then that order's detail."""
        ref = {"orderId": protection.venue_id} if protection.venue_id else {"clientOid": protection.client_id}
        params = {"productType": PRODUCT, "planType": "profit_loss", "symbol": protection.symbol, **ref}
        data = await self.http.call(
            ep.MIX_PLAN_HISTORY, params=params, what=f"Bitget TP/SL history {protection.client_id}"
        )
        rows = (data or {}).get("entrustedList") or []
        ours = (protection.client_id, protection.venue_id)
        plan = next(
            (r for r in rows if r.get("clientOid") == ours[0] or (ours[1] and r.get("orderId") == ours[1])), None
        )
        executed = str((plan or {}).get("executeOrderId") or "")
        if plan is None or plan.get("planStatus") != "executed" or not executed:
            return None
        try:
            raw = await self.http.call(
                ep.MIX_DETAIL,
                params={"productType": PRODUCT, "symbol": protection.symbol, "orderId": executed},
                what=f"Bitget order {executed} of {protection.client_id}",
            )
        except OrderNotFound:
            return None
        order = futures_order(raw) if raw else None
        if order is None or order.status is not OrderStatus.FILLED or not order.avg_price:
            return None
        return replace(order, client_id=protection.client_id)

    async def _after_close(self, symbol: str) -> None:
        """Cancel what is left of our TP/SL plans once the position is gone (Bitget drops them with it, as a rule)."""
        for p in await self.protections(symbol):
            if p.client_id.startswith(CLIENT_ID_PREFIX):
                await self.cancel_protection(p)
