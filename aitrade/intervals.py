"""Bar intervals: one canonical spelling each, and their length."""

from __future__ import annotations

import pandas as pd

from aitrade.errors import DataError

#: Canonical interval name -> bar length.
INTERVALS: dict[str, pd.Timedelta] = {
    "1m": pd.Timedelta(minutes=1),
    "3m": pd.Timedelta(minutes=3),
    "5m": pd.Timedelta(minutes=5),
    "15m": pd.Timedelta(minutes=15),
    "30m": pd.Timedelta(minutes=30),
    "1h": pd.Timedelta(hours=1),
    "2h": pd.Timedelta(hours=2),
    "4h": pd.Timedelta(hours=4),
    "6h": pd.Timedelta(hours=6),
    "12h": pd.Timedelta(hours=12),
    "1d": pd.Timedelta(days=1),
    "1w": pd.Timedelta(weeks=1),
}
_ALIASES = {"60m": "1h", "1H": "1h", "4H": "4h", "1D": "1d", "1day": "1d", "1W": "1w", "1week": "1w"}


def parse_interval(value: str) -> str:
    """Canonical name of an interval; an unknown one is a DataError listing the allowed."""
    text = str(value).strip()
    text = _ALIASES.get(text, text)
    if text not in INTERVALS:
        raise DataError(f"unknown interval {value!r}; allowed: {', '.join(INTERVALS)}")
    return text


def interval_delta(interval: str) -> pd.Timedelta:
    """Length of one bar of ``interval``."""
    return INTERVALS[parse_interval(interval)]


def interval_ms(interval: str) -> int:
    """Length of one bar in milliseconds."""
    return int(interval_delta(interval) / pd.Timedelta(milliseconds=1))
