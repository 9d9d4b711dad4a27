"""The bar schema and its quality gate.

A bar table is a DataFrame indexed by a tz-aware UTC ``DatetimeIndex`` of bar
open times, strictly increasing and unique, with float64 columns
``open, high, low, close, volume``. :func:`check_bars` reports every problem,
:func:`validate_bars` raises :class:`QualityError` with one clear line, and
:func:`repair_bars` returns a repaired copy plus the report of what it did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aitrade.data.calendars import Calendar, calendar_for
from aitrade.errors import DataError
from aitrade.intervals import interval_delta, parse_interval

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")


class QualityError(DataError):
    """Bars failed the quality gate; ``report`` holds the details."""

    def __init__(self, message: str, report: QualityReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Gap:
    """A run of consecutive expected-but-missing bar slots."""

    start: pd.Timestamp
    end: pd.Timestamp
    bars: int
    sessions: int
    tolerated: bool


@dataclass
class QualityReport:
    """What the gate found in one symbol's bars."""

    symbol: str
    interval: str
    calendar: str
    rows: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    problems: dict[str, int] = field(default_factory=dict)
    first_at: dict[str, str] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    repairs: dict[str, int] = field(default_factory=dict)

    @property
    def bad_gaps(self) -> list[Gap]:
        return [g for g in self.gaps if not g.tolerated]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.bad_gaps

    def summary(self) -> str:
        """One line: ``ok`` or every problem, with where it first occurs."""
        parts = [
            f"{n} {kind.replace('_', ' ')}" + (f" (first at {self.first_at[kind]})" if kind in self.first_at else "")
            for kind, n in self.problems.items()
        ]
        bad = self.bad_gaps
        if bad:
            worst = max(bad, key=lambda g: g.bars)
            parts.append(
                f"{len(bad)} gap(s) beyond the {self.calendar} calendar "
                f"(largest {worst.bars} bars from {worst.start.isoformat()})"
            )
        if not parts:
            tolerated = len(self.gaps)
            return "ok" + (f" ({tolerated} holiday/closure gap(s) tolerated)" if tolerated else "")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        d["start"] = self.start.isoformat() if self.start is not None else None
        d["end"] = self.end.isoformat() if self.end is not None else None
        d["gaps"] = [{**asdict(g), "start": g.start.isoformat(), "end": g.end.isoformat()} for g in self.gaps]
        return d


def _note(report: QualityReport, kind: str, mask: np.ndarray, index: pd.Index) -> None:
    n = int(np.count_nonzero(mask))
    if n:
        report.problems[kind] = report.problems.get(kind, 0) + n
        first = index[np.flatnonzero(mask)[0]]
        report.first_at.setdefault(kind, pd.Timestamp(first).isoformat() if first is not None else "?")


def _structure(df: Any, symbol: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{symbol}: bars must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in BAR_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{symbol}: bars lack column(s) {', '.join(missing)}; need {', '.join(BAR_COLUMNS)}")
    if not isinstance(df.index, pd.DatetimeIndex):
        raise DataError(f"{symbol}: bars must be indexed by a DatetimeIndex, got {type(df.index).__name__}")


def check_bars(df: pd.DataFrame, symbol: str, interval: str, calendar: Calendar | None = None) -> QualityReport:
    """Report every quality problem in ``df``; raise only if it is not a bar table at all."""
    _structure(df, symbol)
    interval = parse_interval(interval)
    cal = calendar or calendar_for(symbol, interval)
    idx = df.index.as_unit("ns")
    report = QualityReport(
        symbol=symbol,
        interval=interval,
        calendar=cal.name,
        rows=len(df),
        start=idx.min() if len(idx) else None,
        end=idx.max() if len(idx) else None,
    )
    if idx.tz is None:
        report.problems["naive_timestamps"] = len(idx)
    elif str(idx.tz) != "UTC":
        report.problems["non_utc_timezone"] = len(idx)
    for col in BAR_COLUMNS:
        if df[col].dtype != np.float64:
            report.problems[f"{col}_not_float64"] = len(df)
    if not len(df):
        return report

    values = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) for c in BAR_COLUMNS}
    _note(report, "duplicate_timestamps", np.asarray(idx.duplicated()), idx)
    diffs = np.diff(idx.asi8)
    _note(report, "out_of_order", np.concatenate([[False], diffs < 0]), idx)
    nan = np.zeros(len(df), dtype=bool)
    for c in BAR_COLUMNS:
        nan |= ~np.isfinite(values[c])
    _note(report, "nan_values", nan, idx)
    nonpos = np.zeros(len(df), dtype=bool)
    for c in PRICE_COLUMNS:
        nonpos |= values[c] <= 0
    _note(report, "non_positive_prices", nonpos, idx)
    _note(report, "negative_volume", values["volume"] < 0, idx)
    _note(report, "high_below_low", values["high"] < values["low"], idx)
    body_hi = np.fmax(values["open"], values["close"])
    body_lo = np.fmin(values["open"], values["close"])
    outside = (values["high"] >= values["low"]) & ((values["high"] < body_hi) | (values["low"] > body_lo))
    _note(report, "open_close_outside_range", outside, idx)

    delta = interval_delta(interval)
    if idx.tz is not None and delta < pd.Timedelta(days=1):
        step = delta.value
        _note(report, "off_grid_timestamps", (idx.asi8 % step) != 0, idx)
    if idx.tz is not None and idx.is_monotonic_increasing and idx.is_unique:
        report.gaps = find_gaps(idx, delta, cal)
    return report


