"""T-Invest candles and instruments against the loopback fake gateway."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pandas as pd
import pytest

from aitrade.brokers.tinkoff.candles import TinvestCandles
from aitrade.brokers.tinkoff.http import TinvestRest
from aitrade.brokers.tinkoff.instruments import TinvestInstruments
from aitrade.config import load_settings
from aitrade.data import fetch_bars
from aitrade.errors import AuthError, SourceUnavailable, UnknownSymbolError
from aitrade.net.retry import RetryPolicy
from tests.fakes.common import price_at
from tests.fakes.tinvest import FakeTinvest

FAST = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05)
TOKEN = "t.sandbox-token"


@pytest.fixture(params=["omit", "print"])
async def tinvest(request: pytest.FixtureRequest) -> AsyncIterator[FakeTinvest]:
    """The gateway in both proto3 JSON encodings: defaults omitted (as grpc-gateway prints) and printed."""
    fake = FakeTinvest(encoding=request.param)
    fake.url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.stop()
    assert not fake.refused, fake.refused


def make(session, fake, home, token: str = TOKEN, timeout_s: float = 20.0, retry: RetryPolicy = FAST) -> TinvestCandles:
    rest = TinvestRest(session, fake.url, token, retry=retry, timeout_s=timeout_s)
    return TinvestCandles(rest, TinvestInstruments(rest, home / "state" / "instruments.json"))


async def test_candles_paged_by_window_quotations_and_lots(tinvest: FakeTinvest, home) -> None:
    async with aiohttp.ClientSession() as session:
        src = make(session, tinvest, home)
        got = await src.fetch("SBER", "1h", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-08-01", tz="UTC"))
    calls = [r for r in tinvest.requests if r["method"] == "GetCandles"]
    assert len(calls) == 3  # 7 months in windows of at most 90 days
    for r in calls:
        assert r["auth"] == f"Bearer {TOKEN}"
        assert r["body"]["interval"] == "CANDLE_INTERVAL_HOUR"
        assert r["body"]["instrumentId"] == "e6123145-9665-43e0-8413-cd61b8aa9b13"
        span = pd.Timestamp(r["body"]["to"]) - pd.Timestamp(r["body"]["from"])
        assert span <= pd.Timedelta(days=90)
    msk = got.index + pd.Timedelta(hours=3)
    assert (msk.day_of_week < 5).all()  # Saturday dealer candles are dropped
    assert set(msk.hour) == set(range(10, 19))
    ts = got.index[0]
    ms = int(ts.value // 1_000_000)
    assert got["open"].iloc[0] == float(Decimal(f"{price_at('SBER', ms):.2f}"))
    assert got["volume"].iloc[0] == (100 + ms // 3_600_000 % 50) * 10  # lots x lot size 10


async def test_forming_candle_is_dropped(tinvest: FakeTinvest, home) -> None:
    tinvest.now = pd.Timestamp("2024-03-05 09:30", tz="UTC")  # Tuesday 12:30 Moscow time
    async with aiohttp.ClientSession() as session:
        got = await make(session, tinvest, home).fetch(
            "GAZP", "1h", pd.Timestamp("2024-03-05", tz="UTC"), pd.Timestamp("2024-03-06", tz="UTC")
        )
    assert list(got.index.hour) == [7, 8]  # 09:00 UTC is still forming


async def test_instrument_lookup_is_cached(tinvest: FakeTinvest, home) -> None:
    async with aiohttp.ClientSession() as session:
        src = make(session, tinvest, home)
        await src.fetch("LKOH", "1d", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC"))
        await src.fetch("LKOH", "1d", pd.Timestamp("2024-02-01", tz="UTC"), pd.Timestamp("2024-03-01", tz="UTC"))
    lookups = [r for r in tinvest.requests if r["service"] == "InstrumentsService"]
    assert len(lookups) == 1 and lookups[0]["body"] == {
        "idType": "INSTRUMENT_ID_TYPE_TICKER",
        "classCode": "TQBR",
        "id": "LKOH",
    }
    cache = json.loads((home / "state" / "instruments.json").read_text())
    assert cache["tinvest"]["LKOH_TQBR"]["figi"] == "BBG004731032"
    assert cache["tinvest"]["LKOH_TQBR"]["minPriceIncrement"] == "0.5"
    assert cache["tinvest"]["LKOH_TQBR"]["lot"] == 1


async def test_fx_pairs_use_the_cets_board(tinvest: FakeTinvest, home) -> None:
    async with aiohttp.ClientSession() as session:
        inst = await TinvestInstruments(TinvestRest(session, tinvest.url, TOKEN), home / "i.json").resolve("CNYRUB_TOM")
    assert inst["classCode"] == "CETS" and inst["lot"] == 1000


async def test_bad_token_halts(tinvest: FakeTinvest, home) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AuthError, match="40003"):
            await make(session, tinvest, home, token="t.wrong").fetch(
                "SBER", "1h", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC")
            )
    assert len(tinvest.requests) == 1  # auth failures are not retried


async def test_unknown_ticker(tinvest: FakeTinvest, home) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UnknownSymbolError, match="NVTK"):
            await make(session, tinvest, home).fetch(
                "NVTK", "1h", pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC")
            )


async def test_faults_429_500_hang_then_success(tinvest: FakeTinvest, home) -> None:
    tinvest.hang_s = 2.0
    for kind in ("429", "500", "hang", "reset"):
        tinvest.faults.add(kind, path="GetCandles")
    async with aiohttp.ClientSession() as session:
        patient = RetryPolicy(attempts=5, base_s=0.01, cap_s=0.05)
        got = await make(session, tinvest, home, timeout_s=0.3, retry=patient).fetch(
            "SBER", "1h", pd.Timestamp("2024-01-08", tz="UTC"), pd.Timestamp("2024-01-09", tz="UTC")
        )
    assert len(got) == 9 and tinvest.faults.fired == ["429", "500", "hang", "reset"]


async def test_fetch_into_cache_and_give_up_clearly(tinvest: FakeTinvest, home) -> None:
    env = {"TINKOFF_BASE_URL": tinvest.url, "TINKOFF_API_TOKEN": TOKEN}
    settings = load_settings(home, env)
    res = await fetch_bars("SBER", "1h", "2024-01-08", "2024-01-13", source="tinvest", settings=settings, retry=FAST)
    assert res[0].rows == 45 and res[0].quality.ok
    assert (home / "data_cache" / "tinvest" / "1h" / "SBER.parquet").is_file()
    tinvest.faults.add("500", path="GetCandles", times=50)
    with pytest.raises(SourceUnavailable, match="tinvest GAZP 1h: gave up after 4 attempts"):
        await fetch_bars("GAZP", "1h", "2024-01-08", "2024-01-13", source="tinvest", settings=settings, retry=FAST)


async def test_missing_token_is_a_clear_error(home) -> None:
    settings = load_settings(home, {})
    with pytest.raises(Exception, match="TINKOFF_API_TOKEN is not set"):
        await fetch_bars("SBER", "1h", "2024-01-08", "2024-01-13", source="tinvest", settings=settings)
