"""A fake Bitget v2 REST venue that trades: spot and USDT-M futures, with candles and server time.

It follows reference/broker_apis.md A2-A10: signed private calls (key,
passphrase, 30 s timestamp window, HMAC of exactly what was sent, the
``paptrading`` header matching the key's environment), the ``{code, msg,
requestTime, data}`` envelope with ``"00000"`` for success, numbers as strings,
HTTP 400 with a vendor code for business errors, HTTP 429 when a per-endpoint
bucket is empty, per-market granularity spellings and candle paging rules.

Trading: market orders fill at the current price (spot market buys are sized
in USDT), limit orders rest until a price update crosses them, balances and
one-way futures positions are kept, the buy fee on spot is taken in the bought
coin, futures TP/SL plan orders fire on price updates and vanish with their
position. Duplicate clientOids behave as on the venue: futures refuse any
reuse (40786); spot refuses only while the first order is unfilled.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import ROUND_DOWN, Decimal
from typing import Any

from aiohttp import web

from aitrade.brokers.bitget.auth import prehash, sign
from tests.fakes.bitget_contract import violation
from tests.fakes.common import Bucket, FaultPlan, Server, apply_transport_fault, price_at

KEY, SECRET, PASSPHRASE = "bg-key", "bg-secret", "bg-passphrase"

SPOT = {
    "1min": 60,
    "3min": 180,
    "5min": 300,
    "15min": 900,
    "30min": 1800,
    "1h": 3600,
    "4h": 14400,
    "6Hutc": 21600,
    "12Hutc": 43200,
    "1Dutc": 86400,
    "1Wutc": 604800,
}
#: the granularities the futures Get-Candle-Data page lists (no 2H there)
MIX = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1H": 3600,
    "4H": 14400,
    "6H": 21600,
    "12H": 43200,
    "1D": 86400,
    "1W": 604800,
    "6Hutc": 21600,
    "12Hutc": 43200,
    "1Dutc": 86400,
    "1Wutc": 604800,
}
LOOKBACK_DAYS = {
    60: 30,
    180: 30,
    300: 30,
    900: 30,
    1800: 30,
    3600: 60,
    7200: 120,
    14400: 240,
    21600: 360,
    43200: 720,
    86400: 1440,
    604800: 1440,
}


CONTRACTS = {
    "BTCUSDT": {
        "pricePlace": "1",
        "priceEndStep": "1",
        "volumePlace": "3",
        "sizeMultiplier": "0.001",
        "minTradeNum": "0.001",
        "minTradeUSDT": "5",
    },
    "ETHUSDT": {
        "pricePlace": "2",
        "priceEndStep": "1",
        "volumePlace": "2",
        "sizeMultiplier": "0.01",
        "minTradeNum": "0.01",
        "minTradeUSDT": "5",
    },
}
SPOT_SYMBOLS = {
    "BTCUSDT": {
        "pricePrecision": "2",
        "quantityPrecision": "4",
        "quotePrecision": "6",
        "minTradeAmount": "0",
        "minTradeUSDT": "1",
    },
    "ETHUSDT": {
        "pricePrecision": "2",
        "quantityPrecision": "4",
        "quotePrecision": "6",
        "minTradeAmount": "0",
        "minTradeUSDT": "1",
    },
}
TAKER = Decimal("0.0006")  # futures taker fee
SPOT_FEE = Decimal("0.001")
LIVE = ("live", "partially_filled")
D0 = Decimal(0)


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


class FakeBitget:
    """State and handlers of the fake venue; ``requests`` logs every call."""

    def __init__(self, *, symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT"), listed_ms: int = 1_672_531_200_000):
        self.symbols = set(symbols)
        self.listed_ms = listed_ms  # 2023-01-01: no bars before
        self.faults = FaultPlan()
        self.requests: list[dict[str, Any]] = []
        self.refused: list[tuple[str, str]] = []  # requests that broke their page (path, why)
        self.buckets: dict[str, Bucket] = {}
        self.rate_limit = 20.0
        self.limited = 0  # 429s sent because a bucket was empty
        self.hang_s = 5.0
        self.delay_s = 1.0  # a ``delay`` fault holds a request this long before the venue sees it (in transit)
        self.echo_headers = False  # error bodies echo the request headers (a venue misbehaving)
        self.now_ms: int | None = None  # fixed clock for tests; None = real time
        self.market_now_ms: int | None = None  # the candles' clock alone (a replayed market), else ``clock()``
        self.demo = False  # expect the paptrading header
        self.prices: dict[str, Decimal] = {}  # set_price() overrides the deterministic path
        self.usdt = Decimal(10_000)  # spot USDT
        self.coins: dict[str, Decimal] = {}  # spot coins
        self.margin = Decimal(10_000)  # futures USDT equity before unrealised PnL
        self.positions: dict[str, dict[str, Decimal]] = {}  # futures, one-way: signed qty, avg
        self.leverage: dict[str, int] = {}
        self.orders: dict[str, dict] = {}  # futures orders by clientOid
        self.duplicates: list[str] = []  # clientOids sent again (refused with 40786)
        self.spot_orders: list[dict] = []  # spot orders, every one (a clientOid may repeat after a fill)
        self.plans: list[dict] = []  # futures TP/SL plan orders
        self.seq = 100000
        self.expired = 0  # requests refused because they arrived after their receive window
        app = web.Application()
        app.router.add_get("/api/v2/public/time", self.server_time)
        for market in ("spot", "mix"):
            app.router.add_get(f"/api/v2/{market}/market/candles", self.candles)
            app.router.add_get(f"/api/v2/{market}/market/history-candles", self.candles)
        routes = {
            ("GET", "/api/v2/spot/public/symbols"): self.spot_symbols,
            ("GET", "/api/v2/spot/market/tickers"): self.spot_tickers,
            ("GET", "/api/v2/spot/account/assets"): self.assets,
            ("POST", "/api/v2/spot/trade/place-order"): self.spot_place,
            ("GET", "/api/v2/spot/trade/orderInfo"): self.spot_info,
            ("GET", "/api/v2/spot/trade/unfilled-orders"): self.spot_unfilled,
            ("GET", "/api/v2/spot/trade/history-orders"): self.spot_history,
            ("GET", "/api/v2/mix/order/orders-history"): self.mix_history,
            ("POST", "/api/v2/spot/trade/cancel-order"): self.spot_cancel,
            ("GET", "/api/v2/mix/market/contracts"): self.contracts,
            ("GET", "/api/v2/mix/market/ticker"): self.mix_ticker,
            ("GET", "/api/v2/mix/account/accounts"): self.mix_accounts,
            ("GET", "/api/v2/mix/position/all-position"): self.mix_positions,
            ("POST", "/api/v2/mix/account/set-leverage"): self.set_leverage,
            ("POST", "/api/v2/mix/order/place-order"): self.mix_place,
            ("GET", "/api/v2/mix/order/detail"): self.mix_detail,
            ("GET", "/api/v2/mix/order/orders-pending"): self.mix_pending,
            ("POST", "/api/v2/mix/order/cancel-order"): self.mix_cancel,
            ("POST", "/api/v2/mix/order/place-tpsl-order"): self.place_tpsl,
            ("GET", "/api/v2/mix/order/orders-plan-pending"): self.plan_pending,
            ("GET", "/api/v2/mix/order/orders-plan-history"): self.plan_history,
            ("POST", "/api/v2/mix/order/cancel-plan-order"): self.cancel_plan,
        }
        public = {
            "/api/v2/spot/public/symbols",
            "/api/v2/spot/market/tickers",
            "/api/v2/mix/market/contracts",
            "/api/v2/mix/market/ticker",
        }
        for (method, path), handler in routes.items():
            app.router.add_route(method, path, self._wrap(handler, private=path not in public))
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

    # --- the gate: faults, rate limits, authentication ----------------------------------------
    async def _gate(self, request: web.Request) -> web.Response | None:
        self.requests.append({"path": request.path, "query": dict(request.query), "method": request.method})
        fault = self.faults.take(request.path)
        if fault in ("hang", "reset"):
            await apply_transport_fault(fault, request, self.hang_s)
        if fault == "429":
            return web.json_response(
                {"code": "429", "msg": "Too Many Requests", "requestTime": self.clock(), "data": None}, status=429
            )
        if fault == "500":
            return web.Response(status=500, text="Internal Server Error")
        bucket = self.buckets.setdefault(request.path, Bucket(self.rate_limit, self.rate_limit))
        if not bucket.take():
            self.limited += 1
            return web.json_response(
                {"code": "429", "msg": "Too Many Requests", "requestTime": self.clock(), "data": None}, status=429
            )
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

    def _wrap(self, handler: Any, *, private: bool) -> Any:
        async def run(request: web.Request) -> web.StreamResponse:
            text = await request.text()
            if self.faults.take(request.path, frozenset({"delay"})) == "delay":
                await asyncio.sleep(self.delay_s)  # still in transit: the venue has not seen it yet
            if self.echo_headers and private:  # a misbehaving venue whose error body repeats our headers
                return self.error("40006", f"Invalid request; headers were {dict(request.headers)}")
            denied = await self._gate(request) or (await self._auth(request, text) if private else None)
            if denied is not None:
                return denied
            args = dict(request.query) if request.method == "GET" else json.loads(text or "{}")
            bad = violation(request.method, request.path, args)  # as the v2 pages define the request
            if bad is not None:
                self.refused.append((request.path, bad[1]))
                return self.error(*bad)
            refuse = request.method == "POST" and "place" in request.path
            if refuse and self.faults.take(request.path, frozenset({"refuse"})) == "refuse":  # the venue says no
                return self.error("40762", "The order amount exceeds the balance")
            answer = handler(args)
            late = request.method == "POST" and ("place" in request.path or "cancel" in request.path)
            fault = self.faults.take(request.path, frozenset({"after", "after500"})) if late else None
            if fault == "after":
                await asyncio.sleep(self.hang_s)  # done, but the answer never arrives in time
            elif fault == "after500":
                return web.Response(status=500, text="Internal Server Error")  # done, then a 5xx
            return answer

        return run

    async def server_time(self, request: web.Request) -> web.Response:
        if request.headers.get("paptrading"):
            return web.Response(status=404, text="Not Found")
        return self.envelope({"serverTime": str(self.clock())})

    # --- prices -------------------------------------------------------------------------------
    def price(self, symbol: str) -> Decimal:
        if symbol in self.prices:
            return self.prices[symbol]
        return Decimal(f"{price_at(symbol, self.clock()):.2f}")

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Move the market: resting limits that are crossed fill (half of what is left on a ``partial`` fault for
        the symbol, the rest resting on), TP/SL plans that are touched fire."""
        self.prices[symbol] = Decimal(price)
        for order in [*self.orders.values(), *self.spot_orders]:
            if order["symbol"] == symbol and order["status"] in LIVE and order["orderType"] == "limit":
                limit = Decimal(order["price"])
                if (order["side"] == "buy" and price <= limit) or (order["side"] == "sell" and price >= limit):
                    rest = Decimal(order["size"]) - Decimal(order["baseVolume"])
                    if self.faults.take(symbol, frozenset({"partial"})) == "partial":
                        step = Decimal("0.0001") if order["spot"] else Decimal(CONTRACTS[symbol]["sizeMultiplier"])
                        rest = max(step, (rest / 2 / step).to_integral_value(rounding=ROUND_DOWN) * step)
                    self._fill(order, rest, limit)
        for plan in [p for p in self.plans if p["symbol"] == symbol and p["planStatus"] == "live"]:
            long = plan["holdSide"] in ("buy", "long")
            trig = Decimal(plan["triggerPrice"])
            if plan["planType"] == "loss_plan":
                hit = price <= trig if long else price >= trig
            else:
                hit = price >= trig if long else price <= trig
            if hit:
                plan["planStatus"] = "executed"
                held = abs(self.positions.get(symbol, {}).get("qty", D0))
                size = min(Decimal(plan["size"]), held)
                if size > 0:  # the venue's own market order, at the market (a gap goes past the trigger)
                    order = self._new_mix(
                        {
                            "symbol": symbol,
                            "side": "sell" if long else "buy",
                            "orderType": "market",
                            "size": _s(size),
                            "reduceOnly": "YES",
                            "clientOid": f"plan-{plan['orderId']}",
                        }
                    )
                    plan["executeOrderId"] = order["orderId"]

    def complete(self, client_oid: str) -> None:
        """Fill the rest of a partially filled order (the venue found the other half)."""
        for order in [*self.orders.values(), *self.spot_orders]:
            if order["clientOid"] == client_oid and order["status"] == "partially_filled":
                rest = Decimal(order["size"]) - Decimal(order["baseVolume"])
                self._fill(order, rest, Decimal(order["price"] or order["priceAvg"]))

    # --- reference data -----------------------------------------------------------------------
    def spot_symbols(self, q: dict) -> web.Response:
        rows = [
            {"symbol": s, "baseCoin": s[:-4], "quoteCoin": "USDT", "status": "online", **info}
            for s, info in SPOT_SYMBOLS.items()
            if not q.get("symbol") or q["symbol"] == s
        ]
        if q.get("symbol") and not rows:
            return self.error("40034", "Parameter symbol does not exist")
        return self.envelope(rows)

    def contracts(self, q: dict) -> web.Response:
        if q.get("productType", "").upper() != "USDT-FUTURES":
            return self.error("40020", "Parameter productType error")
        rows = [
            {
                "symbol": s,
                "baseCoin": s[:-4],
                "quoteCoin": "USDT",
                "symbolType": "perpetual",
                "symbolStatus": "normal",
                "supportMarginCoins": ["USDT"],
                "minLever": "1",
                "maxLever": "125",
                **c,
            }
            for s, c in CONTRACTS.items()
            if not q.get("symbol") or q["symbol"] == s
        ]
        if q.get("symbol") and not rows:
            return self.error("40034", "Parameter symbol does not exist")
        return self.envelope(rows)

    def spot_tickers(self, q: dict) -> web.Response:
        syms = [q["symbol"]] if q.get("symbol") else sorted(SPOT_SYMBOLS)
        return self.envelope([{"symbol": s, "lastPr": _s(self.price(s)), "ts": str(self.clock())} for s in syms])

    def mix_ticker(self, q: dict) -> web.Response:
        s = q.get("symbol", "")
        if s not in CONTRACTS:
            return self.error("40034", "Parameter symbol does not exist")
        p = _s(self.price(s))
        return self.envelope([{"symbol": s, "lastPr": p, "markPrice": p, "indexPrice": p, "ts": str(self.clock())}])

    # --- fills --------------------------------------------------------------------------------
    def _fill(self, order: dict, qty: Decimal, price: Decimal) -> None:
        if qty <= 0:
            return
        symbol, side = order["symbol"], order["side"]
        before = Decimal(order["baseVolume"])
        avg = Decimal(order["priceAvg"] or "0")
        order["priceAvg"] = _s((before * avg + qty * price) / (before + qty))
        order["baseVolume"] = _s(before + qty)
        done = Decimal(order["baseVolume"]) >= Decimal(order["size"])
        order["uTime"] = str(self.clock())
        if order.get("spot"):
            coin = symbol[:-4]
            if side == "buy":
                fee = (qty * SPOT_FEE).quantize(Decimal("0.00000001"))
                self.usdt -= qty * price
                self.coins[coin] = self.coins.get(coin, D0) + qty - fee
                order["fee_total"] += fee
                order["feeDetail"] = json.dumps(
                    {
                        "newFees": {
                            "c": 0,
                            "d": 0,
                            "deduction": False,
                            "r": -float(order["fee_total"]),
                            "t": -float(order["fee_total"]),
                            "totalDeductionFee": 0,
                        },
                        coin: {
                            "deduction": False,
                            "feeCoinCode": coin,
                            "totalDeductionFee": 0,
                            "totalFee": -float(order["fee_total"]),
                        },
                    }
                )
            else:
                fee = qty * price * SPOT_FEE
                self.coins[coin] = self.coins.get(coin, D0) - qty
                self.usdt += qty * price - fee
                order["fee_total"] += fee
                order["feeDetail"] = json.dumps(
                    {
                        "USDT": {
                            "deduction": False,
                            "feeCoinCode": "USDT",
                            "totalDeductionFee": 0,
                            "totalFee": -float(order["fee_total"]),
                        }
                    }
                )
            order["status"] = "filled" if done else "partially_filled"
            return
        signed = qty if side == "buy" else -qty
        pos = self.positions.setdefault(symbol, {"qty": D0, "avg": D0})
        old, old_avg = pos["qty"], pos["avg"]
        new = old + signed
        if old == 0 or (old > 0) == (signed > 0):
            pos["avg"] = (old * old_avg + signed * price) / new
        else:
            closed = min(abs(signed), abs(old))
            self.margin += closed * (price - old_avg) * (1 if old > 0 else -1)
            if new != 0 and (new > 0) != (old > 0):
                pos["avg"] = price
        pos["qty"] = new
        fee = qty * price * TAKER
        self.margin -= fee
        order["fee"] = _s(-(Decimal(order["fee"].lstrip("-") or "0") + fee))
        order["state"] = order["status"] = "filled" if done else "partially_filled"
        if new == 0:
            for plan in self.plans:  # a position's TP/SL go with it
                if plan["symbol"] == symbol and plan["planStatus"] == "live":
                    plan["planStatus"] = "cancelled"

    def _order(self, body: dict, *, spot: bool) -> dict:
        self.seq += 1
        now = str(self.clock())
        return {
            "orderId": str(self.seq),
            "clientOid": body.get("clientOid") or f"bg-{self.seq}",
            "symbol": body["symbol"],
            "side": body["side"],
            "orderType": body["orderType"],
            "size": body["size"],
            "price": body.get("price", ""),
            "baseVolume": "0",
            "priceAvg": "",
            "status": "live",
            "state": "live",
            "fee": "0",
            "reduceOnly": body.get("reduceOnly", "NO"),
            "cTime": now,
            "uTime": now,
            "spot": spot,
            "fee_total": D0,
            "feeDetail": "",
        }

    def _execute(self, order: dict, requested: Decimal) -> None:
        """Match a new order now: market fills (or half of it on a ``partial`` fault), a crossing limit fills."""
        price = self.price(order["symbol"])
        partial = self.faults.take(order["symbol"], frozenset({"partial"})) == "partial"
        step = Decimal("0.0001") if order["spot"] else Decimal(CONTRACTS[order["symbol"]]["sizeMultiplier"])
        qty = (requested / 2 / step).to_integral_value(rounding=ROUND_DOWN) * step if partial else requested
        if order["orderType"] == "market":
            self._fill(order, qty, price)
        else:
            limit = Decimal(order["price"])
            if (order["side"] == "buy" and price <= limit) or (order["side"] == "sell" and price >= limit):
                self._fill(order, qty, limit)

    # --- spot ---------------------------------------------------------------------------------
    def assets(self, q: dict) -> web.Response:
        rows = [
            {
                "coin": "USDT",
                "available": _s(self.usdt),
                "frozen": "0",
                "locked": "0",
                "limitAvailable": "0",
                "uTime": str(self.clock()),
            }
        ]
        rows += [
            {
                "coin": c,
                "available": _s(v),
                "frozen": "0",
                "locked": "0",
                "limitAvailable": "0",
                "uTime": str(self.clock()),
            }
            for c, v in sorted(self.coins.items())
            if v != 0
        ]
        if q.get("coin"):
            rows = [r for r in rows if r["coin"] == q["coin"]]
        return self.envelope(rows)

    def _spot_view(self, o: dict) -> dict:
        keep = (
            "orderId",
            "clientOid",
            "symbol",
            "side",
            "orderType",
            "size",
            "price",
            "baseVolume",
            "priceAvg",
            "status",
            "feeDetail",
            "cTime",
            "uTime",
        )
        return {k: o[k] for k in keep} | {"quoteVolume": _s(Decimal(o["baseVolume"]) * Decimal(o["priceAvg"] or 0))}

    def _expired(self, body: dict) -> bool:
        """Whether a request carrying ``requestTime`` reached us after its ``receiveWindow`` (ms)."""
        if "requestTime" not in body:
            return False
        window = int(body.get("receiveWindow") or 5000)
        return self.clock() - int(body["requestTime"]) > window

    def spot_place(self, body: dict) -> web.Response:
        if self._expired(body):
            self.expired += 1
            return self.error("40008", "Request timestamp expired")
        symbol = body.get("symbol", "")
        if symbol not in SPOT_SYMBOLS:
            return self.error("40034", "Parameter symbol does not exist")
        cid = body.get("clientOid", "")
        if cid and any(o["clientOid"] == cid and o["status"] in LIVE for o in self.spot_orders):
            return self.error("43118", "clientOrderId duplicate")
        price = self.price(symbol)
        size = Decimal(body["size"])
        spec = SPOT_SYMBOLS[symbol]
        quote_sized = body["orderType"] == "market" and body["side"] == "buy"
        places = int(spec["quotePrecision"] if quote_sized else spec["quantityPrecision"])
        if size != size.quantize(Decimal(1).scaleb(-places)) or (
            body.get("price")
            and Decimal(body["price"])
            != Decimal(body["price"]).quantize(Decimal(1).scaleb(-int(spec["pricePrecision"])))
        ):
            return self.error("40808", f"checkBDScale error value={body['size']}/{body.get('price')}")
        if body["orderType"] == "market" and body["side"] == "buy":
            quote = size
            base = (quote / price).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
        else:
            base = size
            quote = size * (Decimal(body["price"]) if body["orderType"] == "limit" else price)
        if quote < Decimal(SPOT_SYMBOLS[symbol]["minTradeUSDT"]):
            return self.error("45110", f"less than the minimum amount {SPOT_SYMBOLS[symbol]['minTradeUSDT']} USDT")
        if body["side"] == "buy" and quote > self.usdt:
            return self.error("43012", "Insufficient balance")
        if body["side"] == "sell" and base > self.coins.get(symbol[:-4], D0):
            return self.error("43012", "Insufficient balance")
        order = self._order(body, spot=True)
        order["quote"] = quote
        self.spot_orders.append(order)
        if body["orderType"] == "market" and body["side"] == "buy":
            order["size"] = _s(base)  # kept internally in base; shown as the quote amount
            self._execute(order, base)
            order["size_shown"] = _s(quote)
        else:
            self._execute(order, base)
        return self.envelope({"orderId": order["orderId"], "clientOid": order["clientOid"]})

    def _spot_find(self, q: dict) -> dict | None:
        found = [
            o for o in self.spot_orders if o["clientOid"] == q.get("clientOid") or o["orderId"] == q.get("orderId")
        ]
        return found[-1] if found else None

    def spot_info(self, q: dict) -> web.Response:
        """Get-Order-Info: by orderId any order; by clientOid only an unfilled one (the page says so)."""
        if not q.get("orderId") and not q.get("clientOid"):
            return self.error("40019", "Parameter orderId or clientOid cannot be empty")
        o = self._spot_find(q)
        if o is None or (not q.get("orderId") and o["status"] not in LIVE):
            return self.envelope([])
        view = self._spot_view(o)
        if "size_shown" in o:
            view["size"] = o["size_shown"]
        return self.envelope([view])

    def spot_unfilled(self, q: dict) -> web.Response:
        return self.envelope(
            [
                self._spot_view(o)
                for o in self.spot_orders
                if o["status"] in LIVE and q.get("symbol") in (None, o["symbol"])
            ]
        )

    @staticmethod
    def _page(rows: list[dict], q: dict) -> list[dict]:
        """Newest first, below ``idLessThan``, at most ``limit`` (<= 100) rows."""
        rows = sorted(rows, key=lambda o: int(o["orderId"]), reverse=True)
        if q.get("idLessThan"):
            rows = [o for o in rows if int(o["orderId"]) < int(q["idLessThan"])]
        return rows[: min(int(q.get("limit") or 100), 100)]

    def spot_history(self, q: dict) -> web.Response:
        done = [o for o in self.spot_orders if o["status"] not in LIVE and q.get("symbol") in (None, o["symbol"])]
        return self.envelope([self._spot_view(o) for o in self._page(done, q)])

    def mix_history(self, q: dict) -> web.Response:
        done = [o for o in self.orders.values() if o["status"] not in LIVE and q.get("symbol") in (None, o["symbol"])]
        rows = [self._mix_view(o, key="status") for o in self._page(done, q)]
        return self.envelope({"entrustedList": rows or None, "endId": rows[-1]["orderId"] if rows else None})

    def spot_cancel(self, body: dict) -> web.Response:
        o = self._spot_find(body)
        if o is None or o["status"] not in LIVE:
            return self.error("43001", "The order does not exist")
        o["status"] = "cancelled"
        return self.envelope({"orderId": o["orderId"], "clientOid": o["clientOid"]})

    # --- futures ------------------------------------------------------------------------------
    def _upnl(self) -> Decimal:
        return sum((p["qty"] * (self.price(s) - p["avg"]) for s, p in self.positions.items()), D0)

    def _used(self) -> Decimal:
        return sum((abs(p["qty"]) * p["avg"] / self.leverage.get(s, 10) for s, p in self.positions.items()), D0)

    def mix_accounts(self, q: dict) -> web.Response:
        if q.get("productType", "").upper() != "USDT-FUTURES":
            return self.error("40020", "Parameter productType error")
        upnl = self._upnl()
        return self.envelope(
            [
                {
                    "marginCoin": "USDT",
                    "locked": "0",
                    "available": _s(self.margin - self._used()),
                    "accountEquity": _s(self.margin + upnl),
                    "usdtEquity": _s(self.margin + upnl),
                    "unrealizedPL": _s(upnl),
                    "crossedUnrealizedPL": None,
                    "assetMode": "single",
                }
            ]
        )

    def mix_positions(self, q: dict) -> web.Response:
        rows = []
        for s, p in sorted(self.positions.items()):
            rows.append(
                {
                    "marginCoin": "USDT",
                    "symbol": s,
                    "holdSide": "long" if p["qty"] >= 0 else "short",
                    "total": _s(abs(p["qty"])),
                    "available": _s(abs(p["qty"])),
                    "openPriceAvg": _s(p["avg"]),
                    "markPrice": _s(self.price(s)),
                    "unrealizedPL": _s(p["qty"] * (self.price(s) - p["avg"])),
                    "leverage": str(self.leverage.get(s, 10)),
                    "marginMode": "crossed",
                    "posMode": "one_way_mode",
                }
            )  # (flat rows stay, with total "0", as on the venue)
        return self.envelope(rows)

    def set_leverage(self, body: dict) -> web.Response:
        self.leverage[body["symbol"]] = int(body["leverage"])
        lev = body["leverage"]
        return self.envelope(
            {
                "symbol": body["symbol"],
                "marginCoin": "USDT",
                "longLeverage": lev,
                "shortLeverage": lev,
                "crossMarginLeverage": lev,
                "marginMode": "crossed",
            }
        )

    def _new_mix(self, body: dict) -> dict:
        order = self._order(body, spot=False)
        self.orders[order["clientOid"]] = order
        self._execute(order, Decimal(body["size"]))
        return order

    def mix_place(self, body: dict) -> web.Response:
        symbol = body.get("symbol", "")
        if symbol not in CONTRACTS:
            return self.error("40034", "Parameter symbol does not exist")
        for key in ("productType", "marginMode", "marginCoin", "size", "side", "orderType"):
            if not body.get(key):
                return self.error("40019", f"Parameter {key} cannot be empty")
        cid = body.get("clientOid", "")
        if cid and cid in self.orders:
            self.duplicates.append(cid)
            return self.error("40786", "Duplicate clientOid")
        size = Decimal(body["size"])
        spec = CONTRACTS[symbol]
        if size % Decimal(spec["sizeMultiplier"]) != 0:
            return self.error("40808", f"checkBDScale error value={body['size']} checkScale={spec['volumePlace']}")
        tick = Decimal(spec["priceEndStep"]).scaleb(-int(spec["pricePlace"]))
        if body.get("price") and Decimal(body["price"]) % tick != 0:
            return self.error("40808", f"checkBDScale error value={body['price']} checkScale={spec['pricePlace']}")
        if size < Decimal(spec["minTradeNum"]):
            return self.error("43006", "The order amount is less than the minimum transaction volume")
        price = Decimal(body["price"]) if body["orderType"] == "limit" else self.price(symbol)
        held = self.positions.get(symbol, {}).get("qty", D0)
        if body.get("reduceOnly") == "YES":
            reduces = (held > 0 and body["side"] == "sell") or (held < 0 and body["side"] == "buy")
            if not reduces or size > abs(held):
                return self.error("22002", "No position to close")
        elif size * price / self.leverage.get(symbol, 10) > self.margin - self._used():
            return self.error("43012", "Insufficient balance")
        order = self._new_mix(body)
        return self.envelope({"orderId": order["orderId"], "clientOid": order["clientOid"]})

    def _mix_view(self, o: dict, *, key: str) -> dict:
        keep = (
            "orderId",
            "clientOid",
            "symbol",
            "side",
            "orderType",
            "size",
            "price",
            "baseVolume",
            "priceAvg",
            "fee",
            "reduceOnly",
            "cTime",
            "uTime",
        )
        view = {k: o[k] for k in keep} | {
            "marginCoin": "USDT",
            "marginMode": "crossed",
            "posMode": "one_way_mode",
            "force": "gtc",
            "productType": "USDT-FUTURES",
        }
        view[key] = o["status"].replace("cancelled", "canceled")
        return view

    def mix_detail(self, q: dict) -> web.Response:
        order = self.orders.get(q.get("clientOid", "")) or next(
            (o for o in self.orders.values() if o["orderId"] == q.get("orderId")), None
        )
        if order is None:
            return self.error("40109", "The data of the order cannot be found, please confirm the order number")
        return self.envelope(self._mix_view(order, key="state"))

    def mix_pending(self, q: dict) -> web.Response:
        rows = [
            self._mix_view(o, key="status")
            for o in self.orders.values()
            if o["status"] in LIVE and q.get("symbol") in (None, o["symbol"])
        ]
        return self.envelope({"entrustedList": rows or None, "endId": rows[-1]["orderId"] if rows else None})

    def mix_cancel(self, body: dict) -> web.Response:
        order = self.orders.get(body.get("clientOid", "")) or next(
            (o for o in self.orders.values() if o["orderId"] == body.get("orderId")), None
        )
        resting = order is not None and order["status"] in LIVE and order["orderType"] == "limit"
        # a fault: the market went through the limit while the cancel was on its way, so the order fills first
        if resting and self.faults.take(order["symbol"], frozenset({"fill-before-cancel"})) == "fill-before-cancel":
            self._fill(order, Decimal(order["size"]) - Decimal(order["baseVolume"]), Decimal(order["price"]))
        if order is None or order["status"] not in LIVE:
            return self.error("40768", "Order does not exist")
        order["status"] = order["state"] = "cancelled"
        return self.envelope({"orderId": order["orderId"], "clientOid": order["clientOid"]})

    def place_tpsl(self, body: dict) -> web.Response:
        symbol = body.get("symbol", "")
        if body.get("planType") not in ("loss_plan", "profit_plan"):
            return self.error("40020", "Parameter planType error")
        cid = body.get("clientOid", "")
        if cid and any(p["clientOid"] == cid for p in self.plans):
            self.duplicates.append(cid)
            return self.error("40786", "Duplicate clientOid")
        held = self.positions.get(symbol, {}).get("qty", D0)
        long = body.get("holdSide") in ("buy", "long")
        size = Decimal(body.get("size") or "0")
        if held == 0 or (held > 0) != long or size > abs(held):
            return self.error("40891", "Insufficient position, can not set profit or stop loss")
        trig, mark = Decimal(body["triggerPrice"]), self.price(symbol)
        if body["planType"] == "loss_plan" and ((long and trig >= mark) or (not long and trig <= mark)):
            return self.error(
                "40917" if long else "45122",
                "Stop price for long positions please < mark price"
                if long
                else "Short position stop loss price please > mark price",
            )
        self.seq += 1
        plan = {
            "orderId": str(self.seq),
            "clientOid": cid or f"plan-{self.seq}",
            "symbol": symbol,
            "planType": body["planType"],
            "triggerPrice": body["triggerPrice"],
            "triggerType": body.get("triggerType", "fill_price"),
            "size": body["size"],
            "holdSide": body["holdSide"],
            "planStatus": "live",
            "marginCoin": "USDT",
            "cTime": str(self.clock()),
        }
        self.plans.append(plan)
        return self.envelope({"orderId": plan["orderId"], "clientOid": plan["clientOid"]})

    def plan_pending(self, q: dict) -> web.Response:
        if q.get("planType") not in ("normal_plan", "track_plan", "profit_loss"):
            return self.error("40019", "Parameter planType cannot be empty")
        rows = [
            dict(p)
            for p in self.plans
            if p["planStatus"] == "live" and q.get("symbol") in (None, p["symbol"]) and q["planType"] == "profit_loss"
        ]
        return self.envelope({"entrustedList": rows or None, "endId": rows[-1]["orderId"] if rows else None})

    def plan_history(self, q: dict) -> web.Response:
        """Get-History-Trigger-Order: planType and productType required, orderId or clientOid, newest first."""
        if q.get("planType") not in ("normal_plan", "track_plan", "profit_loss"):
            return self.error("40019", "Parameter planType cannot be empty")
        if not q.get("productType"):
            return self.error("40019", "Parameter productType cannot be empty")
        if not q.get("orderId") and not q.get("clientOid"):
            return self.error("40019", "Parameter orderId or clientOid cannot be empty")
        rows = [
            dict(p, executeOrderId=p.get("executeOrderId", ""))
            for p in reversed(self.plans)
            if p["planStatus"] != "live"
            and q.get("symbol") in (None, p["symbol"])
            and (p["orderId"] == q.get("orderId") if q.get("orderId") else p["clientOid"] == q.get("clientOid"))
        ]
        return self.envelope({"entrustedList": rows or None, "endId": rows[-1]["orderId"] if rows else None})

    def cancel_plan(self, body: dict) -> web.Response:
        ok, failed = [], []
        for ref in body.get("orderIdList") or []:
            plan = next(
                (
                    p
                    for p in self.plans
                    if p["planStatus"] == "live"
                    and (p["orderId"] == ref.get("orderId") or p["clientOid"] == ref.get("clientOid"))
                ),
                None,
            )
            if plan is None:
                failed.append({**ref, "errorMsg": "plan order does not exist", "errorCode": "43025"})
            else:
                plan["planStatus"] = "cancelled"
                ok.append({"orderId": plan["orderId"], "clientOid": plan["clientOid"]})
        if failed and not ok:
            return self.error("43025", "Plan order does not exist")
        return self.envelope({"successList": ok, "failureList": failed})

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
        now = self.market_now_ms if self.market_now_ms is not None else self.clock()
        end = min(int(q.get("endTime", now)), now)
        start = int(q["startTime"]) if "startTime" in q else 0
        if mix and history and "startTime" in q and end - start > 90 * 86_400_000:
            return self.error("40017", "Parameter verification failed: startTime-endTime span > 90 days")
        if not history:
            start = max(start, now - LOOKBACK_DAYS[step_s] * 86_400_000)
        rows = self.truth(symbol, step_s, start, end + 1)  # endTime is inclusive
        return self.envelope(rows[-limit:])
