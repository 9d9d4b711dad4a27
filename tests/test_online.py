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
