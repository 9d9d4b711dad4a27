"""T-Invest (T-Bank) broker over the REST gateway: orders, stop orders, portfolio.

* Sandbox by default (the base URL comes from settings). The account is
  TINKOFF_ACCOUNT_ID when set (it must exist and allow trading), otherwise the
  first open account with full access; an empty sandbox gets one opened.
* Quantities on the wire are lots, ours are shares; prices are per share.
* ``orderId`` in PostOrder is a UUID derived from our client id, so a re-send
  is the same order to T-Invest. A placement whose outcome is unknown is
  looked up with GetOrderState by that request id before anything is re-sent;
  the duplicate answer (30057) is resolved the same way.
* Native protections are stop orders: StopOrdersService in production,
  SandboxService's PostSandboxStopOrder family in the sandbox (the normal stop
  service is not available there). Weekend dealer sessions refuse stop orders.
* Positions count only what AiTrade's own fills bought (:class:`OwnedInventory`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
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
    ProtectionKind,
    Side,
)
from aitrade.brokers.ids import is_our_tinvest_key, tinvest_legacy_order_id, tinvest_order_id
from aitrade.brokers.inventory import NettingGuard, OwnedInventory
from aitrade.brokers.reconcile import send_once
from aitrade.brokers.tinkoff import history
from aitrade.brokers.tinkoff.http import TinvestRest
from aitrade.brokers.tinkoff.instruments import TinvestInstruments
from aitrade.brokers.tinkoff.requests import PostOrder
from aitrade.brokers.tinkoff.translate import (
    account_from_portfolio,
    operation_price,
    order_from_state,
    p3,
    positions_from_portfolio,
    post_stop_body,
    rfc3339,
    rules_from_instrument,
)
from aitrade.errors import (
    ConfigError,
    DuplicateOrder,
    HaltError,
    OrderNotFound,
    ReconcileError,
    SkipError,
    UnknownSymbolError,
)
from aitrade.money import quotation_to_decimal

log = logging.getLogger(__name__)
D0 = Decimal(0)
FULL_ACCESS = "ACCOUNT_ACCESS_LEVEL_FULL_ACCESS"
STOP_KIND = {
    "STOP_ORDER_TYPE_STOP_LOSS": ProtectionKind.STOP_LOSS,
    "STOP_ORDER_TYPE_TAKE_PROFIT": ProtectionKind.TAKE_PROFIT,
}
CandleFn = Callable[[str, str, pd.Timestamp, pd.Timestamp], Awaitable[pd.DataFrame]]


class TinkoffBroker:
    """MOEX shares (and CETS currencies) through T-Invest."""

    def __init__(
        self,
        rest: TinvestRest,
        instruments: TinvestInstruments,
        inventory: OwnedInventory,
        *,
        sandbox: bool = True,
        account_id: str = "",
        name: str = "tinkoff",
        candles: CandleFn | None = None,
        rebuild_days: int = 90,
    ) -> None:
        self.rest = rest
        self.instruments = instruments
        self.inventory = inventory
        self.sandbox = sandbox
        self.account_id = account_id
        self.name = name
        self.capabilities = Capabilities(native_protections=True, shorting=True)
        self._uid: dict[str, str] = {}  # symbol -> instrument uid
        self._facts: dict[str, dict[str, Any]] = {}
        self._candles = candles  # the market-data source the factory gives it (data layer), if any
        self.guard = NettingGuard(self._venue_positions, inventory)
        self.rebuild_days = int(rebuild_days)  # how far back a lost ledger is rebuilt from the operations

    async def _call(self, service: str, method: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        return await self.rest.call(service, method, body, what=what, trading=True)

    # --- session -----------------------------------------------------------------------------
    async def connect(self) -> None:
        """Pick the account, then (trading) take the account lock; a read-only broker opens no account."""
        await self._pick_account()
        env = "sandbox" if self.sandbox else "live"
        await self.inventory.open_for_trading(f"{self.name} {env} {self.account_id}", self.rebuild)

    async def rebuild(self) -> int:
        """Rebuild ownership from the venue: our active orders, then our executed orders in the account's operations.

        An order is ours when its request id carries AiTrade's marker
        (:func:`aitrade.brokers.ids.is_our_tinvest_key`). Active orders come
        from GetOrders; older fills from ``OperationsService/GetOperationsByCursor``
        over ``rebuild_days``, each operation's order (its ``id`` is the
        exchange order id) read with GetOrderState for its request id. An
        operation whose order T-Invest no longer returns cannot be proven ours
        and is left to the user (counted and logged). Returns the orders imported.
        """
        active = await self._call("OrdersService", "GetOrders", {"accountId": self._account()}, "T-Invest orders")
        imported = 0
        for state in p3(active, "orders", []):
            imported += await self._import(state)
        found, unresolved = await history.executed_orders(self, days=self.rebuild_days)
        for state in found:
            imported += await self._import(state)
        note = f"T-Invest rebuilt from active orders and {self.rebuild_days} days of operations: {imported} orders"
        if unresolved:
            note += f"; {unresolved} executed orders no longer readable (not claimed)"
            log.warning("%s", note)
        self.inventory.mark_synced(note)
        return imported

    async def _import(self, state: dict[str, Any]) -> int:
        """Claim one order state of ours the ledger does not know, and count its fills; 1 if imported."""
        key = str(p3(state, "orderRequestId", ""))
        if not is_our_tinvest_key(key) or self.inventory.client_for(key):
            return 0
        sym = await self._symbol_of(state)
        if not sym:
            return 0
        rules = await self.instrument(sym)
        cid = f"{CLIENT_ID_PREFIX}-tinvest-{key}"
        order = await self._priced(order_from_state(state, cid, sym, rules))
        if not self.inventory.claim(cid, sym, order.side, order.quantity, key=key):
            return 0
        self.inventory.apply(cid, order.filled, order.avg_price, final=order.status.final)
        return 1

    async def _symbol_of(self, message: dict[str, Any]) -> str | None:
        """Our ticker of a message's ``instrumentUid`` (order states, stop orders and operations carry no ticker)."""
        uid = str(p3(message, "instrumentUid", ""))
        by_uid = {u: sym for sym, u in self._uid.items()}
        if uid in by_uid:
            return by_uid[uid]
        ticker = await self.instruments.ticker_of_uid(uid) if uid else None
        if ticker:
            await self._inst(ticker)
        return ticker

    async def _pick_account(self) -> None:
        """The configured account (checked) or the first open one with full access."""
        answer = await self._call("UsersService", "GetAccounts", {}, "T-Invest accounts")
        # proto3 JSON omits defaults: an absent status or access level is UNSPECIFIED, never OPEN or FULL_ACCESS
        accounts = [a for a in p3(answer, "accounts", []) if p3(a, "status", "") == "ACCOUNT_STATUS_OPEN"]
        if self.account_id:
            match = [a for a in accounts if a.get("id") == self.account_id]
            if not match:
                raise ConfigError(f"TINKOFF_ACCOUNT_ID={self.account_id} is not an open account of this token")
            if p3(match[0], "accessLevel", "") != FULL_ACCESS:
                raise ConfigError(
                    f"TINKOFF_ACCOUNT_ID={self.account_id} is {match[0].get('accessLevel')}; trading needs full access"
                )
            return
        full = [a for a in accounts if p3(a, "accessLevel", "") == FULL_ACCESS]
        if full:
            self.account_id = str(full[0]["id"])
        elif self.sandbox and not self.inventory.read_only:
            opened = await self._call(
                "SandboxService",
                "OpenSandboxAccount",
                {"name": "aitrade"},
                "T-Invest open sandbox account",
            )
            self.account_id = str(opened["accountId"])
            log.warning("T-Invest sandbox had no account; opened %s (pay in with SandboxPayIn)", self.account_id)
        else:
            raise HaltError("T-Invest: this token has no open account with full access")

    async def close(self) -> None:
        """Close the ownership ledger; the HTTP session belongs to the caller."""
        self.inventory.close()

    def _account(self) -> str:
        if not self.account_id:
            raise HaltError("T-Invest broker used before connect()")
        return self.account_id

    # --- reference data ----------------------------------------------------------------------
    async def _inst(self, symbol: str) -> dict[str, Any]:
        """Instrument facts, resolved once per session (the disk cache lives a week)."""
        if symbol not in self._facts:
            inst = await self.instruments.resolve(symbol)
            self._uid[symbol] = inst.get("uid") or inst.get("figi", "")
            self._facts[symbol] = inst
        return self._facts[symbol]

    async def instrument(self, symbol: str) -> InstrumentRules:
        inst = await self._inst(symbol)
        if not inst.get("apiTradeAvailableFlag", False):  # proto3 JSON omits a false flag
            raise SkipError(f"T-Invest: {symbol} is not available for trading through the API")
        return rules_from_instrument(symbol, inst)

    async def last_price(self, symbol: str) -> Decimal:
        inst = await self._inst(symbol)
        answer = await self._call(
            "MarketDataService", "GetLastPrices", {"instrumentId": [self._uid[symbol]]}, f"T-Invest last price {symbol}"
        )
        prices = answer.get("lastPrices") or []
        if not prices:
            raise UnknownSymbolError(f"T-Invest has no last price for {symbol} ({inst.get('uid')})")
        return quotation_to_decimal(prices[0].get("price"))

    async def candles(self, symbol: str, interval: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Complete exchange bars opening in ``[start, end)``, volume in shares (the factory's candle source)."""
        if self._candles is None:
            raise SkipError(f"{self.name}: no candle source was given to this broker")
        return await self._candles(symbol, interval, pd.Timestamp(start), pd.Timestamp(end))

    # --- account and positions ---------------------------------------------------------------
    async def _portfolio(self) -> dict[str, Any]:
        return await self._call(
            "OperationsService", "GetPortfolio", {"accountId": self._account(), "currency": "RUB"}, "T-Invest portfolio"
        )

    async def account(self) -> Account:
        return account_from_portfolio(await self._portfolio(), self.name)

    async def _refresh_pending(self, only: str | None = None) -> None:
        for cid, symbol in self.inventory.pending().items():
            if only is None or symbol == only:
                await self.get_order(symbol, cid)

    async def _venue_positions(self) -> dict[str, tuple[Decimal, Decimal | None]]:
        by_uid = {uid: sym for sym, uid in self._uid.items()}
        venue = positions_from_portfolio(await self._portfolio(), by_uid, self.name)
        return {p.symbol: (p.quantity, p.last_price) for p in venue}

    async def positions(self) -> list[Position]:
        await self._refresh_pending()
        for symbol in self.inventory.symbols():
            await self._inst(symbol)
        by_uid = {uid: sym for sym, uid in self._uid.items()}
        venue = {p.symbol: p for p in positions_from_portfolio(await self._portfolio(), by_uid, self.name)}
        out = []
        for symbol in self.inventory.symbols():
            vp = venue.get(symbol)
            ours = self.inventory.ours(symbol, vp.quantity if vp else D0)
            if ours == 0:
                continue
            avg = self.inventory.avg_price(symbol)
            last = vp.last_price if vp and vp.last_price else await self.last_price(symbol)
            out.append(Position(symbol, ours, avg, self.name, last, (last - avg) * ours))
        return out

    # --- orders ------------------------------------------------------------------------------
    def _client_of(self, state: dict[str, Any]) -> str:
        key = str(p3(state, "orderRequestId", ""))
        return self.inventory.client_for(key) or key or str(p3(state, "orderId", ""))

    def _request_keys(self, client_id: str) -> list[str]:
        """The request ids an order of ours may carry: the one recorded at its claim, the derived one, the legacy."""
        keys = (self.inventory.key_for(client_id), tinvest_order_id(client_id), tinvest_legacy_order_id(client_id))
        return list(dict.fromkeys(k for k in keys if k))

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        answer = await self._call("OrdersService", "GetOrders", {"accountId": self._account()}, "T-Invest orders")
        out = []
        for state in p3(answer, "orders", []):
            sym = await self._symbol_of(state)
            if not sym or (symbol is not None and sym != symbol):
                continue
            out.append(order_from_state(state, self._client_of(state), sym, await self.instrument(sym)))
        return out

    async def get_order(self, symbol: str, client_id: str) -> Order | None:
        """GetOrderState by our request id (each key it may carry), fills priced and counted once."""
        rules = await self.instrument(symbol)
        for key in self._request_keys(client_id):
            body = {"accountId": self._account(), "orderId": key, "orderIdType": "ORDER_ID_TYPE_REQUEST"}
            try:
                state = await self._call("OrdersService", "GetOrderState", body, f"T-Invest order {client_id}")
            except OrderNotFound:
                continue
            order = await self._priced(order_from_state(state, client_id, symbol, rules))
            self.inventory.apply(client_id, order.filled, order.avg_price, final=order.status.final)
            return order
        return None

    async def _priced(self, order: Order) -> Order:
        """``order`` with its fill price from the account's operations when the order message did not define it.

        Never a guess: an operation counts only when its ``id`` is the order's
        exchange id and its executed quantity is the order's. Still unknown, the
        fill stays uncounted (the order stays pending) and is looked up again.
        """
        if order.filled <= 0 or order.avg_price is not None:
            return order
        price = await self._operations_price(order)
        if price is None:
            log.warning(
                "T-Invest %s: %s filled %s but no price is known yet; not booked until one is",
                order.symbol,
                order.client_id,
                order.filled,
            )
            return order
        return replace(order, avg_price=price)

    async def _operations_price(self, order: Order, pages: int = 5) -> Decimal | None:
        """The executed price per share of one order from ``OperationsService/GetOperationsByCursor``."""
        await self._inst(order.symbol)
        since = (order.updated or datetime.now(UTC)) - timedelta(days=1)
        body: dict[str, Any] = {
            "accountId": self._account(),
            "instrumentId": self._uid[order.symbol],
            "from": rfc3339(since),
            "to": rfc3339(datetime.now(UTC) + timedelta(minutes=1)),
            "limit": 1000,
            "operationTypes": ["OPERATION_TYPE_BUY", "OPERATION_TYPE_SELL"],
            "state": "OPERATION_STATE_EXECUTED",
        }
        for _ in range(pages):
            answer = await self._call(
                "OperationsService", "GetOperationsByCursor", body, f"T-Invest operations {order.symbol}"
            )
            for item in p3(answer, "items", []):
                if p3(item, "id", "") == order.venue_order_id:
                    price = operation_price(item, order.filled)
                    if price is not None:
                        return price
            if not p3(answer, "hasNext", False):
                return None
            body["cursor"] = p3(answer, "nextCursor", "")
        return None

    async def place_order(self, request: OrderRequest) -> OrderAck:
        self.inventory.require_owner(self.name)
        if request.bracket is not None:
            raise HaltError("T-Invest takes no attached protections (capabilities.brackets is false); nothing is sent")
        rules = await self.instrument(request.symbol)
        req = request.normalized(rules) if request.price is not None else None
        if req is None:
            qty = rules.quantity(request.quantity)
            rules.check(qty, None, what=f"{request.side.value} {request.symbol}")
            req = OrderRequest(
                request.symbol, request.side, qty, request.client_id, request.order_type, None, request.reduce_only
            )
        held = self.inventory.quantity(req.symbol)
        after = held + (req.quantity if req.side is Side.BUY else -req.quantity)
        if after < 0 and not rules.shortable:
            raise SkipError(f"T-Invest: {req.symbol} cannot be sold short (AiTrade holds {held})")
        if req.reduce_only and (held == 0 or (held > 0) == (req.side is Side.BUY) or req.quantity > abs(held)):
            raise SkipError(
                f"T-Invest: reduce-only {req.side.value} {req.quantity} {req.symbol} would not reduce {held}"
            )
        if not req.reduce_only:
            await self.guard.check(req, self._refresh_pending, venue="T-Invest")
        key = self.inventory.key_for(req.client_id) or tinvest_order_id(req.client_id)  # a known order keeps its key
        # a short is an uncovered position: the order confirms it (30240 otherwise)
        body = PostOrder(
            rules,
            self._account(),
            self._uid[req.symbol],
            req.side,
            req.order_type,
            req.quantity,
            key,
            req.price,
            confirm_margin_trade=after < 0 or held < 0,
        ).wire()
        what = f"T-Invest {req.side.value} {req.quantity} {req.symbol}" + (f" @ {req.price}" if req.price else "")
        closing = held != 0 and (held > 0) != (req.side is Side.BUY) and req.quantity <= abs(held)
        # recorded before (by any process or session): look it up; T-Invest refuses a second order with one key
        known = not self.inventory.claim(req.client_id, req.symbol, req.side, req.quantity, reduce=closing, key=key)

        async def send() -> OrderAck:
            resp = await self._call("OrdersService", "PostOrder", body, what)
            order = order_from_state(resp, req.client_id, req.symbol, rules, source="post")
            if order.filled > 0 and order.avg_price is None:  # PostOrder may answer an executed price of 0
                found = await self.get_order(req.symbol, req.client_id)
                order = found if found is not None else order
            else:
                self.inventory.apply(req.client_id, order.filled, order.avg_price, final=order.status.final)
            return OrderAck(req.client_id, order.venue_order_id, order.status)

        try:
            return await send_once(
                send,
                lambda: self.get_order(req.symbol, req.client_id),
                client_id=req.client_id,
                known=known,
                what=what,
                key="request id",
            )
        except SkipError:  # refused by the venue: certainly not placed, so it reserves nothing
            self.inventory.refused(req.client_id)
            raise

    async def cancel_order(self, symbol: str, client_id: str) -> None:
        """CancelOrder by our request id; an order of an older key is found first and cancelled by its exchange id."""
        self.inventory.require_owner(self.name)
        body = {
            "accountId": self._account(),
            "orderId": self._request_keys(client_id)[0],
            "orderIdType": "ORDER_ID_TYPE_REQUEST",
        }
        what = f"T-Invest cancel {client_id} {symbol}"
        try:
            await self._call("OrdersService", "CancelOrder", body, what)
        except (OrderNotFound, SkipError, ReconcileError):
            order = await self.get_order(symbol, client_id)
            if order is None:
                raise OrderNotFound(f"{what}: no such order") from None
            if not order.status.final and order.venue_order_id:
                by_exchange = {
                    "accountId": self._account(),
                    "orderId": order.venue_order_id,
                    "orderIdType": "ORDER_ID_TYPE_EXCHANGE",
                }
                await self._call("OrdersService", "CancelOrder", by_exchange, what)
            elif not order.status.final:
                raise
        await self.get_order(symbol, client_id)

    # --- protections -------------------------------------------------------------------------
    def _stop_method(self, verb: str) -> tuple[str, str]:
        """(service, method) of a stop-order call; the sandbox has its own."""
        names = {
            "post": ("PostStopOrder", "PostSandboxStopOrder"),
            "get": ("GetStopOrders", "GetSandboxStopOrders"),
            "cancel": ("CancelStopOrder", "CancelSandboxStopOrder"),
        }
        prod, sandbox = names[verb]
        return ("SandboxService", sandbox) if self.sandbox else ("StopOrdersService", prod)

    async def place_protection(self, protection: Protection) -> Protection:
        self.inventory.require_owner(self.name)
        rules = await self.instrument(protection.symbol)
        await self._refresh_pending(protection.symbol)
        held = self.inventory.quantity(protection.symbol)
        if held == 0:
            raise SkipError(f"T-Invest {protection.kind} {protection.symbol}: AiTrade holds no position to protect")
        qty = rules.quantity(min(protection.quantity, abs(held)))
        rules.check(qty, None, what=f"{protection.kind} {protection.symbol}")
        side = Side.SELL if held > 0 else Side.BUY
        p = Protection(protection.symbol, protection.kind, rules.price(protection.trigger), qty, protection.client_id)
        body = post_stop_body(p, side, rules, self._account(), self._uid[p.symbol])
        service, method = self._stop_method("post")
        what = f"T-Invest {p.kind} {p.symbol} {qty} @ {p.trigger}"
        try:
            answer = await self._call(service, method, body, what)
        except (ReconcileError, DuplicateOrder):
            known = self.inventory.key_for(p.client_id)  # a stop id we saw earlier
            found = [x for x in await self.protections(p.symbol) if x.client_id == p.client_id or x.venue_id == known]
            if found:
                return found[0]
            # Stop orders are not listed by our key, but ``orderId`` is T-Invest's idempotency key: the same
            # request again returns the stop the lost answer was about, or places it once.
            answer = await self._call(service, method, body, what)
        stop_id = str(answer.get("stopOrderId") or "")
        self.inventory.remember_key(stop_id, p.client_id)
        return Protection(p.symbol, p.kind, p.trigger, qty, p.client_id, stop_id)

    async def cancel_protection(self, protection: Protection) -> None:
        self.inventory.require_owner(self.name)
        stop_id = protection.venue_id or self.inventory.key_for(protection.client_id) or ""
        if not stop_id:
            raise OrderNotFound(f"T-Invest: no stop order known for {protection.client_id}")
        service, method = self._stop_method("cancel")
        try:
            await self._call(
                service,
                method,
                {"accountId": self._account(), "stopOrderId": stop_id},
                f"T-Invest cancel {protection.kind} {protection.symbol}",
            )
        except OrderNotFound:
            return  # fired or already cancelled
        except (ReconcileError, SkipError):  # 30060 "cancel stop-order error": a stop that fired is refused so
            if any(x.venue_id == stop_id for x in await self.protections(protection.symbol)):
                raise

    async def protections(self, symbol: str | None = None) -> list[Protection]:
        service, method = self._stop_method("get")
        answer = await self._call(
            service,
            method,
            {"accountId": self._account(), "status": "STOP_ORDER_STATUS_ACTIVE"},
            "T-Invest stop orders",
        )
        by_uid = {uid: sym for sym, uid in self._uid.items()}
        out = []
        for s in answer.get("stopOrders", []) or []:
            sym = by_uid.get(str(p3(s, "instrumentUid", ""))) or await self._symbol_of(s) or ""
            kind = STOP_KIND.get(str(s.get("orderType")))
            if kind is None or (symbol is not None and sym != symbol):
                continue
            lot = int((await self._inst(sym)).get("lot", 1) or 1) if sym else 1
            stop_id = str(s.get("stopOrderId", ""))
            out.append(
                Protection(
                    sym,
                    kind,
                    quotation_to_decimal(s.get("stopPrice")),
                    Decimal(str(s.get("lotsRequested", "0"))) * lot,
                    self.inventory.client_for(stop_id) or stop_id,
                    stop_id,
                )
            )
        return out

    async def protection_fill(self, protection: Protection) -> Order | None:
        """A fired stop order's exchange order (``StopOrder.exchangeOrderId``), read by GetOrderState."""
        stop_id = protection.venue_id or self.inventory.key_for(protection.client_id) or ""
        if not stop_id:
            return None
        service, method = self._stop_method("get")
        answer = await self._call(
            service, method, {"accountId": self._account(), "status": "STOP_ORDER_STATUS_ALL"}, "T-Invest stop orders"
        )
        stop = next((s for s in p3(answer, "stopOrders", []) if p3(s, "stopOrderId", "") == stop_id), None)
        exchange_id = str(p3(stop or {}, "exchangeOrderId", ""))
        if stop is None or p3(stop, "status", "") != "STOP_ORDER_STATUS_EXECUTED" or not exchange_id:
            return None
        rules = await self.instrument(protection.symbol)
        body = {"accountId": self._account(), "orderId": exchange_id, "orderIdType": "ORDER_ID_TYPE_EXCHANGE"}
        try:
            state = await self._call("OrdersService", "GetOrderState", body, f"T-Invest order {exchange_id}")
        except OrderNotFound:
            return None
        order = await self._priced(order_from_state(state, protection.client_id, protection.symbol, rules))
        if order.status is not OrderStatus.FILLED or order.avg_price is None:
            return None
        return order

    async def close_position(self, symbol: str, client_id: str) -> OrderAck | None:
        """Close what AiTrade holds in ``symbol`` (never more); our stop orders go only once it is gone.

        T-Invest stop orders are not tied to a position: one left behind a
        close could later open a position of its own, so they are cancelled
        after the close; a close the venue refuses raises and leaves them
        protecting the position.
        """
        held = next((p.quantity for p in await self.positions() if p.symbol == symbol), D0)
        ack = None
        if held != 0:
            side = Side.SELL if held > 0 else Side.BUY
            ack = await self.place_order(OrderRequest(symbol, side, abs(held), client_id, reduce_only=True))
            held = next((p.quantity for p in await self.positions() if p.symbol == symbol), D0)
        if held == 0:
            for p in await self.protections(symbol):
                if p.client_id.startswith(CLIENT_ID_PREFIX):
                    await self.cancel_protection(p)
        return ack
