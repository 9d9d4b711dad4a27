"""T-Invest API v2 through its REST gateway: candles and instrument lookup.

Every method is ``POST {base}/tinkoff.public.invest.api.contract.v1.{Service}/{Method}``
with a JSON body and ``Authorization: Bearer <token>``. int64 fields are JSON
strings, enums are names, prices are Quotations (reference/broker_apis.md B1-B5).

* Candles: ``MarketDataService/GetCandles`` in windows no longer than the
  interval's maximum span (1h and 4h: 3 months, 1d: 6 years, ...). A window
  that comes back full is split in two, so nothing is silently truncated.
  Forming candles (``isComplete: false``) and dealer weekend candles are
  dropped; volume is converted from lots to shares.
* Instruments: resolved by ticker and board (TQBR shares, CETS FX) through
  ``InstrumentsService/GetInstrumentBy``, falling back to ``FindInstrument``,
  and cached in ``state/instruments.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pandas as pd

from aitrade.data.intervals import parse_interval
from aitrade.data.sources.http import request_json, retry_after_s
from aitrade.errors import (
    AuthError,
    DataError,
    HaltError,
    RateLimited,
    ReconcileError,
    RetryableError,
    UnknownSymbolError,
    UserError,
)
from aitrade.money import quotation_to_decimal
from aitrade.ratelimit import RateLimiter
from aitrade.retry import RetryPolicy, retry_async
from aitrade.statefile import atomic_write_json, read_json_object
from aitrade.universe import TINKOFF_FIGI_MAP, tinvest_class_code

log = logging.getLogger(__name__)
PREFIX = "/tinkoff.public.invest.api.contract.v1."
#: interval -> (enum, maximum span of one request, maximum candles per answer)
CANDLE_INTERVALS: dict[str, tuple[str, timedelta, int]] = {
    "1m": ("CANDLE_INTERVAL_1_MIN", timedelta(days=1), 2400),
    "3m": ("CANDLE_INTERVAL_3_MIN", timedelta(days=1), 750),
    "5m": ("CANDLE_INTERVAL_5_MIN", timedelta(days=7), 2400),
    "15m": ("CANDLE_INTERVAL_15_MIN", timedelta(days=21), 2400),
    "30m": ("CANDLE_INTERVAL_30_MIN", timedelta(days=21), 1200),
    "1h": ("CANDLE_INTERVAL_HOUR", timedelta(days=90), 2400),
    "2h": ("CANDLE_INTERVAL_2_HOUR", timedelta(days=90), 2400),
    "4h": ("CANDLE_INTERVAL_4_HOUR", timedelta(days=90), 700),
    "1d": ("CANDLE_INTERVAL_DAY", timedelta(days=6 * 365), 2400),
    "1w": ("CANDLE_INTERVAL_WEEK", timedelta(days=5 * 365), 300),
}
#: requests per second per service (limits are per minute: 600, 200, ...), with a margin
SERVICE_RATES = {"MarketDataService": 9.0, "InstrumentsService": 3.0, "UsersService": 1.5, "OrdersService": 1.6,
                 "OperationsService": 3.0, "StopOrdersService": 0.8, "SandboxService": 3.0}  # fmt: skip
_RETRY_CODES = frozenset({"70001", "70002", "70003"})
_AUTH_CODES = frozenset({"40002", "40003", "40004"})
_NOT_FOUND_CODES = frozenset({"50002"})
INSTRUMENT_TTL = pd.Timedelta(days=7)


def _rfc3339(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


class TinvestRest:
    """The REST seam: one unary call = one POST, errors translated to AiTrade types."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        retry: RetryPolicy | None = None,
        app_name: str = "aitrade.aitrade",
        timeout_s: float = 20.0,
        allowed_services: frozenset[str] | None = None,
    ) -> None:
        if not token:
            raise UserError("TINKOFF_API_TOKEN is not set; T-Invest needs a (sandbox) token")
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(SERVICE_RATES, 3.0, burst=20.0)  # limits are per minute
        self.app_name = app_name
        self.timeout_s = timeout_s
        self.allowed_services = allowed_services  # a quotes-only client cannot reach OrdersService
        self.requests = 0

    async def call(
        self,
        service: str,
        method: str,
        body: dict[str, Any],
        *,
        what: str,
        idempotent: bool = True,
        translate: Callable[[int, Any, dict[str, str], str], Exception] | None = None,
    ) -> dict[str, Any]:
        """One unary call with retries on 429, 5xx and transport failures.

        A state-changing call (``idempotent=False``) that was sent and got no
        answer, or a 5xx, raises :class:`ReconcileError`: look it up first.
        ``translate`` types the venue's error answers (default: the data errors).
        """
        if self.allowed_services is not None and service not in self.allowed_services:
            raise HaltError(f"{what}: this T-Invest client may call only {', '.join(sorted(self.allowed_services))}")
        url = f"{self.base_url}{PREFIX}{service}/{method}"
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "x-app-name": self.app_name,
        }

        async def once() -> dict[str, Any]:
            await self.limiter.acquire(service)
            self.requests += 1
            resp = await request_json(self.session, "POST", url, body=body, headers=headers, what=what,
                                      timeout_s=self.timeout_s, idempotent=idempotent)  # fmt: skip
            if resp.status == 200 and isinstance(resp.body, dict):
                return resp.body
            err = (translate or translate_error)(resp.status, resp.body, resp.headers, what)
            if not idempotent and resp.status >= 500:
                raise ReconcileError(f"{err} (sent; outcome unknown, look it up)")
            raise err

        return await retry_async(once, self.retry, what=what)


