"""The quality gate on broken data, calendars, gaps and repair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aitrade.data.calendars import CRYPTO_247, FX, MOEX, WEEKDAYS, calendar_for
from aitrade.data.schema import QualityError, check_bars, repair_bars, validate_bars
from aitrade.errors import DataError


def bars(n: int = 48, freq: str = "1h", start: str = "2024-01-01", tz: str | None = "UTC") -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq=freq, tz=tz)
    close = 100 + np.cumsum(np.sin(np.arange(n)))
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.full(n, 10.0),
        },
        index=idx,
    )


def test_clean_bars_pass() -> None:
    out = validate_bars(bars(), "BTCUSDT", "1h")
    assert out.index.tz is not None and str(out.index.tz) == "UTC"
    assert list(out.columns) == ["open", "high", "low", "close", "volume"]
    assert (out.dtypes == np.float64).all()


@pytest.mark.parametrize(
    ("breaker", "needle"),
    [
        (lambda d: pd.concat([d, d.iloc[[5]]]).sort_index(), "duplicate timestamps"),
        (lambda d: d.drop(d.index[10:13]), "gap(s) beyond the 24/7 calendar"),
        (lambda d: d.assign(close=d["close"].where(d.index != d.index[3])), "nan values"),
        (lambda d: d.assign(high=d["low"] - 1), "high below low"),
        (lambda d: d.assign(low=d["low"].where(d.index != d.index[7], -1.0)), "non positive prices"),
        (lambda d: d.iloc[::-1], "out of order"),
        (lambda d: d.set_axis(d.index + pd.Timedelta(minutes=7)), "off grid"),
        (lambda d: d.tz_localize(None), "naive timestamps"),
        (lambda d: d.assign(volume=d["volume"].astype(int)), "volume not float64"),
    ],
)
def test_broken_data_fails_with_one_clear_line(breaker, needle: str) -> None:
    with pytest.raises(QualityError) as err:
        validate_bars(breaker(bars()), "BTCUSDT", "1h")
    message = str(err.value)
    assert "\n" not in message and "BTCUSDT 1h" in message and needle in message


def test_first_occurrence_is_named() -> None:
    d = bars()
    d.iloc[20, d.columns.get_loc("close")] = np.nan
    report = check_bars(d, "BTCUSDT", "1h")
    assert report.first_at["nan_values"] == d.index[20].isoformat()


def test_structural_errors() -> None:
    with pytest.raises(DataError, match="lack column"):
        check_bars(bars().drop(columns="volume"), "X", "1h")
    with pytest.raises(DataError, match="DatetimeIndex"):
        check_bars(bars().reset_index(drop=True), "X", "1h")
    with pytest.raises(DataError, match="unknown interval"):
        check_bars(bars(), "X", "7h")


def test_moex_calendar_expects_main_session_only() -> None:
    # 2024-01-08 is a Monday; main session 10:00-18:40 MSK = 07:00-15:40 UTC -> hourly bars 07..15 UTC
    day = pd.date_range("2024-01-08 00:00", periods=24, freq="1h", tz="UTC")
    mask = MOEX.expected_mask(day, pd.Timedelta(hours=1))
    assert [t.hour for t in day[mask]] == list(range(7, 16))
    saturday = pd.date_range("2024-01-13", periods=24, freq="1h", tz="UTC")
    assert not MOEX.expected_mask(saturday, pd.Timedelta(hours=1)).any()


def test_moex_holiday_tolerated_but_hole_in_session_not() -> None:
    week = pd.date_range("2024-01-08", "2024-01-20", freq="1h", tz="UTC", inclusive="left")
    week = week[MOEX.expected_mask(week, pd.Timedelta(hours=1))]
    n = len(week)
    close = np.linspace(100, 110, n)
    df = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0}, index=week)
    holiday = df[df.index.normalize() != pd.Timestamp("2024-01-10", tz="UTC")]
    report = check_bars(holiday, "SBER", "1h")
    assert report.ok and len(report.gaps) == 1 and report.gaps[0].sessions == 1
    hole = df.drop(df.index[20:22])
    report = check_bars(hole, "SBER", "1h")
    assert not report.ok and report.bad_gaps[0].bars == 2
    evening = df.copy()
    evening.loc[pd.Timestamp("2024-01-08 17:00", tz="UTC")] = [105, 106, 104, 105, 1]
    assert check_bars(evening.sort_index(), "SBER", "1h").ok  # extra evening bar is fine


def test_fx_weekend_and_christmas_are_not_gaps() -> None:
    idx = pd.date_range("2017-12-20", "2017-12-28", freq="1h", tz="UTC")
    idx = idx[FX.expected_mask(idx, pd.Timedelta(hours=1))]
    df = pd.DataFrame({"open": 1.1, "high": 1.2, "low": 1.0, "close": 1.1, "volume": 1.0}, index=idx)
    assert check_bars(df, "EURUSD", "1h").ok
    assert not FX.expected_mask(pd.DatetimeIndex([pd.Timestamp("2017-12-23 12:00", tz="UTC")]), pd.Timedelta(hours=1))[
        0
    ]


def test_weekday_calendar_tolerates_short_closures_only() -> None:
    days = pd.bdate_range("2001-09-03", "2001-10-05", tz="UTC")
    df = pd.DataFrame({"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 1.0}, index=days)
    nine_eleven = df.drop(pd.bdate_range("2001-09-11", "2001-09-14", tz="UTC"))
    assert check_bars(nine_eleven, "IBM", "1d").ok
    too_long = df.drop(pd.bdate_range("2001-09-11", "2001-09-21", tz="UTC"))
    assert not check_bars(too_long, "IBM", "1d").ok


def test_calendar_choice() -> None:
    assert calendar_for("BTCUSDT") is CRYPTO_247
    assert calendar_for("SBER") is MOEX and calendar_for("CNYRUB_TOM") is MOEX
    assert calendar_for("EURUSD") is FX
    assert calendar_for("AAPL") is WEEKDAYS


def test_repair_returns_a_repaired_copy_and_a_report() -> None:
    d = bars()
    broken = pd.concat([d, d.iloc[[5]]]).drop(d.index[30:33]).sort_index()
    broken.iloc[10, broken.columns.get_loc("close")] = np.nan
    broken.iloc[12, broken.columns.get_loc("high")] = broken.iloc[12]["close"] - 0.1  # close above high
    fixed, report = repair_bars(broken, "BTCUSDT", "1h")
    assert not report.ok
    assert report.repairs == {
        "dropped_duplicates": 1,
        "dropped_bad_rows": 1,
        "widened_high_low": 1,
        "filled_gap_bars": 4,
    }
    assert check_bars(fixed, "BTCUSDT", "1h").ok
    filled = fixed.loc[d.index[31]]
    assert filled["volume"] == 0 and filled["open"] == filled["close"] == fixed.loc[d.index[29], "close"]
    assert len(broken) == 46  # the input is left alone
