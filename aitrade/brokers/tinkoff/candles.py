"""T-Invest candles through the venue's REST seam (:mod:`aitrade.brokers.tinkoff.http`).

* Candles: ``MarketDataService/GetCandles`` in windows no longer than the
  interval's maximum span (1h and 4h: 3 months, 1d: 6 years, ...). A window
  that comes back full is split in two, so nothing is silently truncated.
  Forming candles (``isComplete: false``) and dealer weekend candles are
  dropped; volume is converted from lots to shares.
* Instruments come from :class:`aitrade.brokers.tinkoff.instruments.TinvestInstruments`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pandas as pd

from aitrade.brokers.tinkoff.http import TinvestRest, market_data_rest
from aitrade.brokers.tinkoff.instruments import TinvestInstruments
from aitrade.errors import DataError
from aitrade.intervals import parse_interval
from aitrade.money import quotation_to_decimal
from aitrade.net.retry import RetryPolicy

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


def _rfc3339(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


class TinvestCandles:
    """Candle downloader over the REST gateway."""

    cache_name = "tinvest"

    def __init__(self, rest: TinvestRest, instruments: TinvestInstruments) -> None:
        self.rest = rest
        self.instruments = instruments

    @classmethod
    def connect(
        cls,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        instruments_path: Path,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 20.0,
    ) -> TinvestCandles:
        """A downloader on its own market-data-only client (it can never reach an order service)."""
        rest = market_data_rest(session, base_url, token, retry=retry, timeout_s=timeout_s)
        return cls(rest, TinvestInstruments(rest, instruments_path))

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
        # proto3 JSON omits a false isComplete: only a candle that says it is complete is one
        if not c.get("isComplete", False) or c.get("candleSource") == "CANDLE_SOURCE_DEALER_WEEKEND":
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


__all__ = ["CANDLE_INTERVALS", "TinvestCandles"]