def translate_error(status: int, body: Any, headers: dict[str, str], what: str) -> Exception:
    """AiTrade error for a T-Invest error answer ``{code, message, description}``."""
    body = body if isinstance(body, dict) else {}
    code = str(body.get("description") or "")
    message = body.get("message") or "no message"
    tracking = headers.get("x-tracking-id")
    detail = f"{what}: HTTP {status}" + (f", code {code}" if code else "") + f": {message}"
    if tracking:
        detail += f" (tracking id {tracking})"
    if status == 429 or code.startswith("8000"):
        return RateLimited(detail, retry_after=retry_after_s(headers))
    if status >= 500 or code in _RETRY_CODES:
        return RetryableError(detail, retry_after=retry_after_s(headers))
    if status in (401, 403) or code in _AUTH_CODES:
        return AuthError(detail)
    if status == 404 or code in _NOT_FOUND_CODES:
        return UnknownSymbolError(detail)
    return DataError(detail)


class TinvestInstruments:
    """Ticker -> instrument, cached in ``state/instruments.json``."""

    def __init__(self, rest: TinvestRest, cache_path: Path, *, now: Callable[[], pd.Timestamp] | None = None):
        self.rest = rest
        self.cache_path = cache_path
        self._now = now or (lambda: pd.Timestamp.now(tz="UTC"))

    def _load(self) -> dict[str, Any]:
        data = read_json_object(self.cache_path, {})
        return data.get("tinvest", {}) if isinstance(data.get("tinvest", {}), dict) else {}

    def _store(self, key: str, entry: dict[str, Any]) -> None:
        data = read_json_object(self.cache_path, {})
        data.setdefault("version", 1)
        data.setdefault("tinvest", {})[key] = entry
        atomic_write_json(self.cache_path, data)

    async def resolve(self, ticker: str, *, refresh: bool = False) -> dict[str, Any]:
        """Instrument facts for ``ticker``: uid, figi, classCode, lot, tick, currency."""
        ticker = ticker.upper()
        class_code = tinvest_class_code(ticker)
        key = f"{ticker}_{class_code}"
        cached = self._load().get(key)
        if cached and not refresh:
            fetched = pd.Timestamp(cached.get("fetched_at", "1970-01-01T00:00:00Z"))
            if self._now() - fetched < INSTRUMENT_TTL:
                return cached
        what = f"T-Invest instrument {ticker}"
        try:
            answer = await self.rest.call(
                "InstrumentsService",
                "GetInstrumentBy",
                {"idType": "INSTRUMENT_ID_TYPE_TICKER", "classCode": class_code, "id": ticker},
                what=what,
            )
            inst = answer.get("instrument") or {}
        except UnknownSymbolError:
            inst = await self._find(ticker, what)
        if not inst.get("uid") and not inst.get("figi"):
            raise UnknownSymbolError(f"T-Invest does not know ticker {ticker!r} on {class_code}")
        entry = {
            "ticker": inst.get("ticker", ticker),
            "classCode": inst.get("classCode", class_code),
            "uid": inst.get("uid", ""),
            "figi": inst.get("figi", ""),
            "lot": int(inst.get("lot", 1) or 1),
            "minPriceIncrement": str(quotation_to_decimal(inst.get("minPriceIncrement"))),
            "currency": str(inst.get("currency", "")).upper(),
            "name": inst.get("name", ""),
            "shortEnabledFlag": bool(inst.get("shortEnabledFlag", False)),
            "apiTradeAvailableFlag": bool(inst.get("apiTradeAvailableFlag", True)),
            "fetched_at": self._now().isoformat(),
        }
        expected = TINKOFF_FIGI_MAP.get(ticker)
        if expected and entry["figi"] and entry["figi"] != expected:
            log.warning("T-Invest %s resolved to FIGI %s, the default map says %s", ticker, entry["figi"], expected)
        self._store(key, entry)
        return entry

    async def _find(self, ticker: str, what: str) -> dict[str, Any]:
        answer = await self.rest.call("InstrumentsService", "FindInstrument", {"query": ticker}, what=what)
        found = [i for i in answer.get("instruments", []) or [] if str(i.get("ticker", "")).upper() == ticker]
        if not found:
            raise UnknownSymbolError(f"T-Invest does not know ticker {ticker!r}")
        found.sort(key=lambda i: (i.get("classCode") not in ("TQBR", "CETS"), not i.get("apiTradeAvailableFlag")))
        uid = found[0].get("uid")
        full = await self.rest.call(
            "InstrumentsService",
            "GetInstrumentBy",
            {"idType": "INSTRUMENT_ID_TYPE_UID", "id": uid},
            what=what,
        )
        return full.get("instrument") or found[0]


