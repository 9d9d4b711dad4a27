"""Bitget candles against the loopback fake: paging, markets, caching, faults."""

from __future__ import annotations

import aiohttp
import pandas as pd
import pytest

from aitrade.brokers.bitget.candles import FUTURES_GRANULARITY, BitgetCandles, _frame
from aitrade.config import load_settings
from aitrade.data import fetch_bars, load_bars_async
from aitrade.data.cache import BarCache
from aitrade.errors import DataError, SourceUnavailable, UnknownSymbolError
from aitrade.net.retry import RetryPolicy
from tests.fakes.bitget import MIX, FakeBitget

FAST = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05)
HOUR = 3_600_000


def truth(fake: FakeBitget, symbol: str, start: str, end: str, step_s: int = 3600) -> pd.DataFrame:
    a, b = (int(pd.Timestamp(x, tz="UTC").value // 1_000_000) for x in (start, end))
    return _frame(fake.truth(symbol, step_s, a, b), symbol, step_s * 1000, 2**62)


async def test_spot_history_is_paged_backwards_over_many_pages(bitget: FakeBitget) -> None:
    async with aiohttp.ClientSession() as session:
        src = BitgetCandles(session, bitget.url, retry=FAST)
        got = await src.fetch(
            "BTCUSDT", "1h", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-03-01", tz="UTC")
        )
    pd.testing.assert_frame_equal(got, truth(bitget, "BTCUSDT", "2024-01-01", "2024-03-01"))
    assert len(got) == 60 * 24
    pages = [r for r in bitget.requests if r["path"].endswith("history-candles")]
    assert len(pages) == 8 and all(r["query"]["limit"] == "200" for r in pages)
    assert all(r["query"]["granularity"] == "1h" for r in pages)


async def test_recent_bars_use_the_recent_endpoint_and_drop_the_forming_bar(bitget: FakeBitget) -> None:
    now = int(pd.Timestamp("2026-06-10 12:30", tz="UTC").value // 1_000_000)
    bitget.now_ms = now
    async with aiohttp.ClientSession() as session:
        src = BitgetCandles(session, bitget.url, retry=FAST, now_ms=lambda: now)
        got = await src.fetch(
            "ETHUSDT", "1h", pd.Timestamp("2026-06-05", tz="UTC"), pd.Timestamp("2026-06-11", tz="UTC")
        )
    assert got.index[-1] == pd.Timestamp("2026-06-10 11:00", tz="UTC")  # 12:00 is still forming
    assert len(got) == 5 * 24 + 12
    assert [r["path"] for r in bitget.requests] == ["/api/v2/spot/market/candles"]
    forming = _frame([[str(now - now % HOUR), "1", "2", "0.5", "1.5", "10"]], "ETHUSDT", HOUR, now)
    assert forming.empty


async def test_futures_use_their_granularity_and_the_90_day_span(bitget: FakeBitget) -> None:
    async with aiohttp.ClientSession() as session:
        src = BitgetCandles(session, bitget.url, market="futures", retry=FAST)
        got = await src.fetch(
            "BTCUSDT", "1d", pd.Timestamp("2023-01-01", tz="UTC"), pd.Timestamp("2024-01-01", tz="UTC")
        )
    assert len(got) == 365
    assert all(r["path"] == "/api/v2/mix/market/history-candles" for r in bitget.requests)
    assert {r["query"]["granularity"] for r in bitget.requests} == {"1Dutc"}
    assert all(r["query"]["productType"] == "USDT-FUTURES" for r in bitget.requests)
    assert len(bitget.requests) >= 5  # 90-day spans


async def test_stops_at_the_listing_date(bitget: FakeBitget) -> None:
    async with aiohttp.ClientSession() as session:
        src = BitgetCandles(session, bitget.url, retry=FAST)
        got = await src.fetch(
            "BTCUSDT", "4h", pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2023-01-11", tz="UTC")
        )
    assert got.index[0] == pd.Timestamp("2023-01-01", tz="UTC") and len(got) == 60


async def test_repeated_fetch_asks_only_for_missing_bars(bitget: FakeBitget, home) -> None:
    settings = load_settings(home, {"BITGET_BASE_URL": bitget.url})
    first = await fetch_bars(
        ["BTCUSDT"], "1h", "2024-01-01", "2024-02-01", source="bitget", settings=settings, retry=FAST
    )
    assert first[0].new_rows == 31 * 24 and first[0].requests == 4 and first[0].quality.ok
    again = await fetch_bars(
        ["BTCUSDT"], "1h", "2024-01-01", "2024-02-01", source="bitget", settings=settings, retry=FAST
    )
    assert again[0].requests == 0 and again[0].new_rows == 0
    n = len(bitget.requests)
    more = await fetch_bars(
        ["BTCUSDT"], "1h", "2024-01-15", "2024-02-10", source="bitget", settings=settings, retry=FAST
    )
    assert more[0].new_rows == 9 * 24 and more[0].fetched_ranges == [
        ("2024-02-01T00:00:00+00:00", "2024-02-10T00:00:00+00:00")
    ]
    assert all(
        int(r["query"]["endTime"]) < int(pd.Timestamp("2024-02-10", tz="UTC").value // 1e6) for r in bitget.requests[n:]
    )
    entry = BarCache(settings.data_cache_dir).read("bitget", "1h", "BTCUSDT")
    assert entry is not None
    pd.testing.assert_frame_equal(entry.bars, truth(bitget, "BTCUSDT", "2024-01-01", "2024-02-10"))
    loaded = await load_bars_async("BTCUSDT", "1h", "2024-01-05", "2024-01-06", "bitget", settings=settings, retry=FAST)
    assert len(loaded["BTCUSDT"]) == 24 and loaded["BTCUSDT"].attrs["quality"] == "ok"
    assert len(bitget.requests) == n + 2  # the load was served from the cache


async def test_429_backs_off_then_succeeds(bitget: FakeBitget) -> None:
    bitget.faults.add("429", times=2)
    async with aiohttp.ClientSession() as session:
        src = BitgetCandles(session, bitget.url, retry=FAST)
        got = await src.fetch(
            "BTCUSDT", "1h", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC")
        )
    assert len(got) == 24 and bitget.faults.fired == ["429", "429"] and len(bitget.requests) == 3


async def test_hung_response_and_reset_connection_are_retried(bitget: FakeBitget) -> None:
    bitget.hang_s = 2.0
    bitget.faults.add("hang")
    bitget.faults.add("reset")
    async with aiohttp.ClientSession() as session:
        src = BitgetCandles(session, bitget.url, retry=FAST, timeout_s=0.3)
        got = await src.fetch(
            "BTCUSDT", "1h", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC")
        )
    assert len(got) == 24 and bitget.faults.fired == ["hang", "reset"]


async def test_persistent_500_gives_a_clear_error(bitget: FakeBitget, home) -> None:
    bitget.faults.add("500", times=100)
    settings = load_settings(home, {"BITGET_BASE_URL": bitget.url})
    with pytest.raises(SourceUnavailable, match=r"bitget BTCUSDT 1h: gave up after 4 attempts: .*HTTP 500"):
        await fetch_bars("BTCUSDT", "1h", "2024-01-01", "2024-01-02", source="bitget", settings=settings, retry=FAST)
    assert len(bitget.requests) == 4
    assert not (settings.data_cache_dir / "bitget" / "1h" / "BTCUSDT.parquet").exists()


async def test_unknown_symbols(bitget: FakeBitget, home) -> None:
    settings = load_settings(home, {"BITGET_BASE_URL": bitget.url})
    with pytest.raises(UnknownSymbolError, match="not in the crypto universe"):
        await fetch_bars("DOGEUSDT", "1h", "2024-01-01", "2024-01-02", source="bitget", settings=settings)
    assert bitget.requests == []
    with pytest.raises(UnknownSymbolError, match="BNBUSDT.*40034.*symbol does not exist"):
        await fetch_bars("BNBUSDT", "1h", "2024-01-01", "2024-01-02", source="bitget", settings=settings)


async def test_client_rate_limit_keeps_under_the_venue_limit(bitget: FakeBitget) -> None:
    async with aiohttp.ClientSession() as session:
        src = BitgetCandles(session, bitget.url, retry=FAST)
        got = await src.fetch(
            "BTCUSDT", "1h", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-09-01", tz="UTC")
        )
    assert len(got) == 244 * 24 and len(bitget.requests) >= 30
    assert bitget.limited == 0


def test_only_documented_granularities_are_requested() -> None:
    """Futures Get-Candle-Data lists no 2H: a 2h request is refused before anything is sent."""
    assert set(FUTURES_GRANULARITY.values()) <= set(MIX)
    futures = BitgetCandles(None, "http://127.0.0.1:9", market="futures")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no 2h candles"):
        futures.granularity("2h")