def find_gaps(index: pd.DatetimeIndex, delta: pd.Timedelta, cal: Calendar) -> list[Gap]:
    """Runs of expected slots missing from ``index`` between its first and last bar."""
    if len(index) < 2:
        return []
    index = index.as_unit("ns")
    grid = pd.date_range(index[0], index[-1], freq=delta)
    expected = grid[cal.expected_mask(grid, delta)]
    if not len(expected):
        return []
    present = expected.isin(index)
    if present.all():
        return []
    keys = cal.session_key(expected)
    uniq, per_session = np.unique(keys, return_counts=True)
    session_size = dict(zip(uniq.tolist(), per_session.tolist(), strict=True))
    missing = ~present
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    gaps: list[Gap] = []
    for a, b in zip(starts, ends, strict=True):
        run_keys, run_counts = np.unique(keys[a:b], return_counts=True)
        whole = all(session_size[k] == c for k, c in zip(run_keys.tolist(), run_counts.tolist(), strict=True))
        bars = int(b - a)
        tolerated = len(run_keys) <= cal.max_missing_sessions if whole else bars <= cal.max_missing_bars
        gaps.append(Gap(expected[a], expected[b - 1], bars, len(run_keys) if whole else 0, tolerated))
    return gaps


def normalize_bars(df: pd.DataFrame) -> pd.DataFrame:
    """Bar columns only, float64, index named ``ts``; content is not changed."""
    out = df.loc[:, list(BAR_COLUMNS)].astype(np.float64)
    out.index = out.index.as_unit("ns")
    out.index.name = "ts"
    return out


def validate_bars(df: pd.DataFrame, symbol: str, interval: str, calendar: Calendar | None = None) -> pd.DataFrame:
    """Return ``df`` normalised to the schema, or raise :class:`QualityError`."""
    report = check_bars(df, symbol, interval, calendar)
    if not report.ok:
        raise QualityError(f"{symbol} {report.interval}: quality gate failed: {report.summary()}", report)
    return normalize_bars(df)


def repair_bars(
    df: pd.DataFrame, symbol: str, interval: str, calendar: Calendar | None = None
) -> tuple[pd.DataFrame, QualityReport]:
    """A repaired copy and the report of the original plus what was changed.

    Repairs: a naive index is taken as UTC; other zones converted; rows sorted;
    duplicate timestamps keep the last bar; rows with NaN, non-positive prices
    or high < low are dropped; high/low widened to contain open/close; gaps
    beyond the calendar filled with flat bars (OHLC = previous close, volume 0).
    """
    _structure(df, symbol)
    interval = parse_interval(interval)
    cal = calendar or calendar_for(symbol, interval)
    out = df.loc[:, list(BAR_COLUMNS)].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    idx = out.index.as_unit("ns")
    out.index = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    report = check_bars(out, symbol, interval, cal)
    report.problems = {**check_bars(df, symbol, interval, cal).problems, **report.problems}
    repairs: dict[str, int] = {}
    out = out.sort_index(kind="stable")
    dup = out.index.duplicated(keep="last")
    if dup.any():
        repairs["dropped_duplicates"] = int(dup.sum())
        out = out[~dup]
    bad = ~np.isfinite(out.to_numpy()).all(axis=1)
    bad |= (out[list(PRICE_COLUMNS)] <= 0).any(axis=1).to_numpy()
    bad |= (out["high"] < out["low"]).to_numpy()
    bad |= (out["volume"] < 0).to_numpy()
    if bad.any():
        repairs["dropped_bad_rows"] = int(bad.sum())
        out = out[~bad]
    hi = np.fmax(out["high"], np.fmax(out["open"], out["close"]))
    lo = np.fmin(out["low"], np.fmin(out["open"], out["close"]))
    widened = int(((hi != out["high"]) | (lo != out["low"])).sum())
    if widened:
        repairs["widened_high_low"] = widened
        out["high"], out["low"] = hi, lo
    delta = interval_delta(interval)
    gaps = [g for g in find_gaps(out.index, delta, cal) if not g.tolerated]
    if gaps:
        fill = pd.DatetimeIndex(
            np.concatenate([pd.date_range(g.start, g.end, freq=delta).as_unit("ns").asi8 for g in gaps])
        ).tz_localize("UTC")
        fill = fill[cal.expected_mask(fill, delta)]
        filler = pd.DataFrame(index=fill, columns=list(BAR_COLUMNS), dtype=np.float64)
        out = pd.concat([out, filler]).sort_index()
        close = out["close"].ffill()
        for c in PRICE_COLUMNS:
            out[c] = out[c].fillna(close)
        out["volume"] = out["volume"].fillna(0.0)
        repairs["filled_gap_bars"] = len(fill)
    report.repairs = repairs
    out.index = out.index.as_unit("ns")
    out.index.name = "ts"
    return out, report