class TinvestCandles:
    """Candle downloader over the REST gateway."""

    cache_name = "tinvest"

    def __init__(self, rest: TinvestRest, instruments: TinvestInstruments) -> None:
        self.rest = rest
        self.instruments = instruments

    async def fetch(self, symbol: str, interval: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Complete exchange candles opening in ``[start, end)``, oldest first."""
        interval = parse_interval(interval)
        if interval not in CANDLE_INTERVALS:
            raise DataError(f"T-Invest has no {interval} candles; allowed: {', '.join(CANDLE_INTERVALS)}")
        enum, span, limit = CANDLE_INTERVALS[interval]
        inst = await self.instruments.resolve(symbol)
        instrument_id = inst["uid"] or inst["figi"]
        lot = Decimal(inst.get("lot", 1) or 1)
        candles: list[dict[str, Any]] = []
        window_start = start
        while window_start < end:
            window_end = min(end, window_start + pd.Timedelta(span))
            candles.extend(await self._window(symbol, instrument_id, enum, window_start, window_end, limit))
            window_start = window_end
        return _frame(candles, lot, start, end)

    async def _window(
        self, symbol: str, instrument_id: str, enum: str, start: pd.Timestamp, end: pd.Timestamp, limit: int
    ) -> list[dict[str, Any]]:
        body = {"instrumentId": instrument_id, "from": _rfc3339(start), "to": _rfc3339(end), "interval": enum}
        answer = await self.rest.call("MarketDataService", "GetCandles", body, what=f"T-Invest candles {symbol}")
        got = answer.get("candles", []) or []
        if len(got) >= limit and end - start > pd.Timedelta(minutes=2):
            mid = start + (end - start) / 2
            return [
                *await self._window(symbol, instrument_id, enum, start, mid, limit),
                *await self._window(symbol, instrument_id, enum, mid, end, limit),
            ]
        return got


def _frame(candles: list[dict[str, Any]], lot: Decimal, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    rows = []
    for c in candles:
        if c.get("isComplete") is False or c.get("candleSource") == "CANDLE_SOURCE_DEALER_WEEKEND":
            continue
        try:
            rows.append(
                (
                    c["time"],
                    float(quotation_to_decimal(c.get("open"))),
                    float(quotation_to_decimal(c.get("high"))),
                    float(quotation_to_decimal(c.get("low"))),
                    float(quotation_to_decimal(c.get("close"))),
                    float(Decimal(str(c.get("volume", "0") or "0")) * lot),
                )
            )
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise DataError(f"T-Invest answered a malformed candle {c!r}: {exc}") from exc
    idx = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], utc=True, format="ISO8601"), name="ts")
    df = pd.DataFrame(
        np.array([r[1:] for r in rows], dtype=np.float64).reshape(len(rows), 5),
        columns=["open", "high", "low", "close", "volume"],
        index=idx.as_unit("ns"),
    )
    df = df[(df.index >= start) & (df.index < end)]
    return df[~df.index.duplicated(keep="last")].sort_index()
