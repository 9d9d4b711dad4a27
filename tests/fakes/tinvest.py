"""A fake T-Invest REST gateway that trades: candles, instruments, accounts, orders, stop orders, portfolio.

It follows reference/broker_apis.md B1-B5: ``POST /rest/tinkoff.public.invest.api.contract.v1.{Service}/{Method}``,
``Authorization: Bearer`` required (401 ``{"code":16, ..., "description":"40003"}``),
lowerCamelCase JSON with int64 as strings and enums as names, Quotations for
prices, candle volume in lots, the per-interval maximum span (30014), a
forming candle with ``isComplete: false``, per-service rate limits (429 with
``80002`` and ``x-ratelimit-*`` headers) and ``x-tracking-id`` on every answer.

Trading follows B3-B6 and the sandbox execution model: quantities in lots,
prices per share on the tick (30078), market orders fill at the last price,
limit orders rest until the price crosses them, a 0.05 % commission, orders
deduplicated by (accountId, orderId) with our key echoed as ``orderRequestId``
and a different exchange ``orderId``; a repeated key answers with the first
order's state, or with 30057 when ``duplicate_answer = "30057"``. Stop orders
live in SandboxService (``PostSandboxStopOrder`` ...) when ``sandbox`` is set,
in StopOrdersService otherwise, and fire on price updates.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from aiohttp import web

from aitrade.brokers.ids import tinvest_order_id
from aitrade.money import decimal_to_quotation, quotation_to_decimal
from tests.fakes.common import Bucket, FaultPlan, Server, apply_transport_fault, price_at
from tests.fakes.tinvest_contract import violation

PREFIX = "/rest/tinkoff.public.invest.api.contract.v1."
INTERVALS = {  # enum -> (seconds, max span days)
    "CANDLE_INTERVAL_1_MIN": (60, 1),
    "CANDLE_INTERVAL_5_MIN": (300, 7),
    "CANDLE_INTERVAL_15_MIN": (900, 21),
    "CANDLE_INTERVAL_HOUR": (3600, 92),
    "CANDLE_INTERVAL_4_HOUR": (14400, 92),
    "CANDLE_INTERVAL_DAY": (86400, 6 * 366),
}
INSTRUMENTS = {
    ("SBER", "TQBR"): {
        "figi": "BBG004730N88",
        "uid": "e6123145-9665-43e0-8413-cd61b8aa9b13",
        "lot": 10,
        "tick": "0.01",
        "name": "Sberbank",
    },
    ("GAZP", "TQBR"): {
        "figi": "BBG004730RP0",
        "uid": "962e2a95-02a9-4171-abd7-aa198dbe643a",
        "lot": 10,
        "tick": "0.01",
        "name": "Gazprom",
    },
    ("LKOH", "TQBR"): {
        "figi": "BBG004731032",
        "uid": "02cfdf61-6298-4c0f-a9ca-9cabc82afaf3",
        "lot": 1,
        "tick": "0.5",
        "name": "Lukoil",
    },
    ("CNYRUB_TOM", "CETS"): {
        "figi": "BBG0013HRTL0",
        "uid": "4587ab1d-a9c9-4910-a0d6-86c7b9c42510",
        "lot": 1000,
        "tick": "0.0005",
        "name": "Yuan",
    },
}


def _is_default(value: Any) -> bool:
    if value is None or value is False or value == "" or value == [] or value == 0:
        return True
    if isinstance(value, str):
        return value == "0" or value.endswith("_UNSPECIFIED")
    return False


def omit_defaults(msg: Any, *, top: bool = True) -> Any:
    """proto3 JSON as grpc-gateway prints it: scalar fields at their default are left out.

    A set submessage stays (a zero Quotation prints as ``{}``); int64 zero is
    the string ``"0"``; an enum at 0 is its ``..._UNSPECIFIED`` name.
    """
    if isinstance(msg, dict):
        return {k: omit_defaults(v, top=False) for k, v in msg.items() if isinstance(v, dict) or not _is_default(v)}
    if isinstance(msg, list):
        return [omit_defaults(v, top=False) for v in msg]
    return msg


class FakeTinvest:
    """State and handlers of the fake gateway."""

    def __init__(self, *, token: str = "t.sandbox-token", listed: str = "2023-01-02T00:00:00Z", encoding: str = "omit"):
        if encoding not in ("omit", "print"):
            raise ValueError(
                f"encoding is 'omit' (proto3 defaults left out, as grpc-gateway does) or 'print', not {encoding!r}"
            )
        self.encoding = encoding
        self.post_price_zero = False  # PostOrder answers executedOrderPrice 0 (investAPI issue 372)
        self.state_without_average = False  # GetOrderState answers neither averagePositionPrice nor stages
        self.operations: list[dict[str, Any]] = []  # OperationItem of every fill, newest last
        self.operations_hidden = False  # operations not yet listed (the venue's report lags)
        self.expired_states: set[str] = set()  # exchange ids GetOrderState no longer returns (old orders)
        self.token = token
        self.echo_headers = False
        self.listed = pd.Timestamp(listed)
        self.faults = FaultPlan()
        self.requests: list[dict[str, Any]] = []
        self.refused: list[tuple[str, str]] = []  # requests that broke their .proto message (method, why)
        self.buckets: dict[str, Bucket] = {}
        self.rate_per_s = 10.0
        self.hang_s = 5.0
        self.now: pd.Timestamp | None = None
        self.dealer_weekend = True  # add dealer weekend candles on Saturdays
        self.sandbox = True
        self.accounts = ["2000000001"]
        self.cash = Decimal(1_000_000)  # RUB
        self.holdings: dict[str, dict[str, Decimal]] = {}  # ticker -> shares (signed), avg price
        self.prices: dict[str, Decimal] = {}
        self.orders: dict[tuple[str, str], dict[str, Any]] = {}  # (accountId, request id) -> order
        self.stops: list[dict[str, Any]] = []
        self.duplicate_answer = "state"  # or "30057"
        self.seq = 0
        app = web.Application()
        app.router.add_post(PREFIX + "{service}/{method}", self.dispatch)
        self.server = Server(app)

    async def start(self) -> str:
        return await self.server.start() + "/rest"

    async def stop(self) -> None:
        await self.server.stop()

    def clock(self) -> pd.Timestamp:
        return self.now if self.now is not None else pd.Timestamp(time.time(), unit="s", tz="UTC")

    def error(self, status: int, grpc: int, code: str, message: str, **headers: str) -> web.Response:
        hdrs = {"x-tracking-id": uuid.uuid4().hex, **headers}
        return web.json_response({"code": grpc, "message": message, "description": code}, status=status, headers=hdrs)

    def ok(self, body: dict[str, Any]) -> web.Response:
        return web.json_response(
            omit_defaults(body) if self.encoding == "omit" else body,
            headers={
                "x-tracking-id": uuid.uuid4().hex,
                "x-ratelimit-limit": "600",
                "x-ratelimit-remaining": "599",
                "x-ratelimit-reset": "1",
            },
        )

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        service, method = request.match_info["service"], request.match_info["method"]
        try:
            body = await request.json()
        except ValueError:
            return self.error(400, 3, "30001", "invalid json")
        self.requests.append(
            {"service": service, "method": method, "body": body, "auth": request.headers.get("Authorization", "")}
        )
        if self.echo_headers:  # a misbehaving venue whose error body repeats the request, token and all
            return self.error(400, 3, "30001", f"invalid request; headers were {dict(request.headers)}")
        fault = self.faults.take(f"{service}/{method}")
        if fault in ("hang", "reset"):
            await apply_transport_fault(fault, request, self.hang_s)
        if fault == "429":
            return self.error(429, 8, "80002", "request limit exceeded", **{"x-ratelimit-reset": "0"})
        if fault == "500":
            return web.json_response({"code": 2, "message": None, "description": None}, status=500)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.error(401, 16, "40003", "authentication token is missing or invalid")
        bucket = self.buckets.setdefault(service, Bucket(self.rate_per_s, self.rate_per_s))
        if not bucket.take():
            return self.error(429, 8, "80002", "request limit exceeded", **{"x-ratelimit-reset": "1"})
        handler = getattr(self, f"{service}_{method}", None)
        if handler is None or (service == "StopOrdersService" and self.sandbox):
            return self.error(501, 12, "", "method is not implemented")
        bad = violation(service, method, body)  # the request message as the .proto files define it
        if bad is not None:
            self.refused.append((f"{service}/{method}", bad[1]))
            return self.error(400, 3, *bad)
        if method.startswith("Post") and self.faults.take(method, frozenset({"refuse"})) == "refuse":
            return self.error(400, 3, "30079", "instrument is not available for trading")  # the venue says no
        answer = handler(body)
        if inspect.isawaitable(answer):
            answer = await answer
        late = method.startswith(("Post", "Cancel"))
        fault = self.faults.take(method, frozenset({"after", "after500"})) if late else None
        if fault == "after":
            await asyncio.sleep(self.hang_s)  # done, but the answer never arrives in time
        elif fault == "after500":
            return web.json_response({"code": 13, "message": "internal", "description": "70001"}, status=500)
        return answer

    # --- services -----------------------------------------------------------------------------

    def UsersService_GetAccounts(self, body: dict[str, Any]) -> web.Response:
        return self.ok(
            {
                "accounts": [
                    {
                        "id": a,
                        "type": "ACCOUNT_TYPE_TINKOFF",
                        "name": "sandbox",
                        "status": "ACCOUNT_STATUS_OPEN",
                        "accessLevel": "ACCOUNT_ACCESS_LEVEL_FULL_ACCESS",
                        "openedDate": "2024-01-01T00:00:00Z",
                    }
                    for a in self.accounts
                ]
            }
        )

    def SandboxService_OpenSandboxAccount(self, body: dict[str, Any]) -> web.Response:
        account = str(2000000001 + len(self.accounts))
        self.accounts.append(account)
        return self.ok({"accountId": account})

    def _instrument(self, ticker: str, board: str) -> dict[str, Any]:
        info = INSTRUMENTS[(ticker, board)]
        return {
            "figi": info["figi"],
            "ticker": ticker,
            "classCode": board,
            "uid": info["uid"],
            "lot": info["lot"],
            "currency": "rub",
            "name": info["name"],
            "minPriceIncrement": decimal_to_quotation(Decimal(info["tick"])),
            "shortEnabledFlag": True,
            "apiTradeAvailableFlag": True,
            "instrumentType": "share",
            "exchange": "MOEX_EVENING_WEEKEND",
            "tradingStatus": "SECURITY_TRADING_STATUS_NORMAL_TRADING",
        }

    def InstrumentsService_GetInstrumentBy(self, body: dict[str, Any]) -> web.Response:
        id_type, ident = body.get("idType"), str(body.get("id", ""))
        if id_type == "INSTRUMENT_ID_TYPE_TICKER":
            if not body.get("classCode"):
                return self.error(400, 3, "30013", "class_code is required for id_type ticker")
            key = (ident, body["classCode"])
            if key not in INSTRUMENTS:
                return self.error(404, 5, "50002", "instrument not found")
            return self.ok({"instrument": self._instrument(*key)})
        for (ticker, board), info in INSTRUMENTS.items():
            if ident in (info["uid"], info["figi"]):
                return self.ok({"instrument": self._instrument(ticker, board)})
        return self.error(404, 5, "50002", "instrument not found")

    def InstrumentsService_FindInstrument(self, body: dict[str, Any]) -> web.Response:
        query = str(body.get("query", "")).upper()
        found = [
            {
                "figi": i["figi"],
                "ticker": t,
                "classCode": b,
                "uid": i["uid"],
                "lot": i["lot"],
                "apiTradeAvailableFlag": True,
                "instrumentType": "share",
            }
            for (t, b), i in INSTRUMENTS.items()
            if query in t
        ]
        return self.ok({"instruments": found})

    def _uid_ticker(self, instrument_id: str) -> str | None:
        for (ticker, _), info in INSTRUMENTS.items():
            if instrument_id in (info["uid"], info["figi"]):
                return ticker
        return None

    def candle_times(self, step_s: int, start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
        """MOEX main-session candles (10:00-18:59 Moscow time, weekdays) plus Saturday dealer candles."""
        grid = pd.date_range(start.ceil(f"{step_s}s"), end, freq=f"{step_s}s", inclusive="left", tz="UTC")
        grid = grid[grid >= self.listed]
        msk = grid + pd.Timedelta(hours=3)
        if step_s >= 86400:
            keep = msk.day_of_week < 5
        else:
            keep = (
                ((msk.day_of_week < 5) | ((msk.day_of_week == 5) & self.dealer_weekend))
                & (msk.hour >= 10)
                & (msk.hour <= 18)
            )
        return list(grid[keep])

    def MarketDataService_GetCandles(self, body: dict[str, Any]) -> web.Response:
        interval = body.get("interval")
        if interval not in INTERVALS:
            return self.error(400, 3, "30008", "invalid interval")
        if not body.get("from") or not body.get("to"):
            return self.error(400, 3, "30001", "missing parameter: 'from' or 'to'")
        start, end = pd.Timestamp(body["from"]), pd.Timestamp(body["to"])
        if end < start:
            return self.error(400, 3, "30012", "to can't be less than from")
        step_s, span_days = INTERVALS[interval]
        if end - start > pd.Timedelta(days=span_days):
            return self.error(
                400, 3, "30014", "the maximum request period for the given candle interval has been exceeded"
            )
        ticker = self._uid_ticker(str(body.get("instrumentId", "")))
        if ticker is None:
            return self.error(404, 5, "50002", "instrument not found")
        now = self.clock()
        candles = []
        for ts in self.candle_times(step_s, start, min(end, now)):
            ms = int(ts.value // 1_000_000)
            o, c = (
                Decimal(f"{price_at(ticker, ms):.2f}"),
                Decimal(f"{price_at(ticker, ms + step_s * 1000):.2f}"),
            )
            weekend = (ts + pd.Timedelta(hours=3)).day_of_week == 5
            candles.append(
                {
                    "open": decimal_to_quotation(o),
                    "high": decimal_to_quotation(max(o, c) + Decimal("0.10")),
                    "low": decimal_to_quotation(min(o, c) - Decimal("0.10")),
                    "close": decimal_to_quotation(c),
                    "volume": str(100 + ms // 3_600_000 % 50),
                    "time": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "isComplete": ts + pd.Timedelta(seconds=step_s) <= now,
                    "candleSource": "CANDLE_SOURCE_DEALER_WEEKEND" if weekend else "CANDLE_SOURCE_EXCHANGE",
                    "volumeBuy": "0",
                    "volumeSell": "0",
                }
            )
        return self.ok({"candles": candles})

    # --- trading ------------------------------------------------------------------------------

    def _info(self, instrument_id: str) -> tuple[str, dict[str, Any]] | None:
        for (ticker, _), info in INSTRUMENTS.items():
            if instrument_id in (info["uid"], info["figi"]):
                return ticker, info
        return None

    def price(self, ticker: str) -> Decimal:
        if ticker in self.prices:
            return self.prices[ticker]
        tick = Decimal(next(i["tick"] for (t, _), i in INSTRUMENTS.items() if t == ticker))
        raw = Decimal(f"{price_at(ticker, int(self.clock().value // 1_000_000)):.4f}")
        return (raw / tick).to_integral_value(rounding=ROUND_HALF_UP) * tick

    def hold(self, ticker: str, shares: int, avg: Decimal) -> None:
        """Holdings the user has that AiTrade did not buy."""
        self.holdings[ticker] = {"qty": Decimal(shares), "avg": Decimal(avg)}

    def _money(self, value: Decimal) -> dict[str, Any]:
        return {"currency": "rub", **decimal_to_quotation(value)}

    def _account_ok(self, body: dict[str, Any]) -> web.Response | None:
        if body.get("accountId") not in self.accounts:
            return self.error(404, 5, "50004", "account not found")
        return None

    def _fill(self, order: dict[str, Any], lots: int, price: Decimal) -> None:
        if lots <= 0:
            return
        ticker, lot = order["ticker"], order["lot"]
        shares = Decimal(lots * lot)
        signed = shares if order["direction"] == "ORDER_DIRECTION_BUY" else -shares
        fee = (shares * price * Decimal("0.0005")).quantize(Decimal("0.01"))
        pos = self.holdings.setdefault(ticker, {"qty": Decimal(0), "avg": Decimal(0)})
        old, old_avg = pos["qty"], pos["avg"]
        new = old + signed
        if old == 0 or (old > 0) == (signed > 0):
            pos["avg"] = (old * old_avg + signed * price) / new
        elif new != 0 and (new > 0) != (old > 0):
            pos["avg"] = price
        pos["qty"] = new
        if new == 0:
            pos["avg"] = Decimal(0)
        self.cash -= signed * price + fee
        done_before = order["lotsExecuted"]
        self.seq += 1
        stamp = self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        order.setdefault("stages", []).append(
            {
                "price": self._money(price),
                "quantity": str(lots),
                "tradeId": f"T{900000 + self.seq}",
                "executionTime": stamp,
            }
        )
        self._operation(order, shares, price, fee, stamp)
        order["avg"] = (order["avg"] * done_before + price * lots) / (done_before + lots)
        order["lotsExecuted"] = done_before + lots
        order["fee"] += fee
        full = order["lotsExecuted"] >= order["lotsRequested"]
        order["status"] = "EXECUTION_REPORT_STATUS_FILL" if full else "EXECUTION_REPORT_STATUS_PARTIALLYFILL"

    def _operation(self, order: dict[str, Any], shares: Decimal, price: Decimal, fee: Decimal, stamp: str) -> None:
        """One executed OperationItem per fill (operations.proto), ``id`` the exchange order id."""
        buy = order["direction"] == "ORDER_DIRECTION_BUY"
        self.operations.append(
            {
                "cursor": f"c{len(self.operations) + 1}",
                "brokerAccountId": order["account"],
                "id": order["exchangeId"],
                "parentOperationId": "",
                "name": "Покупка ценных бумаг" if buy else "Продажа ценных бумаг",
                "date": stamp,
                "type": "OPERATION_TYPE_BUY" if buy else "OPERATION_TYPE_SELL",
                "description": "",
                "state": "OPERATION_STATE_EXECUTED",
                "instrumentUid": order["uid"],
                "figi": order["figi"],
                "instrumentType": "share",
                "instrumentKind": "INSTRUMENT_TYPE_SHARE",
                "positionUid": order["uid"],
                "payment": self._money(-shares * price if buy else shares * price),
                "price": self._money(price),
                "commission": self._money(-fee),
                "quantity": str(int(shares)),
                "quantityRest": "0",
                "quantityDone": str(int(shares)),
                "tradesInfo": {
                    "trades": [
                        {
                            "num": f"T{900000 + self.seq}",
                            "date": stamp,
                            "quantity": str(int(shares)),
                            "price": self._money(price),
                        }
                    ]
                },
            }
        )

    def _state(self, order: dict[str, Any], *, post: bool = False) -> dict[str, Any]:
        """``OrderState`` (orders.proto: executedOrderPrice is the executed total) or ``PostOrderResponse``
        (``post``: executedOrderPrice is the average per instrument)."""
        lot = order["lot"]
        executed_total = order["avg"] * order["lotsExecuted"] * lot
        if post:
            avg = Decimal(0) if self.post_price_zero else order["avg"]
            return {
                "orderId": order["exchangeId"],
                "orderRequestId": order["requestId"],
                "executionReportStatus": order["status"],
                "lotsRequested": str(order["lotsRequested"]),
                "lotsExecuted": str(order["lotsExecuted"]),
                "initialOrderPrice": self._money(order["price"] * order["lotsRequested"] * lot),
                "executedOrderPrice": self._money(avg),
                "totalOrderAmount": self._money(executed_total + order["fee"]),
                "initialCommission": self._money(order["price"] * order["lotsRequested"] * lot * Decimal("0.0005")),
                "executedCommission": self._money(order["fee"]),
                "aciValue": self._money(Decimal(0)),
                "figi": order["figi"],
                "direction": order["direction"],
                "initialSecurityPrice": self._money(order["price"]),
                "orderType": order["orderType"],
                "message": "",
                "instrumentUid": order["uid"],
                "responseMetadata": {"trackingId": uuid.uuid4().hex, "serverTime": self.clock().isoformat()},
            }
        hide = self.state_without_average
        return {
            "orderId": order["exchangeId"],
            "orderRequestId": order["requestId"],
            "executionReportStatus": order["status"],
            "lotsRequested": str(order["lotsRequested"]),
            "lotsExecuted": str(order["lotsExecuted"]),
            "initialOrderPrice": self._money(order["price"] * order["lotsRequested"] * lot),
            "executedOrderPrice": self._money(executed_total),
            "totalOrderAmount": self._money(executed_total + order["fee"]),
            "averagePositionPrice": self._money(Decimal(0) if hide else order["avg"]),
            "initialCommission": self._money(order["price"] * order["lotsRequested"] * lot * Decimal("0.0005")),
            "executedCommission": self._money(order["fee"]),
            "figi": order["figi"],
            "direction": order["direction"],
            "initialSecurityPrice": self._money(order["price"]),
            "orderType": order["orderType"],
            "instrumentUid": order["uid"],
            "currency": "rub",
            "orderDate": order["date"],
            "stages": [] if hide else list(order.get("stages", [])),
            "serviceCommission": self._money(Decimal(0)),
        }

    def OrdersService_PostOrder(self, body: dict[str, Any]) -> web.Response:
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        key = str(body.get("orderId", ""))
        try:
            uuid.UUID(key)
        except ValueError:
            return self.error(400, 3, "30028", "order_id should be in UUID format")
        existing = self.orders.get((body["accountId"], key))
        if existing is not None:
            if self.duplicate_answer == "30057":
                return self.error(400, 3, "30057", "order is a duplicate, but the order report was not found")
            return self.ok(self._state(existing, post=True))
        found = self._info(str(body.get("instrumentId", "")))
        if found is None:
            return self.error(404, 5, "50002", "instrument not found")
        ticker, info = found
        lots = int(body.get("quantity", "0") or 0)
        if lots <= 0:
            return self.error(400, 3, "30080", "quantity must be positive")
        tick = Decimal(info["tick"])
        market = body.get("orderType") == "ORDER_TYPE_MARKET"
        last = self.price(ticker)
        if market:
            price = last
        else:
            price = quotation_to_decimal(body.get("price"))
            if price <= 0 or price % tick != 0:
                return self.error(400, 3, "30078", "price is not a multiple of min_price_increment")
        shares = Decimal(lots * info["lot"])
        buy = body.get("direction") == "ORDER_DIRECTION_BUY"
        if buy and shares * price > self.cash:
            return self.error(400, 3, "30034", "not enough balance")
        held = self.holdings.get(ticker, {}).get("qty", Decimal(0))
        if not buy and shares > held and not body.get("confirmMarginTrade"):
            return self.error(400, 3, "30240", "confirm_margin_trade is required to open an uncovered position")
        self.seq += 1
        order = {
            "requestId": key,
            "exchangeId": f"R{700000 + self.seq}",
            "ticker": ticker,
            "uid": info["uid"],
            "figi": info["figi"],
            "lot": info["lot"],
            "direction": body["direction"],
            "orderType": body.get("orderType"),
            "lotsRequested": lots,
            "lotsExecuted": 0,
            "price": price,
            "avg": Decimal(0),
            "fee": Decimal(0),
            "status": "EXECUTION_REPORT_STATUS_NEW",
            "date": self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "account": body["accountId"],
        }
        self.orders[(body["accountId"], key)] = order
        now = lots // 2 if self.faults.take(ticker, frozenset({"partial"})) == "partial" else lots
        if market:
            self._fill(order, now, last)
        elif (buy and last <= price) or (not buy and last >= price):
            self._fill(order, now, price)
        return self.ok(self._state(order, post=True))

    def _find(self, body: dict[str, Any]) -> dict[str, Any] | None:
        ident = str(body.get("orderId", ""))
        if body.get("orderIdType") == "ORDER_ID_TYPE_REQUEST":
            return self.orders.get((body.get("accountId", ""), ident))
        return next((o for o in self.orders.values() if o["exchangeId"] == ident), None)

    def OrdersService_GetOrderState(self, body: dict[str, Any]) -> web.Response:
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        order = self._find(body)
        if order is None or order["exchangeId"] in self.expired_states:
            return self.error(404, 5, "50005", "order not found")
        return self.ok(self._state(order))

    def place_foreign(
        self, ticker: str, lots: int, direction: str = "ORDER_DIRECTION_BUY", *, key: str | None = None
    ) -> dict[str, Any]:
        """An order the user placed by hand (or an older AiTrade with ``key``): filled at the market now."""
        info = next(i for (t, _), i in INSTRUMENTS.items() if t == ticker)
        self.seq += 1
        order = {
            "requestId": key or str(uuid.uuid4()),
            "exchangeId": f"R{700000 + self.seq}",
            "ticker": ticker,
            "uid": info["uid"],
            "figi": info["figi"],
            "lot": info["lot"],
            "direction": direction,
            "orderType": "ORDER_TYPE_MARKET",
            "lotsRequested": lots,
            "lotsExecuted": 0,
            "price": self.price(ticker),
            "avg": Decimal(0),
            "fee": Decimal(0),
            "status": "EXECUTION_REPORT_STATUS_NEW",
            "date": self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "account": self.accounts[0],
        }
        self.orders[(order["account"], order["requestId"])] = order
        self._fill(order, lots, self.price(ticker))
        return order

    def OrdersService_GetOrders(self, body: dict[str, Any]) -> web.Response:
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        live = ("EXECUTION_REPORT_STATUS_NEW", "EXECUTION_REPORT_STATUS_PARTIALLYFILL")
        return self.ok(
            {
                "orders": [
                    self._state(o)
                    for o in self.orders.values()
                    if o["account"] == body["accountId"] and o["status"] in live
                ]
            }
        )

    def OrdersService_CancelOrder(self, body: dict[str, Any]) -> web.Response:
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        order = self._find(body)
        if order is None:
            return self.error(404, 5, "50005", "order not found")
        if order["status"] not in ("EXECUTION_REPORT_STATUS_NEW", "EXECUTION_REPORT_STATUS_PARTIALLYFILL"):
            return self.error(400, 3, "30059", "cancel order error: order is already executed or cancelled")
        order["status"] = "EXECUTION_REPORT_STATUS_CANCELLED"
        return self.ok({"time": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")})

    def MarketDataService_GetLastPrices(self, body: dict[str, Any]) -> web.Response:
        out = []
        for ident in body.get("instrumentId", []) or []:
            found = self._info(str(ident))
            if found is not None:
                out.append(
                    {
                        "figi": found[1]["figi"],
                        "instrumentUid": found[1]["uid"],
                        "ticker": found[0],
                        "classCode": "TQBR",
                        "price": decimal_to_quotation(self.price(found[0])),
                        "time": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "lastPriceType": "LAST_PRICE_EXCHANGE",
                    }
                )
        return self.ok({"lastPrices": out})

    def OperationsService_GetPortfolio(self, body: dict[str, Any]) -> web.Response:
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        positions, shares_total = [], Decimal(0)
        for ticker, h in sorted(self.holdings.items()):
            if h["qty"] == 0:
                continue
            info = next(i for (t, _), i in INSTRUMENTS.items() if t == ticker)
            last = self.price(ticker)
            shares_total += h["qty"] * last
            positions.append(
                {
                    "figi": info["figi"],
                    "instrumentType": "share",
                    "quantity": decimal_to_quotation(h["qty"]),
                    "quantityLots": decimal_to_quotation(h["qty"] / info["lot"]),
                    "averagePositionPrice": self._money(h["avg"]),
                    "currentPrice": self._money(last),
                    "expectedYield": decimal_to_quotation((last - h["avg"]) * h["qty"]),
                    "instrumentUid": info["uid"],
                    "positionUid": info["uid"],
                    "blocked": False,
                }
            )
        positions.append(
            {
                "figi": "RUB000UTSTOM",
                "instrumentType": "currency",
                "quantity": decimal_to_quotation(self.cash),
                "currentPrice": self._money(Decimal(1)),
                "averagePositionPrice": self._money(Decimal(1)),
            }
        )
        return self.ok(
            {
                "accountId": body["accountId"],
                "totalAmountShares": self._money(shares_total),
                "totalAmountCurrencies": self._money(self.cash),
                "totalAmountBonds": self._money(Decimal(0)),
                "totalAmountEtf": self._money(Decimal(0)),
                "totalAmountFutures": self._money(Decimal(0)),
                "totalAmountPortfolio": self._money(self.cash + shares_total),
                "positions": positions,
                "expectedYield": decimal_to_quotation(Decimal(0)),
            }
        )

    def OperationsService_GetOperationsByCursor(self, body: dict[str, Any]) -> web.Response:
        """operations.proto GetOperationsByCursor: newest first, ``limit`` (default 100, at most 1000), ``cursor``."""
        if not body.get("accountId"):
            return self.error(400, 3, "30021", "missing parameter: 'account_id'")
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        limit = int(body.get("limit", 100))
        if not 0 < limit <= 1000:
            return self.error(400, 3, "30069", "invalid parameter: 'limit'")
        rows = [o for o in reversed(self.operations) if o["brokerAccountId"] == body["accountId"]]
        rows = [] if self.operations_hidden else rows
        if body.get("instrumentId"):
            rows = [o for o in rows if body["instrumentId"] in (o["instrumentUid"], o["figi"])]
        if body.get("operationTypes"):
            rows = [o for o in rows if o["type"] in body["operationTypes"]]
        if body.get("state"):
            rows = [o for o in rows if o["state"] == body["state"]]
        if body.get("from"):
            rows = [o for o in rows if pd.Timestamp(o["date"]) >= pd.Timestamp(body["from"])]
        if body.get("to"):
            rows = [o for o in rows if pd.Timestamp(o["date"]) < pd.Timestamp(body["to"])]
        start = 0
        if body.get("cursor"):
            start = next((i for i, o in enumerate(rows) if o["cursor"] == body["cursor"]), len(rows))
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return self.ok({"hasNext": more, "nextCursor": rows[start + limit]["cursor"] if more else "", "items": page})

    # --- stop orders (SandboxService in the sandbox, StopOrdersService in production) ----------
    def _post_stop(self, body: dict[str, Any]) -> web.Response:
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        key = str(body.get("orderId", ""))
        try:
            uuid.UUID(key)
        except ValueError:
            return self.error(400, 3, "30028", "order_id should be in UUID format")
        same = next((x for x in self.stops if x["requestId"] == key and x["account"] == body["accountId"]), None)
        if same is not None:
            return self.ok({"stopOrderId": same["stopOrderId"], "orderRequestId": key})
        found = self._info(str(body.get("instrumentId", "")))
        if found is None:
            return self.error(404, 5, "50002", "instrument not found")
        ticker, info = found
        kind = body.get("stopOrderType")
        if kind not in ("STOP_ORDER_TYPE_STOP_LOSS", "STOP_ORDER_TYPE_TAKE_PROFIT", "STOP_ORDER_TYPE_STOP_LIMIT"):
            return self.error(400, 3, "30053", "post stop order error: stop_order_type is required")
        if body.get("expirationType") not in (
            "STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL",
            "STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_DATE",
        ):
            return self.error(400, 3, "30053", "post stop order error: expiration_type is required")
        stop = quotation_to_decimal(body.get("stopPrice"))
        if stop <= 0 or stop % Decimal(info["tick"]) != 0:
            return self.error(400, 3, "30078", "price is not a multiple of min_price_increment")
        self.seq += 1
        self.stops.append(
            {
                "stopOrderId": str(uuid.uuid4()),
                "requestId": key,
                "account": body["accountId"],
                "ticker": ticker,
                "info": info,
                "lots": int(body["quantity"]),
                "kind": kind,
                "direction": body["direction"],
                "stop": stop,
                "status": "STOP_ORDER_STATUS_ACTIVE",
            }
        )
        return self.ok({"stopOrderId": self.stops[-1]["stopOrderId"], "orderRequestId": key})

    def _get_stops(self, body: dict[str, Any]) -> web.Response:
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        want = body.get("status") or "STOP_ORDER_STATUS_ACTIVE"
        rows = [
            {
                "stopOrderId": x["stopOrderId"],
                "lotsRequested": str(x["lots"]),
                "figi": x["info"]["figi"],
                "direction": x["direction"],
                "currency": "rub",
                "orderType": x["kind"],
                "stopPrice": self._money(x["stop"]),
                "instrumentUid": x["info"]["uid"],
                "status": x["status"],
                "exchangeOrderId": x.get("exchangeOrderId", ""),
                "activationDateTime": x.get("activated", ""),
            }
            for x in self.stops
            if x["account"] == body["accountId"] and want in (x["status"], "STOP_ORDER_STATUS_ALL")
        ]
        return self.ok({"stopOrders": rows})

    def _cancel_stop(self, body: dict[str, Any]) -> web.Response:
        denied = self._account_ok(body)
        if denied is not None:
            return denied
        x = next((x for x in self.stops if x["stopOrderId"] == body.get("stopOrderId")), None)
        if x is None:
            return self.error(404, 5, "50006", "stop order not found")
        if x["status"] != "STOP_ORDER_STATUS_ACTIVE":
            return self.error(400, 3, "30060", "cancel stop-order error: stop order is not active")
        x["status"] = "STOP_ORDER_STATUS_CANCELED"
        return self.ok({"time": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ")})

    SandboxService_PostSandboxStopOrder = _post_stop
    SandboxService_GetSandboxStopOrders = _get_stops
    SandboxService_CancelSandboxStopOrder = _cancel_stop
    StopOrdersService_PostStopOrder = _post_stop
    StopOrdersService_GetStopOrders = _get_stops
    StopOrdersService_CancelStopOrder = _cancel_stop

    def set_price(self, ticker: str, price: Decimal) -> None:
        """Move the market: crossed limit orders fill, touched stop orders fire as market orders."""
        self.prices[ticker] = Decimal(price)
        for order in self.orders.values():
            if order["ticker"] != ticker or order["orderType"] != "ORDER_TYPE_LIMIT":
                continue
            if order["status"] not in ("EXECUTION_REPORT_STATUS_NEW", "EXECUTION_REPORT_STATUS_PARTIALLYFILL"):
                continue
            buy = order["direction"] == "ORDER_DIRECTION_BUY"
            if (buy and price <= order["price"]) or (not buy and price >= order["price"]):
                self._fill(order, order["lotsRequested"] - order["lotsExecuted"], order["price"])
        for x in self.stops:
            if x["ticker"] != ticker or x["status"] != "STOP_ORDER_STATUS_ACTIVE":
                continue
            sell = x["direction"] == "STOP_ORDER_DIRECTION_SELL"
            if x["kind"] == "STOP_ORDER_TYPE_TAKE_PROFIT":
                hit = price >= x["stop"] if sell else price <= x["stop"]
            else:
                hit = price <= x["stop"] if sell else price >= x["stop"]
            if hit:
                x["status"] = "STOP_ORDER_STATUS_EXECUTED"
                x["activated"] = self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                self.seq += 1
                order = {
                    "requestId": str(uuid.uuid4()),
                    "exchangeId": f"R{700000 + self.seq}",
                    "ticker": ticker,
                    "uid": x["info"]["uid"],
                    "figi": x["info"]["figi"],
                    "lot": x["info"]["lot"],
                    "direction": "ORDER_DIRECTION_SELL" if sell else "ORDER_DIRECTION_BUY",
                    "orderType": "ORDER_TYPE_MARKET",
                    "lotsRequested": x["lots"],
                    "lotsExecuted": 0,
                    "price": price,
                    "avg": Decimal(0),
                    "fee": Decimal(0),
                    "status": "EXECUTION_REPORT_STATUS_NEW",
                    "date": self.clock().isoformat(),
                    "account": x["account"],
                }
                self.orders[(x["account"], order["requestId"])] = order
                x["exchangeOrderId"] = order["exchangeId"]  # StopOrder.exchange_order_id (stoporders.proto)
                self._fill(order, x["lots"], price)

    def complete(self, client_id: str) -> None:
        """Fill the rest of a partially filled order, given our client id."""
        for (_, key), order in self.orders.items():
            if key == tinvest_order_id(client_id) and order["status"] == "EXECUTION_REPORT_STATUS_PARTIALLYFILL":
                self._fill(order, order["lotsRequested"] - order["lotsExecuted"], order["price"])
