"""A fake Bitget v2 REST venue: public candles (spot and USDT-M futures) and server time.

It follows reference/broker_apis.md A3-A6: the ``{code, msg, requestTime, data}``
envelope with ``"00000"`` for success, numbers as strings, HTTP 400 with a
code for business errors, HTTP 429 when a per-endpoint bucket (20 req/s) is
empty, per-market granularity spellings, recent (<= 1000 rows, limited
lookback) versus history (<= 200 rows; futures span <= 90 days) endpoints,
and the still-forming newest candle included in answers.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from aitrade.brokers.bitget.auth import prehash, sign
from tests.fakes.common import Bucket, FaultPlan, Server, apply_transport_fault, price_at

KEY, SECRET, PASSPHRASE = "bg-key", "bg-secret", "bg-passphrase"

SPOT = {"1min": 60, "3min": 180, "5min": 300, "15min": 900, "30min": 1800, "1h": 3600, "4h": 14400,
        "6Hutc": 21600, "12Hutc": 43200, "1Dutc": 86400, "1Wutc": 604800}  # fmt: skip
MIX = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1H": 3600, "2H": 7200, "4H": 14400,
       "6Hutc": 21600, "12Hutc": 43200, "1Dutc": 86400, "1Wutc": 604800}  # fmt: skip
LOOKBACK_DAYS = {60: 30, 180: 30, 300: 30, 900: 30, 1800: 30, 3600: 60, 7200: 120, 14400: 240,
                 21600: 360, 43200: 720, 86400: 1440, 604800: 1440}  # fmt: skip


class FakeBitget:
    """State and handlers of the fake venue; ``requests`` logs every call."""

    def __init__(self, *, symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT"), listed_ms: int = 1_672_531_200_000):
        self.symbols = set(symbols)
        self.listed_ms = listed_ms  # 2023-01-01: no bars before
        self.faults = FaultPlan()
        self.requests: list[dict[str, Any]] = []
        self.buckets: dict[str, Bucket] = {}
        self.rate_limit = 20.0
        self.limited = 0  # 429s sent because a bucket was empty
        self.hang_s = 5.0
        self.now_ms: int | None = None  # fixed clock for tests; None = real time
        app = web.Application()
        app.router.add_get("/api/v2/public/time", self.server_time)
        app.router.add_get("/api/v2/spot/account/assets", self.assets)
        app.router.add_post("/api/v2/mix/order/place-order", self.mix_place)
        app.router.add_get("/api/v2/mix/order/detail", self.mix_detail)
        self.balance = 10_000.0
        self.orders: dict[str, dict] = {}
        self.demo = False  # expect the paptrading header
        for market in ("spot", "mix"):
            app.router.add_get(f"/api/v2/{market}/market/candles", self.candles)
            app.router.add_get(f"/api/v2/{market}/market/history-candles", self.candles)
        self.server = Server(app)

    async def start(self) -> str:
        return await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    def clock(self) -> int:
        return self.now_ms if self.now_ms is not None else int(time.time() * 1000)

    def envelope(self, data: Any, status: int = 200, code: str = "00000", msg: str = "success") -> web.Response:
        body = {"code": code, "msg": msg, "requestTime": self.clock(), "data": data}
        return web.json_response(body, status=status)

    def error(self, code: str, msg: str, status: int = 400) -> web.Response:
        return self.envelope(None, status=status, code=code, msg=msg)

    async def _gate(self, request: web.Request) -> web.Response | None:
        self.requests.append({"path": request.path, "query": dict(request.query)})
        fault = self.faults.take(request.path)
        if fault in ("hang", "reset"):
            await apply_transport_fault(fault, request, self.hang_s)
        if fault == "429":
            return web.json_response({"code": "429", "msg": "Too Many Requests", "requestTime": self.clock(),
                                      "data": None}, status=429)  # fmt: skip
        if fault == "500":
            return web.Response(status=500, text="Internal Server Error")
        bucket = self.buckets.setdefault(request.path, Bucket(self.rate_limit, self.rate_limit))
        if not bucket.take():
            self.limited += 1
            return web.json_response({"code": "429", "msg": "Too Many Requests", "requestTime": self.clock(),
                                      "data": None}, status=429)  # fmt: skip
        return None

    async def _auth(self, request: web.Request, body: str) -> web.Response | None:
        """Verify key, passphrase, timestamp window (30 s) and the signature of exactly what was sent."""
        h = request.headers
        if h.get("ACCESS-KEY") != KEY:
            return self.error("40006", "Invalid ACCESS_KEY")
        if h.get("ACCESS-PASSPHRASE") != PASSPHRASE:
            return self.error("40012", "apikey/password is incorrect")
        ts = h.get("ACCESS-TIMESTAMP", "")
        if not ts.isdigit() or abs(int(ts) - self.clock()) > 30_000:
            return self.error("40008", "Request timestamp expired")
        query = request.rel_url.raw_query_string
        expected = sign(SECRET, prehash(ts, request.method, request.path, query, body))
        if h.get("ACCESS-SIGN") != expected:
            return self.error("40009", "sign signature error")
        if bool(h.get("paptrading")) != self.demo:
            return self.error("40099", "exchange environment is incorrect")
        return None

    async def assets(self, request: web.Request) -> web.Response:
        denied = await self._gate(request) or await self._auth(request, "")
        if denied is not None:
            return denied
        return self.envelope([{"coin": "USDT", "available": f"{self.balance:.4f}", "frozen": "0", "locked": "0",
                               "limitAvailable": "0", "uTime": str(self.clock())}])  # fmt: skip

    async def mix_place(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        denied = await self._gate(request) or await self._auth(request, text)
        if denied is not None:
            return denied
        body = json.loads(text)
        cid = body.get("clientOid", "")
        if cid and cid in self.orders:
            return self.error("40786", "Duplicate clientOid")
        price = price_at(body["symbol"], self.clock())
        if float(body["size"]) * price > self.balance:
            return self.error("43012", "Insufficient balance")
        order = {"orderId": str(100000 + len(self.orders)), "clientOid": cid, "symbol": body["symbol"],
                 "size": body["size"], "side": body["side"], "state": "filled", "priceAvg": f"{price:.2f}",
                 "baseVolume": body["size"], "orderType": body["orderType"]}  # fmt: skip
        self.orders[cid] = order
        if self.faults.take("place-order:after") == "after":
            await asyncio.sleep(self.hang_s)  # accepted, but the answer never arrives in time
        return self.envelope({"orderId": order["orderId"], "clientOid": cid})

    async def mix_detail(self, request: web.Request) -> web.Response:
        denied = await self._gate(request) or await self._auth(request, "")
        if denied is not None:
            return denied
        order = self.orders.get(request.query.get("clientOid", ""))
        if order is None:
            return self.error("40109", "The data of the order cannot be found, please confirm the order number")
        return self.envelope(order)

    async def server_time(self, request: web.Request) -> web.Response:
        if request.headers.get("paptrading"):
            return web.Response(status=404, text="Not Found")
        return self.envelope({"serverTime": str(self.clock())})

    def bar(self, symbol: str, ts: int, step_s: int) -> list[str]:
        o = price_at(symbol, ts)
        c = price_at(symbol, ts + step_s * 1000)
        hi, lo = max(o, c) * 1.001, min(o, c) * 0.999
        vol = 10.0 + (ts // 1000) % 97
        return [str(ts), f"{o:.4f}", f"{hi:.4f}", f"{lo:.4f}", f"{c:.4f}", f"{vol:.3f}", f"{vol * c:.2f}"]

    def truth(self, symbol: str, step_s: int, start_ms: int, end_ms: int) -> list[list[str]]:
        """Every bar the venue holds with open time in [start_ms, end_ms)."""
        step = step_s * 1000
        first = max(self.listed_ms, -(-start_ms // step) * step)
        return [self.bar(symbol, ts, step_s) for ts in range(first, end_ms, step)]

    async def candles(self, request: web.Request) -> web.Response:
        denied = await self._gate(request)
        if denied is not None:
            return denied
        q = request.query
        mix = "/mix/" in request.path
        history = request.path.endswith("history-candles")
        table = MIX if mix else SPOT
        symbol, gran = q.get("symbol", ""), q.get("granularity", "")
        if not symbol or not gran:
            return self.error("40019", "Parameter symbol or granularity cannot be empty")
        if mix and q.get("productType", "").upper() != "USDT-FUTURES":
            return self.error("40020", "Parameter productType error")
        if gran not in table:
            return self.error("40020", f"Parameter granularity error: {gran}")
        if symbol not in self.symbols:
            return self.error("40034", "Parameter symbol does not exist")
        limit = int(q.get("limit", "100"))
        max_limit = 200 if history else 1000
        if limit > max_limit or limit < 1:
            return self.error("40017", f"Parameter verification failed: limit must be <= {max_limit}")
        if history and not mix and "endTime" not in q:
            return self.error("40019", "Parameter endTime cannot be empty")
        step_s = table[gran]
        now = self.clock()
        end = min(int(q.get("endTime", now)), now)
        start = int(q["startTime"]) if "startTime" in q else 0
        if mix and history and "startTime" in q and end - start > 90 * 86_400_000:
            return self.error("40017", "Parameter verification failed: startTime-endTime span > 90 days")
        if not history:
            start = max(start, now - LOOKBACK_DAYS[step_s] * 86_400_000)
        rows = self.truth(symbol, step_s, start, end + 1)  # endTime is inclusive
        return self.envelope(rows[-limit:])
