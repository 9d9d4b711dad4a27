"""Opt-in checks against the real venues (`pytest --online`); never part of `make test`.

Bitget's public candles need no credentials; the T-Invest check needs a
(sandbox) token in AITRADE_ONLINE_TINKOFF_TOKEN (the test fixtures hide the
ordinary TINKOFF_API_TOKEN from every test).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from aitrade.config import load_settings
from aitrade.data import fetch_bars

pytestmark = pytest.mark.online


async def test_bitget_public_candles(tmp_path) -> None:
    settings = load_settings(tmp_path, {})
    end = pd.Timestamp.now(tz="UTC").floor("1h")
    res = await fetch_bars("BTCUSDT", "1h", end - pd.Timedelta(days=10), end, source="bitget", settings=settings)
    assert res[0].rows >= 200 and res[0].quality.ok


async def test_tinvest_candles(tmp_path) -> None:
    token = os.environ.get("AITRADE_ONLINE_TINKOFF_TOKEN") or ""
    if not token:
        pytest.skip("set AITRADE_ONLINE_TINKOFF_TOKEN to a (sandbox) token to run this check")
    settings = load_settings(tmp_path, {"TINKOFF_API_TOKEN": token})
    res = await fetch_bars("SBER", "1d", "2024-01-01", "2024-03-01", source="tinvest", settings=settings)
    assert res[0].rows >= 30


async def test_tinvest_sandbox_account_through_a_read_only_router(tmp_path) -> None:
    """The sandbox account, portfolio, orders and stop orders answer in the shapes the broker reads."""
    import aiohttp  # noqa: PLC0415

    from aitrade.router import Router  # noqa: PLC0415

    token = os.environ.get("AITRADE_ONLINE_TINKOFF_TOKEN") or ""
    if not token:
        pytest.skip("set AITRADE_ONLINE_TINKOFF_TOKEN to a sandbox token to run this check")
    settings = load_settings(tmp_path, {"TINKOFF_API_TOKEN": token, "UNIVERSE_MODE": "stocks"})
    async with aiohttp.ClientSession() as s, Router(settings, s, mode="live", read_only=True) as router:
        broker = router.brokers["tinkoff"]
        assert broker.account_id
        assert (await broker.account()).currency == "RUB"
        assert (await broker.instrument("SBER")).lot >= 1
        await broker.open_orders()
        await broker.protections()


async def test_bitget_account_through_a_read_only_router(tmp_path) -> None:
    """Bitget futures account and positions with real keys (AITRADE_ONLINE_BITGET_KEY/SECRET/PASSPHRASE)."""
    import aiohttp  # noqa: PLC0415

    from aitrade.router import Router  # noqa: PLC0415

    names = ("AITRADE_ONLINE_BITGET_KEY", "AITRADE_ONLINE_BITGET_SECRET", "AITRADE_ONLINE_BITGET_PASSPHRASE")
    values = [os.environ.get(n) or "" for n in names]
    if not all(values):
        pytest.skip(f"set {', '.join(names)} (and AITRADE_ONLINE_BITGET_DEMO=1 for a demo key) to run this check")
    env = {
        "BITGET_API_KEY": values[0],
        "BITGET_API_SECRET": values[1],
        "BITGET_API_PASSPHRASE": values[2],
        "BITGET_DEMO": os.environ.get("AITRADE_ONLINE_BITGET_DEMO", "0"),
        "UNIVERSE_MODE": "crypto",
    }
    settings = load_settings(tmp_path, env)
    async with aiohttp.ClientSession() as s, Router(settings, s, mode="live", read_only=True) as router:
        broker = router.brokers["bitget"]
        assert (await broker.account()).currency == "USDT"
        assert (await broker.instrument("BTCUSDT")).tick > 0
        await broker.positions()
        await broker.open_orders()
        await broker.protections()
