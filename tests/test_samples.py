"""Embedded samples: real data intact, synthetic data deterministic and marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aitrade.data import load_bars, sample_inventory, synthetic_bars
from aitrade.data.calendars import MSK_OFFSET
from aitrade.errors import DataError, UnknownSymbolError


def test_real_stocks_and_eurusd() -> None:
    bars = load_bars(["AAPL", "GOOG", "IBM", "MSFT", "FB"], "1d")
    assert {s: len(b) for s, b in bars.items()} == {
        "AAPL": 3270,
        "GOOG": 2148,
        "IBM": 3270,
        "MSFT": 3270,
        "FB": 196,
    }
    aapl = bars["AAPL"]
    assert aapl.index[0] == pd.Timestamp("2000-03-01", tz="UTC") and aapl.index[-1] == pd.Timestamp(
        "2013-03-01", tz="UTC"
    )
    assert aapl.attrs["synthetic"] is False and aapl.attrs["license"] == "public domain"
    # split-adjusted: no overnight move of -50% at AAPL's 2:1 split on 2005-02-28
    assert aapl["close"].pct_change().min() > -0.55
    eur = load_bars("EURUSD", "1h")["EURUSD"]
    assert len(eur) == 6225 and eur.attrs["license"] == "MIT"
    assert eur.index[0] == pd.Timestamp("2017-01-01 22:00", tz="UTC")


def test_slicing_is_start_inclusive_end_exclusive() -> None:
    b = load_bars("MSFT", "1d", "2010-01-04", "2010-01-08")["MSFT"]
    assert list(b.index.day) == [4, 5, 6, 7]
    with pytest.raises(DataError, match="no bars in the requested range"):
        load_bars("MSFT", "1d", "2020-01-01", "2021-01-01")


def test_synthetic_is_deterministic_marked_and_fat_tailed() -> None:
    a = synthetic_bars("BTCUSDT", "1h", seed=7)
    b = synthetic_bars("BTCUSDT", "1h", seed=7)
    c = synthetic_bars("BTCUSDT", "1h", seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["close"].to_numpy(), c["close"].to_numpy())
    assert a.attrs["synthetic"] is True
    r = np.log(a["close"]).diff().dropna()
    kurt = ((r - r.mean()) ** 4).mean() / r.var() ** 2
    assert kurt > 4.0  # fatter than normal (3)
    vol = r.rolling(500).std().dropna()
    assert vol.max() / vol.min() > 2.0  # volatility regimes


def test_4h_is_the_aggregation_of_1h() -> None:
    h1 = synthetic_bars("ETHUSDT", "1h")
    h4 = synthetic_bars("ETHUSDT", "4h")
    first = h1.iloc[:4]
    row = h4.iloc[0]
    assert row["open"] == first["open"].iloc[0] and row["close"] == first["close"].iloc[-1]
    assert row["high"] == first["high"].max() and row["low"] == first["low"].min()
    assert len(h4) * 4 == len(h1)


def test_moex_synthetic_follows_the_main_session() -> None:
    sber = synthetic_bars("SBER", "1h")
    msk = sber.index + MSK_OFFSET
    assert set(msk.hour) == set(range(10, 19)) and (msk.day_of_week < 5).all()
    assert load_bars("SBER", "1h")["SBER"].attrs["quality"] == "ok"


def test_crypto_pairs_share_a_market_factor() -> None:
    btc = np.log(synthetic_bars("BTCUSDT", "4h")["close"]).diff().dropna()
    eth = np.log(synthetic_bars("ETHUSDT", "4h")["close"]).diff().dropna()
    assert 0.5 < np.corrcoef(btc, eth)[0, 1] < 0.99


def test_inventory_lists_real_and_synthetic() -> None:
    inv = sample_inventory()
    kinds = {(r["symbol"], r["interval"]): r["kind"] for r in inv}
    assert kinds[("AAPL", "1d")] == "real" and kinds[("EURUSD", "1h")] == "real"
    assert kinds[("BTCUSDT", "4h")] == "synthetic" and kinds[("LKOH", "1h")] == "synthetic"


def test_unknown_sample_symbol_and_interval() -> None:
    with pytest.raises(UnknownSymbolError, match="samples: AAPL"):
        load_bars("DOGEUSDT", "1h")
    with pytest.raises(DataError, match="comes at 1d"):
        load_bars("AAPL", "1h")
    with pytest.raises(DataError, match="unknown interval"):
        load_bars("AAPL", "2d")
