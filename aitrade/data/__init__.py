"""Bars: schema and quality gate, embedded samples, sources, Parquet cache."""

from aitrade.data.asof import asof_join
from aitrade.data.cache import BarCache
from aitrade.data.calendars import Calendar, calendar_for
from aitrade.data.loader import SOURCES, FetchResult, fetch_bars, load_bars, load_bars_async, parse_time
from aitrade.data.schema import (
    BAR_COLUMNS,
    QualityError,
    QualityReport,
    check_bars,
    normalize_bars,
    repair_bars,
    validate_bars,
)
from aitrade.data.sources.sample import load_sample, sample_inventory, sample_symbols
from aitrade.data.synthetic import synthetic_bars
from aitrade.intervals import INTERVALS, interval_delta, parse_interval

__all__ = [
    "BAR_COLUMNS",
    "INTERVALS",
    "SOURCES",
    "BarCache",
    "Calendar",
    "FetchResult",
    "QualityError",
    "QualityReport",
    "asof_join",
    "calendar_for",
    "check_bars",
    "fetch_bars",
    "interval_delta",
    "load_bars",
    "load_bars_async",
    "load_sample",
    "normalize_bars",
    "parse_interval",
    "parse_time",
    "repair_bars",
    "sample_inventory",
    "sample_symbols",
    "synthetic_bars",
    "validate_bars",
]
