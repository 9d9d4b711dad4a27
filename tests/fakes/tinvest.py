"""A fake T-Invest REST gateway: candles, instruments, accounts.

It follows reference/broker_apis.md B1-B5: ``POST /rest/tinkoff.public.invest.api.contract.v1.{Service}/{Method}``,
``Authorization: Bearer`` required (401 ``{"code":16, ..., "description":"40003"}``),
lowerCamelCase JSON with int64 as strings and enums as names, Quotations for
prices, candle volume in lots, the per-interval maximum span (30014), a
forming candle with ``isComplete: false``, per-service rate limits (429 with
``80002`` and ``x-ratelimit-*`` headers) and ``x-tracking-id`` on every answer.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pandas as pd
from aiohttp import web

from aitrade.money import decimal_to_quotation
from tests.fakes.common import Bucket, FaultPlan, Server, apply_transport_fault, price_at

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
    ("SBER", "TQBR"): {"figi": "BBG004730N88", "uid": "e6123145-9665-43e0-8413-cd61b8aa9b13", "lot": 10,
                       "tick": "0.01", "name": "Sberbank"},
    ("GAZP", "TQBR"): {"figi": "BBG004730RP0", "uid": "962e2a95-02a9-4171-abd7-aa198dbe643a", "lot": 10,
                       "tick": "0.01", "name": "Gazprom"},
    ("LKOH", "TQBR"): {"figi": "BBG004731032", "uid": "02cfdf61-6298-4c0f-a9ca-9cabc82afaf3", "lot": 1,
                       "tick": "0.5", "name": "Lukoil"},
    ("CNYRUB_TOM", "CETS"): {"figi": "BBG0013HRTL0", "uid": "4587ab1d-a9c9-4910-a0d6-86c7b9c42510", "lot": 1000,
                             "tick": "0.0005", "name": "Yuan"},
}  # fmt: skip


class FakeTinvest:
    """State and handlers of the fake gateway."""

    def __init__(self, *, token: str = "t.sandbox-token", listed: str = "2023-01-02T00:00:00Z"):
        self.token = token
        self.listed = pd.Timestamp(listed)
        self.faults = FaultPlan()
        self.requests: list[dict[str, Any]] = []
        self.buckets: dict[str, Bucket] = {}
        self.rate_per_s = 10.0
        self.hang_s = 5.0
        self.now: pd.Timestamp | None = None
        self.dealer_weekend = True  # add dealer weekend candles on Saturdays
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
            body,
            headers={"x-tracking-id": uuid.uuid4().hex, "x-ratelimit-limit": "600", "x-ratelimit-remaining": "599",
                     "x-ratelimit-reset": "1"},
        )  # fmt: skip

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        service, method = request.match_info["service"], request.match_info["method"]
        try:
            body = await request.json()
        except ValueError:
            return self.error(400, 3, "30001", "invalid json")
        self.requests.append({"service": service, "method": method, "body": body,
                              "auth": request.headers.get("Authorization", "")})  # fmt: skip
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
        if handler is None:
            return self.error(404, 12, "", "method is not implemented")
        return handler(body)

    # --- services -----------------------------------------------------------------------------

    def UsersService_GetAccounts(self, body: dict[str, Any]) -> web.Response:
        return self.ok({"accounts": [{"id": "2000000001", "type": "ACCOUNT_TYPE_TINKOFF", "name": "sandbox",
                                      "status": "ACCOUNT_STATUS_OPEN", "accessLevel": "ACCOUNT_ACCESS_LEVEL_FULL_ACCESS",
                                      "openedDate": "2024-01-01T00:00:00Z"}]})  # fmt: skip

    def _instrument(self, ticker: str, board: str) -> dict[str, Any]:
        info = INSTRUMENTS[(ticker, board)]
        return {
            "figi": info["figi"], "ticker": ticker, "classCode": board, "uid": info["uid"], "lot": info["lot"],
            "currency": "rub", "name": info["name"], "minPriceIncrement": decimal_to_quotation(Decimal(info["tick"])),
            "shortEnabledFlag": True, "apiTradeAvailableFlag": True, "instrumentType": "share",
            "exchange": "MOEX_EVENING_WEEKEND", "tradingStatus": "SECURITY_TRADING_STATUS_NORMAL_TRADING",
        }  # fmt: skip

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
            {"figi": i["figi"], "ticker": t, "classCode": b, "uid": i["uid"], "lot": i["lot"],
             "apiTradeAvailableFlag": True, "instrumentType": "share"}
            for (t, b), i in INSTRUMENTS.items() if query in t
        ]  # fmt: skip
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
            candles.append({
                "open": decimal_to_quotation(o), "high": decimal_to_quotation(max(o, c) + Decimal("0.10")),
                "low": decimal_to_quotation(min(o, c) - Decimal("0.10")), "close": decimal_to_quotation(c),
                "volume": str(100 + ms // 3_600_000 % 50), "time": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "isComplete": ts + pd.Timedelta(seconds=step_s) <= now,
                "candleSource": "CANDLE_SOURCE_DEALER_WEEKEND" if weekend else "CANDLE_SOURCE_EXCHANGE",
                "volumeBuy": "0", "volumeSell": "0",
            })  # fmt: skip
        return self.ok({"candles": candles})
