"""Cache coverage arithmetic, corrupt cache files, and the as-of join."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitrade.data import asof_join, load_bars
from aitrade.data.cache import BarCache, merge_ranges, missing_ranges
from aitrade.errors import DataError

ranges = st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)).map(lambda t: (min(t), max(t))), max_size=6)


@given(st.tuples(st.integers(0, 100), st.integers(0, 100)).map(lambda t: (min(t), max(t))), ranges)
def test_missing_plus_covered_is_exactly_the_request(want: tuple[int, int], have: list[tuple[int, int]]) -> None:
    gaps = missing_ranges(want, have)
    covered = {i for a, b in merge_ranges(have) for i in range(a, b)}
    asked = {i for a, b in gaps for i in range(a, b)}
    assert asked == set(range(*want)) - covered
    assert all(a < b for a, b in gaps)


def test_cache_round_trip_and_corruption(tmp_path: Path) -> None:
    cache = BarCache(tmp_path)
    bars = load_bars("BTCUSDT", "4h", "2022-01-01", "2022-01-03")["BTCUSDT"]
    cache.write("bitget", "4h", "BTCUSDT", bars, [(1, 5), (4, 9)])
    entry = cache.read("bitget", "4h", "BTCUSDT")
    assert entry is not None and entry.coverage == [(1, 9)]
    pd.testing.assert_frame_equal(entry.bars, bars, check_freq=False)
    path = cache.path("bitget", "4h", "BTCUSDT")
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match="corrupt.*moved aside"):
        cache.read("bitget", "4h", "BTCUSDT")
    assert not path.exists() and list(path.parent.glob("BTCUSDT.parquet.corrupt-*"))


def test_daily_reaches_hourly_only_after_the_day_closed() -> None:
    hourly = pd.DataFrame(index=pd.date_range("2024-01-01", periods=72, freq="1h", tz="UTC"))
    daily = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.date_range("2024-01-01", periods=3, freq="1D", tz="UTC"))
    out = asof_join(hourly, daily, left_interval="1h", right_interval="1d", prefix="d_")
    # the bar opening 2024-01-01 23:00 closes at midnight, when day 1 has closed
    assert np.isnan(out["d_x"].iloc[:23]).all()
    assert out["d_x"].iloc[23] == 1.0 and out["d_x"].iloc[46] == 1.0 and out["d_x"].iloc[47] == 2.0


def test_asof_is_by_time_not_row_and_respects_tolerance() -> None:
    left = pd.DataFrame(index=pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 05:00", "2024-01-03 00:00"], tz="UTC"))
    right = pd.Series(
        [10.0, 20.0], index=pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 03:00"], tz="UTC"), name="p"
    )
    out = asof_join(left, right, left_interval="1h", right_interval="1h")
    assert out["p"].tolist() == [10.0, 20.0, 20.0]
    stale = asof_join(left, right, left_interval="1h", right_interval="1h", tolerance=pd.Timedelta(hours=6))
    assert stale["p"].iloc[:2].tolist() == [10.0, 20.0] and np.isnan(stale["p"].iloc[2])
