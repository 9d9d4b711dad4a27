"""Bitget v2 broker: spot (long only) or USDT-M futures (long and short) on one :class:`BitgetHttp`.

* Orders carry our client id as ``clientOid``. A placement whose outcome is
  unknown (timeout or 5xx after sending) or that Bitget calls a duplicate is
  looked up by clientOid first; only a confirmed "not found" is re-sent, with
  the same clientOid, so Bitget itself refuses a second order.
* Positions count only what AiTrade's own fills bought (:class:`OwnedInventory`):
  a coin balance or a futures position the bot did not open is not its position.
* Futures protections are Bitget TP/SL plan orders (``place-tpsl-order`` with
  ``loss_plan`` / ``profit_plan`` for exactly our size, v2 ``cancel-plan-order``).
  Spot has none here: Bitget's spot plan orders are independent sells (no OCO,
  no link to a position) that can outlive the position and sell coins AiTrade
  no longer holds, so spot reports ``native_protections=False`` and the runner
  protects spot positions synthetically.
* Futures run in one-way position mode: ``side`` is the trade direction and a
  closing order is ``reduceOnly``. Leverage is set once per symbol before the
  first order of a session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
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
    OrderType,
    Position,
    Protection,
    Side,
)
from aitrade.brokers.bitget.http import BitgetHttp
from aitrade.brokers.bitget.translate import dec, fee_detail, order_from_wire, rules_from_contract, rules_from_symbol
from aitrade.brokers.inventory import NettingGuard, OwnedInventory
from aitrade.brokers.reconcile import send_once
from aitrade.errors import DuplicateOrder, HaltError, OrderNotFound, ReconcileError, SkipError, UnknownSymbolError

log = logging.getLogger(__name__)
PRODUCT = "USDT-FUTURES"
MARGIN_COIN = "USDT"
MARKETS = ("futures", "spot")
PLAN = {"stop_loss": "loss_plan", "take_profit": "profit_plan"}
KIND = {v: k for k, v in PLAN.items()}
D0 = Decimal(0)
CandleFn = Callable[[str, str, pd.Timestamp, pd.Timestamp], Awaitable[pd.DataFrame]]


class BitgetBroker:
    """One Bitget market (``futures`` or ``spot``) as an AiTrade broker."""

    def __init__(
        self,
        http: BitgetHttp,
        inventory: OwnedInventory,
        *,
        market: str = "futures",
        margin_mode: str = "crossed",
        leverage: int = 1,
        name: str = "bitget",
        receive_window_ms: int = 5_000,
        settle_margin_ms: int = 1_000,
        candles: CandleFn | None = None,
    ) -> None:
        if market not in MARKETS:
            raise ValueError(f"unknown Bitget market {market!r}; allowed: {', '.join(MARKETS)}")
        if margin_mode not in ("crossed", "isolated"):
            raise ValueError(f"unknown Bitget margin mode {margin_mode!r}; allowed: crossed, isolated")
        self.http = http
        self.inventory = inventory
        self.market = market
        self.spot = market == "spot"
        self.margin_mode = margin_mode
        self.leverage = int(leverage)
        self.name = name
        self.capabilities = Capabilities(native_protections=not self.spot, shorting=not self.spot)
        self._rules: dict[str, InstrumentRules] = {}
        self._levered: set[str] = set()
        self._prices: dict[str, tuple[Decimal, float]] = {}
        self._candles = candles  # the market-data source the factory gives it (data layer), if any
        self.receive_window_ms = int(receive_window_ms)
        self.settle_margin_ms = int(settle_margin_ms)
        self.guard = NettingGuard(self._venue_positions, inventory)

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
        ours = sorted((r for r in rows if str(r.get("clientOid") or "").startswith(CLIENT_ID_PREFIX)),
                      key=lambda r: int(r.get("cTime") or 0))  # fmt: skip
        imported = 0
        for raw in ours:
            order = order_from_wire(raw, spot=self.spot)
            imported += self.inventory.claim(order.client_id, order.symbol, order.side, order.quantity)
            self._remember(order.client_id, raw)
            self._count(raw)
        self.inventory.mark_synced(f"rebuilt from Bitget {self.market} order history: {imported} orders")
        if imported:
            log.warning("Bitget %s: ownership ledger rebuilt from the venue's history: %d orders of ours", self.market,
                        imported)  # fmt: skip
        return imported

    async def _open_rows(self) -> list[dict[str, Any]]:
        if self.spot:
            return list(await self.http.call("GET", "/api/v2/spot/trade/unfilled-orders", what="Bitget open orders")
                        or [])  # fmt: skip
        data = await self.http.call("GET", "/api/v2/mix/order/orders-pending", params={"productType": PRODUCT},
                                    what="Bitget open orders")  # fmt: skip
        return list((data or {}).get("entrustedList") or [])

    async def _history(self, pages: int = 50) -> list[dict[str, Any]]:
        """The venue's order history (Bitget keeps 90 days), newest first, paged by ``idLessThan``."""
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": "100"}
        data: dict[str, Any] = {}
        for _ in range(pages):
            if self.spot:
                rows = await self.http.call("GET", "/api/v2/spot/trade/history-orders", params=params,
                                            what="Bitget spot order history") or []  # fmt: skip
            else:
                data = await self.http.call("GET", "/api/v2/mix/order/orders-history",
                                            params={"productType": PRODUCT, **params},
                                            what="Bitget futures order history") or {}  # fmt: skip
                rows = data.get("entrustedList") or []
            out.extend(rows)
            if len(rows) < 100:
                break
            # futures pages by the answer's endId (Get-History-Orders); spot by the last row's orderId
            params["idLessThan"] = str(rows[-1]["orderId"] if self.spot else data.get("endId") or rows[-1]["orderId"])
        return out

    async def close(self) -> None:
        """Close the ownership ledger; the HTTP session belongs to the caller."""
        self.inventory.close()

    # --- reference data ----------------------------------------------------------------------
    async def instrument(self, symbol: str) -> InstrumentRules:
        if symbol not in self._rules:
            if self.spot:
                rows = await self.http.call("GET", "/api/v2/spot/public/symbols", params={"symbol": symbol},
                                            what=f"Bitget spot symbol {symbol}", public=True)  # fmt: skip
            else:
                rows = await self.http.call("GET", "/api/v2/mix/market/contracts",
                                            params={"productType": PRODUCT, "symbol": symbol},
                                            what=f"Bitget contract {symbol}", public=True)  # fmt: skip
            row = next((r for r in rows or [] if r.get("symbol") == symbol), None)
            if row is None:
                raise UnknownSymbolError(f"Bitget {self.market} has no symbol {symbol!r}")
            self._rules[symbol] = rules_from_symbol(row) if self.spot else rules_from_contract(row)
        return self._rules[symbol]

    async def last_price(self, symbol: str) -> Decimal:
        if self.spot:
            rows = await self.http.call("GET", "/api/v2/spot/market/tickers", params={"symbol": symbol},
                                        what=f"Bitget ticker {symbol}", public=True)  # fmt: skip
        else:
            rows = await self.http.call("GET", "/api/v2/mix/market/ticker",
                                        params={"productType": PRODUCT, "symbol": symbol},
                                        what=f"Bitget ticker {symbol}", public=True)  # fmt: skip
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

    # --- account and positions ---------------------------------------------------------------
    async def _refresh_pending(self, only: str | None = None) -> None:
        """Count fills of our orders that may have filled since we last looked."""
        for cid, symbol in self.inventory.pending().items():
            if only is None or symbol == only:
                await self.get_order(symbol, cid)

    async def _venue_positions(self) -> dict[str, tuple[Decimal, Decimal | None]]:
        """Symbol -> (signed venue quantity, mark price if known)."""
        out: dict[str, tuple[Decimal, Decimal | None]] = {}
        if self.spot:
            for row in await self.http.call("GET", "/api/v2/spot/account/assets", what="Bitget spot assets") or []:
                coin = str(row.get("coin", "")).upper()
                if coin == MARGIN_COIN:
                    continue
                total = sum((dec(row.get(k), D0) or D0 for k in ("available", "frozen", "locked")), D0)
                out[coin + MARGIN_COIN] = (total, None)
            return out
        rows = await self.http.call("GET", "/api/v2/mix/position/all-position",
                                    params={"productType": PRODUCT, "marginCoin": MARGIN_COIN},
                                    what="Bitget positions")  # fmt: skip
        for row in rows or []:
            total = dec(row.get("total"), D0) or D0
            signed = total if row.get("holdSide") in ("long", "buy") else -total
            qty, _ = out.get(row["symbol"], (D0, None))
            out[row["symbol"]] = (qty + signed, dec(row.get("markPrice")))
        return out

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

    async def account(self) -> Account:
        if self.spot:
            rows = await self.http.call("GET", "/api/v2/spot/account/assets", params={"coin": MARGIN_COIN},
                                        what="Bitget spot assets")  # fmt: skip
            row: dict[str, Any] = next((r for r in rows or [] if str(r.get("coin", "")).upper() == MARGIN_COIN), {})
            cash = sum((dec(row.get(k), D0) or D0 for k in ("available", "frozen", "locked")), D0)
            held = await self.positions()
            value = sum(((p.last_price or D0) * p.quantity for p in held), D0)
            upnl = sum((p.unrealized_pnl or D0 for p in held), D0)
            return Account(self.name, MARGIN_COIN, cash + value, dec(row.get("available"), D0) or D0, upnl,
                           {"usdt_total": cash, "owned_coins_value": value})  # fmt: skip
        rows = await self.http.call("GET", "/api/v2/mix/account/accounts", params={"productType": PRODUCT},
                                    what="Bitget futures account")  # fmt: skip
        row = next((r for r in rows or [] if str(r.get("marginCoin", "")).upper() == MARGIN_COIN), {})
        equity = dec(row.get("usdtEquity")) or dec(row.get("accountEquity"), D0) or D0
        return Account(self.name, MARGIN_COIN, equity, dec(row.get("available"), D0) or D0,
                       dec(row.get("unrealizedPL"), D0) or D0,
                       {"locked": dec(row.get("locked"), D0) or D0})  # fmt: skip

    # --- orders ------------------------------------------------------------------------------
    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        params: dict[str, Any] = {} if symbol is None else {"symbol": symbol}
        if self.spot:
            rows = await self.http.call("GET", "/api/v2/spot/trade/unfilled-orders", params=params,
                                        what="Bitget open orders")  # fmt: skip
        else:
            data = await self.http.call("GET", "/api/v2/mix/order/orders-pending",
                                        params={"productType": PRODUCT, **params},
                                        what="Bitget open orders")  # fmt: skip
            rows = (data or {}).get("entrustedList") or []
        return [order_from_wire(r, spot=self.spot) for r in rows or []]

    async def get_order(self, symbol: str, client_id: str) -> Order | None:
        """The venue's view of one of our orders, its fills counted once.

        Spot: Get-Order-Info finds an order by ``clientOid`` only while it is
        unfilled, so it is asked by the ``orderId`` the ledger kept from the ack;
        without one (the ack was lost), by clientOid, then in the order history.
        """
        try:
            if self.spot:
                order_id = self.inventory.key_for(client_id)
                params = {"orderId": order_id} if order_id else {"clientOid": client_id}
                rows = await self.http.call("GET", "/api/v2/spot/trade/orderInfo", params=params,
                                            what=f"Bitget order {client_id}")  # fmt: skip
                raw = next((r for r in rows or [] if r.get("clientOid") == client_id), None)
                if raw is None:
                    raw = await self._spot_history_row(symbol, client_id)
            else:
                raw = await self.http.call("GET", "/api/v2/mix/order/detail",
                                           params={"productType": PRODUCT, "symbol": symbol, "clientOid": client_id},
                                           what=f"Bitget order {client_id}")  # fmt: skip
        except OrderNotFound:
            return None
        if not raw:
            return None
        return self._count(raw)

    async def _spot_history_row(self, symbol: str, client_id: str, pages: int = 3) -> dict[str, Any] | None:
        """A final spot order of ours from the order history (newest first), its orderId kept in the ledger."""
        params: dict[str, Any] = {"symbol": symbol, "limit": "100"}
        for _ in range(pages):
            rows = await self.http.call("GET", "/api/v2/spot/trade/history-orders", params=params,
                                        what=f"Bitget spot order history {symbol}") or []  # fmt: skip
            for row in rows:
                if row.get("clientOid") == client_id:
                    self._remember(client_id, row)
                    return dict(row)
            if len(rows) < 100:
                return None
            params["idLessThan"] = str(rows[-1]["orderId"])
        return None

    def _remember(self, client_id: str, raw: dict[str, Any]) -> None:
        """Keep the venue's orderId of one of our orders (spot lookups of filled orders need it)."""
        order_id = str(raw.get("orderId") or "")
        if order_id and self.inventory.key_for(client_id) != order_id and not self.inventory.read_only:
            self.inventory.remember_key(order_id, client_id)

    def _count(self, raw: dict[str, Any]) -> Order:
        """A wire order as a domain order, its fills counted in the ledger once (net of a coin fee on spot buys)."""
        order = order_from_wire(raw, spot=self.spot)
        fee_base = D0
        if self.spot and order.side is Side.BUY:
            fee, coin = fee_detail(raw.get("feeDetail"))
            fee_base = fee if coin and coin.upper() != MARGIN_COIN else D0
        self.inventory.apply(order.client_id, order.filled, order.avg_price, final=order.status.final,
                             fee_in_base=fee_base)  # fmt: skip
        return order

    async def _lookup(self, symbol: str, client_id: str) -> Order | None:
        """Find an order by clientOid: its detail, else the open orders, else the order history."""
        order = await self.get_order(symbol, client_id)
        if order is not None or not self.spot:
            return order
        for raw in await self._open_rows() + await self._history(pages=3):
            if raw.get("clientOid") == client_id:
                return self._count(raw)
        return None

    async def _ensure_leverage(self, symbol: str) -> None:
        if self.spot or symbol in self._levered:
            return
        await self.http.call("POST", "/api/v2/mix/account/set-leverage",
                             body={"symbol": symbol, "productType": PRODUCT, "marginCoin": MARGIN_COIN,
                                   "leverage": str(self.leverage)},
                             what=f"Bitget set leverage {symbol} x{self.leverage}")  # fmt: skip
        self._levered.add(symbol)

    async def _body(self, req: OrderRequest, rules: InstrumentRules) -> dict[str, Any]:
        """The place-order body of a normalised request (spot market buys sized in USDT)."""
        body: dict[str, Any] = {"symbol": req.symbol, "side": req.side.value, "orderType": req.order_type.value,
                                "clientOid": req.client_id}  # fmt: skip
        if req.order_type is OrderType.LIMIT:
            body["price"] = str(req.price)
            body["force"] = "gtc"
        if self.spot:
            if req.order_type is OrderType.MARKET and req.side is Side.BUY:
                last = await self.last_price(req.symbol)
                quote = (req.quantity * last).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
                body["size"] = str(quote.normalize())
            else:
                body["size"] = str(req.quantity)
            if req.order_type is OrderType.MARKET:
                body["force"] = "gtc"
            return body
        body.update(productType=PRODUCT, marginMode=self.margin_mode, marginCoin=MARGIN_COIN, size=str(req.quantity),
                    reduceOnly="YES" if req.reduce_only else "NO")  # fmt: skip
        return body

    async def _check(self, req: OrderRequest, rules: InstrumentRules) -> OrderRequest:
        """Normalise and check minimums (market orders against the last price) before anything is sent."""
        if req.price is not None:
            req = req.normalized(rules)
        else:
            qty = rules.quantity(req.quantity)
            last = await self._recent_price(req.symbol) if rules.min_notional > 0 else None
            rules.check(qty, last, what=f"{req.side.value} {req.symbol}")
            req = OrderRequest(req.symbol, req.side, qty, req.client_id, req.order_type, None, req.reduce_only)
        if self.spot and req.side is Side.SELL:
            held = self.inventory.quantity(req.symbol)
            if req.quantity > held:
                raise SkipError(f"Bitget spot is long only: sell {req.quantity} {req.symbol} but AiTrade holds {held}")
        return req

    async def place_order(self, request: OrderRequest) -> OrderAck:
        self.inventory.require_owner(self.name)
        if request.bracket is not None:
            raise HaltError("Bitget takes no attached protections (capabilities.brackets is false); nothing is sent")
        if not self.inventory.synced:
            raise HaltError(f"Bitget {self.market}: the ownership ledger has not been rebuilt from the venue yet "
                            "(connect first); nothing is sent")  # fmt: skip
        rules = await self.instrument(request.symbol)
        req = await self._check(request, rules)
        if not req.reduce_only:
            if not self.spot:
                await self.guard.check(req, self._refresh_pending, venue=f"Bitget {self.market}")
            await self._ensure_leverage(req.symbol)
        body = await self._body(req, rules)
        path = "/api/v2/spot/trade/place-order" if self.spot else "/api/v2/mix/order/place-order"
        what = f"Bitget {req.side.value} {req.quantity} {req.symbol}" + (f" @ {req.price}" if req.price else "")
        closing = req.reduce_only or (self.spot and req.side is Side.SELL)
        stamp = self.http.now_ms()
        if self.spot:
            body.update(requestTime=str(stamp), receiveWindow=str(self.receive_window_ms))
        fresh = self.inventory.claim(req.client_id, req.symbol, req.side, req.quantity, reduce=closing,
                                     deadline_ms=stamp + self.receive_window_ms if self.spot else 0)  # fmt: skip

        async def send() -> OrderAck:
            data = await self.http.call("POST", path, body=body, what=what, idempotent=False)
            self._remember(req.client_id, data or {})
            return OrderAck(req.client_id, str((data or {}).get("orderId") or ""), OrderStatus.NEW)

        async def restamp() -> None:
            """Spot only: wait out the last send's acceptance window, then own the next send (compare-and-set)."""
            seen = self.inventory.deadline(req.client_id)
            wait_ms = seen + self.settle_margin_ms - self.http.now_ms()
            if wait_ms > 0:
                log.warning("%s: outcome unknown; waiting %.1f s until Bitget can no longer accept it", what,
                            wait_ms / 1000)  # fmt: skip
                await asyncio.sleep(wait_ms / 1000)
            new = self.http.now_ms()
            if not self.inventory.swap_deadline(req.client_id, seen, new + self.receive_window_ms):
                raise ReconcileError(f"{what}: another process is re-sending {req.client_id}; look it up later")
            body.update(requestTime=str(new))

        return await send_once(send, lambda: self._lookup(req.symbol, req.client_id), client_id=req.client_id,
                               known=not fresh, what=what, key="clientOid",
                               settle=restamp if self.spot else None)  # fmt: skip

    async def cancel_order(self, symbol: str, client_id: str) -> None:
        self.inventory.require_owner(self.name)
        path = "/api/v2/spot/trade/cancel-order" if self.spot else "/api/v2/mix/order/cancel-order"
        body: dict[str, Any] = {"symbol": symbol, "clientOid": client_id}
        if not self.spot:
            body.update(productType=PRODUCT, marginCoin=MARGIN_COIN)
        try:
            await self.http.call("POST", path, body=body, what=f"Bitget cancel {client_id} {symbol}", idempotent=False)
        except (OrderNotFound, ReconcileError):
            order = await self.get_order(symbol, client_id)
            if order is None:
                raise OrderNotFound(f"Bitget cancel {client_id} {symbol}: no such order") from None
            if not order.status.final:
                raise
        await self.get_order(symbol, client_id)  # count any fills made before the cancel

    # --- protections -------------------------------------------------------------------------
    def _no_native(self) -> SkipError:
        return SkipError("Bitget spot has no native protections here (plan orders are not linked to a position); "
                         "protect spot positions synthetically")  # fmt: skip

    async def place_protection(self, protection: Protection) -> Protection:
        self.inventory.require_owner(self.name)
        if self.spot:
            raise self._no_native()
        if protection.kind not in PLAN:
            raise ValueError(f"unknown protection kind {protection.kind!r}; allowed: {', '.join(PLAN)}")
        rules = await self.instrument(protection.symbol)
        await self._refresh_pending(protection.symbol)
        held = self.inventory.quantity(protection.symbol)
        if held == 0:
            raise SkipError(f"Bitget {protection.kind} {protection.symbol}: AiTrade holds no position to protect")
        qty = rules.quantity(min(protection.quantity, abs(held)))
        rules.check(qty, None, what=f"{protection.kind} {protection.symbol}")
        body = {
            "marginCoin": MARGIN_COIN, "productType": PRODUCT, "symbol": protection.symbol,
            "planType": PLAN[protection.kind], "triggerPrice": str(rules.price(protection.trigger)),
            "triggerType": "mark_price", "holdSide": "buy" if held > 0 else "sell", "size": str(qty),
            "clientOid": protection.client_id,
        }  # fmt: skip
        what = f"Bitget {protection.kind} {protection.symbol} {qty} @ {body['triggerPrice']}"
        try:
            data = await self.http.call("POST", "/api/v2/mix/order/place-tpsl-order", body=body, what=what,
                                        idempotent=False)  # fmt: skip
            venue_id = str((data or {}).get("orderId") or "")
        except (ReconcileError, DuplicateOrder):
            found = [p for p in await self.protections(protection.symbol) if p.client_id == protection.client_id]
            if not found:
                raise
            venue_id = found[0].venue_id
        return Protection(protection.symbol, protection.kind, rules.price(protection.trigger), qty,
                          protection.client_id, venue_id)  # fmt: skip

    async def cancel_protection(self, protection: Protection) -> None:
        self.inventory.require_owner(self.name)
        if self.spot:
            raise self._no_native()
        ref = {"orderId": protection.venue_id} if protection.venue_id else {"clientOid": protection.client_id}
        body = {"productType": PRODUCT, "symbol": protection.symbol, "marginCoin": MARGIN_COIN,
                "planType": PLAN[protection.kind], "orderIdList": [ref]}  # fmt: skip
        what = f"Bitget cancel {protection.kind} {protection.symbol} {protection.client_id}"
        try:
            data = await self.http.call("POST", "/api/v2/mix/order/cancel-plan-order", body=body, what=what,
                                        idempotent=False)  # fmt: skip
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
        if self.spot:
            return []
        params: dict[str, Any] = {"productType": PRODUCT, "planType": "profit_loss"}
        if symbol:
            params["symbol"] = symbol
        data = await self.http.call("GET", "/api/v2/mix/order/orders-plan-pending", params=params,
                                    what="Bitget TP/SL orders")  # fmt: skip
        out = []
        for row in (data or {}).get("entrustedList") or []:
            kind = KIND.get(str(row.get("planType")))
            if kind is None or row.get("planStatus", "live") != "live":
                continue
            out.append(Protection(row["symbol"], kind, dec(row.get("triggerPrice"), D0) or D0,
                                  dec(row.get("size"), D0) or D0, str(row.get("clientOid") or ""),
                                  str(row.get("orderId") or "")))  # fmt: skip
        return out

    async def protection_fill(self, protection: Protection) -> Order | None:
        """A fired TP/SL plan's own order: plan history (``executeOrderId``), then that order's detail."""
        if self.spot:
            return None
        ref = {"orderId": protection.venue_id} if protection.venue_id else {"clientOid": protection.client_id}
        data = await self.http.call("GET", "/api/v2/mix/order/orders-plan-history",
                                    params={"productType": PRODUCT, "planType": "profit_loss",
                                            "symbol": protection.symbol, **ref},
                                    what=f"Bitget TP/SL history {protection.client_id}")  # fmt: skip
        rows = (data or {}).get("entrustedList") or []
        ours = (protection.client_id, protection.venue_id)
        plan = next(
            (r for r in rows if r.get("clientOid") == ours[0] or (ours[1] and r.get("orderId") == ours[1])), None
        )
        executed = str((plan or {}).get("executeOrderId") or "")
        if plan is None or plan.get("planStatus") != "executed" or not executed:
            return None
        try:
            raw = await self.http.call("GET", "/api/v2/mix/order/detail",
                                       params={"productType": PRODUCT, "symbol": protection.symbol,
                                               "orderId": executed},
                                       what=f"Bitget order {executed} of {protection.client_id}")  # fmt: skip
        except OrderNotFound:
            return None
        order = order_from_wire(raw or {}, spot=False) if raw else None
        if order is None or order.status is not OrderStatus.FILLED or not order.avg_price:
            return None
        return replace(order, client_id=protection.client_id)

    async def close_position(self, symbol: str, client_id: str) -> OrderAck | None:
        """Cancel our protections on ``symbol``, then close what AiTrade holds there (never more)."""
        held = next((p.quantity for p in await self.positions() if p.symbol == symbol), D0)
        if not self.spot:
            for p in await self.protections(symbol):
                if p.client_id.startswith(CLIENT_ID_PREFIX):
                    await self.cancel_protection(p)
        if held == 0:
            return None
        rules = await self.instrument(symbol)
        qty = rules.quantity(abs(held))
        if qty < rules.min_qty:
            log.warning("Bitget %s: AiTrade holds %s, below the minimum order %s; left as dust", symbol, held,
                        rules.min_qty)  # fmt: skip
            return None
        side = Side.SELL if held > 0 else Side.BUY
        return await self.place_order(OrderRequest(symbol, side, qty, client_id, reduce_only=not self.spot))
