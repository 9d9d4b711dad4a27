"""Bitget v2 public candles, spot and USDT-M futures, paged backwards over any range.

Wire facts (reference/broker_apis.md A6.1):

* ``GET /api/v2/{spot|mix}/market/candles`` serves recent bars, up to 1000 a
  call, within a per-granularity lookback; ``history-candles`` serves older
  bars, up to 200 a call (futures: a start-end span of at most 90 days).
* Spot and futures spell granularities differently; for 6h and slower we use
  the UTC-anchored ``...utc`` variants so bars open at 00:00 UTC.
* Rows are arrays of strings ``[ts_ms, open, high, low, close, base_volume, ...]``;
  the envelope is ``{"code": "00000", "msg", "requestTime", "data"}``; errors
  come as HTTP 400 with a code, rate limits as HTTP 429.

The newest bar is dropped while it is still forming.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import numpy as np
import pandas as pd

from aitrade.brokers.bitget.http import translate
from aitrade.errors import DataError
from aitrade.intervals import interval_ms, parse_interval
from aitrade.net.http import request_json
from aitrade.net.ratelimit import RateLimiter, Window
from aitrade.net.retry import RetryPolicy, retry_async

SPOT_GRANULARITY = {
    "1m": "1min",
    "3m": "3min",
    "5m": "5min",
    "15m": "15min",
    "30m": "30min",
    "1h": "1h",
    "4h": "4h",
    "6h": "6Hutc",
    "12h": "12Hutc",
    "1d": "1Dutc",
    "1w": "1Wutc",
}
#: the futures Get-Candle-Data page lists 1m 3m 5m 15m 30m 1H 4H 6H 12H 1D 3D 1W 1M and the ...utc variants (no 2H)
FUTURES_GRANULARITY = {
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1H",
    "4h": "4H",
    "6h": "6Hutc",
    "12h": "12Hutc",
    "1d": "1Dutc",
    "1w": "1Wutc",
}
#: How far back the recent endpoint reaches, in days (ccxt's tested values).
RECENT_LOOKBACK_DAYS = {
    "1m": 30,
    "3m": 30,
    "5m": 30,
    "15m": 30,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "12h": 720,
    "1d": 1440,
    "1w": 1440,
}
RECENT_LIMIT = 1000
HISTORY_LIMIT = 200
FUTURES_MAX_SPAN_MS = 90 * 86_400_000
MARKETS = ("spot", "futures")
_DAY_MS = 86_400_000


def cache_name_for(market: str) -> str:
    """Cache folder of a Bitget market: ``bitget`` (spot) or ``bitget-futures``."""
    return "bitget" if market == "spot" else "bitget-futures"


def _now_ms() -> int:
    return int(pd.Timestamp.now(tz="UTC").value // 1_000_000)


class BitgetCandles:
    """Candle downloader for one market (``spot`` or ``futures``)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str = "https://api.bitget.com",
        *,
        market: str = "spot",
        retry: RetryPolicy | None = None,
        rate_per_s: int = 20,
        timeout_s: float = 20.0,
        now_ms: Callable[[], int] = _now_ms,
    ) -> None:
        if market not in MARKETS:
            raise DataError(f"unknown Bitget market {market!r}; allowed: {', '.join(MARKETS)}")
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.market = market
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter({}, Window(rate_per_s, 1.0))  # 20 req/s per IP per endpoint
        self.now_ms = now_ms
        self.timeout_s = timeout_s
        self.requests = 0

    @property
    def cache_name(self) -> str:
        return cache_name_for(self.market)

    def granularity(self, interval: str) -> str:
        table = SPOT_GRANULARITY if self.market == "spot" else FUTURES_GRANULARITY
        interval = parse_interval(interval)
        if interval not in table:
            raise DataError(f"Bitget {self.market} has no {interval} candles; allowed: {', '.join(table)}")
        return table[interval]

    async def fetch(self, symbol: str, interval: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Closed bars opening in ``[start, end)``, oldest first."""
        interval = parse_interval(interval)
        gran = self.granularity(interval)
        step = interval_ms(interval)
        now = self.now_ms()
        start_ms = int(start.value // 1_000_000)
        end_ms = int(end.value // 1_000_000)
        end_ms = -(-end_ms // step) * step  # a bar opening before ``end`` is wanted
        cursor = min(end_ms, (now // step) * step)  # exclusive; the forming bar is left out
        rows: list[list[Any]] = []
        recent_from = now - RECENT_LOOKBACK_DAYS[interval] * _DAY_MS
        while cursor > start_ms:
            recent = cursor - RECENT_LIMIT * step >= recent_from
            limit = RECENT_LIMIT if recent else HISTORY_LIMIT
            page_start = max(start_ms, cursor - limit * step)
            if self.market == "futures" and not recent:
                page_start = max(page_start, cursor - FUTURES_MAX_SPAN_MS + step)
            params = {"symbol": symbol, "granularity": gran, "endTime": str(cursor - 1), "limit": str(limit)}
            if self.market == "futures":
                params["productType"] = "USDT-FUTURES"
            if recent or self.market == "futures":
                params["startTime"] = str(page_start)
            path = f"/api/v2/{'spot' if self.market == 'spot' else 'mix'}/market/"
            path += "candles" if recent else "history-candles"
            page = await self._get(path, params, symbol)
            page_rows = [r for r in page if start_ms <= int(r[0]) < cursor]
            if not page_rows:
                break
            rows.extend(page_rows)
            oldest = min(int(r[0]) for r in page_rows)
            if oldest >= cursor:
                break
            cursor = oldest
        return _frame(rows, symbol, step, now)

    async def _get(self, path: str, params: dict[str, str], symbol: str) -> list[list[Any]]:
        what = f"Bitget {self.market} candles {symbol} {params['granularity']}"

        async def once() -> list[list[Any]]:
            await self.limiter.acquire(path)
            self.requests += 1
            resp = await request_json(
                self.session, "GET", self.base_url + path, params=params, what=what, timeout_s=self.timeout_s
            )
            body = resp.body if isinstance(resp.body, dict) else {}
            if resp.status != 200 or str(body.get("code", "")) != "00000":
                raise translate(resp.status, body or {"msg": resp.text[:200]}, what, resp.headers, trading=False)
            data = body.get("data")
            if data is None:
                return []
            if not isinstance(data, list):
                raise DataError(f"{what}: malformed answer, data is {type(data).__name__}")
            return data

        return await retry_async(once, self.retry, what=what)


def _frame(rows: list[list[Any]], symbol: str, step: int, now: int) -> pd.DataFrame:
    if not rows:
        empty = pd.DataFrame(
            {c: pd.Series(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")},
            index=pd.DatetimeIndex([], tz="UTC", name="ts").as_unit("ns"),
        )
        return empty
    try:
        arr = np.array([[float(x) for x in r[:6]] for r in rows], dtype=np.float64)
    except (TypeError, ValueError, IndexError) as exc:
        raise DataError(f"Bitget answered a malformed candle row for {symbol}: {exc}") from exc
    ts = arr[:, 0].astype(np.int64)
    keep = ts + step <= now
    df = pd.DataFrame(
        arr[keep, 1:6],
        columns=["open", "high", "low", "close", "volume"],
        index=pd.DatetimeIndex(pd.to_datetime(ts[keep], unit="ms", utc=True), name="ts").as_unit("ns"),
    )
    df = df[~df.index.duplicated(keep="last")].sort_index()
    return df
