"""``load_bars`` and ``fetch_bars``: one entry point over every bar source.

* ``sample`` (default, offline): embedded real and synthetic bars.
* ``csv``: ``<SYMBOL>.csv`` files in a folder (``path``).
* ``bitget`` (public candles, ``market`` spot or futures) and ``tinvest``
  (GetCandles, needs ``TINKOFF_API_TOKEN``): fetched into the Parquet cache,
  only the missing ranges; the universe lists restrict which symbols they take.

Times are UTC; ``start`` is inclusive and ``end`` exclusive. Every load passes
the quality gate (or, with ``repair=True``, returns a repaired copy whose
report is in ``df.attrs["quality"]``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pandas as pd
from tqdm.auto import tqdm

from aitrade.asyncutil import run_sync
from aitrade.brokers.bitget.candles import BitgetCandles, cache_name_for
from aitrade.brokers.tinkoff.candles import TinvestCandles
from aitrade.config import Settings, load_settings
from aitrade.data.cache import BarCache, missing_ranges
from aitrade.data.calendars import Calendar, calendar_for
from aitrade.data.schema import QualityReport, check_bars, normalize_bars, repair_bars, validate_bars
from aitrade.data.sources.csvfiles import csv_symbols, read_csv_bars
from aitrade.data.sources.sample import load_sample, sample_calendar, sample_symbols
from aitrade.data.synthetic import DEFAULT_SEED
from aitrade.errors import DataError, RetryableError, SourceUnavailable, UnknownSymbolError, UserError
from aitrade.intervals import interval_delta, parse_interval
from aitrade.net.retry import RetryPolicy
from aitrade.universe import CRYPTO_UNIVERSE, EQUITY_UNIVERSE

log = logging.getLogger(__name__)
SOURCES: tuple[str, ...] = ("sample", "bitget", "tinvest", "csv")
NETWORK_SOURCES = ("bitget", "tinvest")
DEFAULT_BARS = 1000


def parse_time(value: Any, what: str) -> pd.Timestamp | None:
    """UTC timestamp of a date/time; naive values are UTC. ``None`` stays ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError) as exc:
        raise UserError(f"bad date {value!r} for {what}: use ISO-8601, e.g. 2024-01-01 or 2024-01-01T12:00Z") from exc
    if ts is pd.NaT:
        raise UserError(f"bad date {value!r} for {what}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def parse_range(start: Any, end: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``start`` (inclusive) and ``end`` (exclusive) as UTC; an empty or reversed range is a UserError."""
    t0, t1 = parse_time(start, "start"), parse_time(end, "end")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise UserError(f"end {t1.isoformat()} must be after start {t0.isoformat()} (end is exclusive)")
    return t0, t1


def _symbols(symbols: str | Iterable[str]) -> list[str]:
    items = symbols.split(",") if isinstance(symbols, str) else list(symbols)
    out = [s.strip().upper() for s in items if s and s.strip()]
    if not out:
        raise UserError("no symbols given")
    return list(dict.fromkeys(out))


def _check_source(source: str) -> str:
    if source not in SOURCES:
        raise UserError(f"unknown source {source!r}; allowed: {', '.join(SOURCES)}")
    return source


def _check_venue_symbol(source: str, symbol: str) -> None:
    universe = tuple(CRYPTO_UNIVERSE) if source == "bitget" else EQUITY_UNIVERSE
    if symbol not in universe:
        kind = "crypto" if source == "bitget" else "MOEX"
        raise UnknownSymbolError(f"{symbol!r} is not in the {kind} universe of {source}: {', '.join(universe)}")


def _slice(df: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    if start is not None:
        mask &= df.index >= start
    if end is not None:
        mask &= df.index < end
    out = df[mask.to_numpy()]
    out.attrs = dict(df.attrs)
    return out


def _gate(df: pd.DataFrame, symbol: str, interval: str, cal: Calendar, repair: bool) -> pd.DataFrame:
    attrs = dict(df.attrs)
    if repair:
        out, report = repair_bars(df, symbol, interval, cal)
        if report.repairs:
            log.warning("%s %s repaired: %s (was: %s)", symbol, interval, report.repairs, report.summary())
        out.attrs = {**attrs, "quality": report.summary(), "repairs": dict(report.repairs)}
        return out
    out = validate_bars(df, symbol, interval, cal)
    out.attrs = {**attrs, "quality": "ok"}
    return out


@dataclass
class FetchResult:
    """What one fetch did for one symbol."""

    symbol: str
    source: str
    interval: str
    rows: int
    new_rows: int
    requests: int
    path: Path
    quality: QualityReport
    fetched_ranges: list[tuple[str, str]] = field(default_factory=list)


def _network(
    source: str,
    session: aiohttp.ClientSession,
    settings: Settings,
    market: str,
    retry: RetryPolicy | None,
    timeout_s: float,
) -> BitgetCandles | TinvestCandles:
    if source == "bitget":
        return BitgetCandles(session, settings.bitget_base_url, market=market, retry=retry, timeout_s=timeout_s)
    return TinvestCandles.connect(
        session,
        settings.tinkoff_base_url,
        settings.tinkoff_api_token.get(),
        settings.instruments_path,
        retry=retry,
        timeout_s=timeout_s,
    )


def _window(interval: str, start: pd.Timestamp | None, end: pd.Timestamp | None) -> tuple[pd.Timestamp, pd.Timestamp]:
    step = interval_delta(interval)
    now = pd.Timestamp.now(tz="UTC").floor(step) if step <= pd.Timedelta(days=1) else pd.Timestamp.now(tz="UTC")
    end = min(end, now) if end is not None else now
    start = start if start is not None else end - DEFAULT_BARS * step
    if start >= end:
        raise UserError(f"start {start.isoformat()} is not before end {end.isoformat()}")
    return start, end


async def fetch_bars(
    symbols: str | Sequence[str],
    interval: str,
    start: Any = None,
    end: Any = None,
    *,
    source: str = "sample",
    settings: Settings | None = None,
    market: str = "spot",
    path: str | Path | None = None,
    session: aiohttp.ClientSession | None = None,
    seed: int = DEFAULT_SEED,
    refresh: bool = False,
    retry: RetryPolicy | None = None,
    timeout_s: float = 20.0,
    progress: bool | None = None,
) -> list[FetchResult]:
    """Bring bars into the cache; ask the network only for ranges not yet fetched."""
    source = _check_source(source)
    interval = parse_interval(interval)
    names = _symbols(symbols)
    settings = settings or load_settings()
    t0, t1 = parse_range(start, end)
    cache = BarCache(settings.data_cache_dir)
    results: list[FetchResult] = []
    if source not in NETWORK_SOURCES:
        for sym in names:
            df = _load_local(source, sym, interval, t0, t1, path=path, seed=seed, gate=False)
            step = interval_delta(interval)
            cov = [(int(df.index[0].value), int((df.index[-1] + step).value))] if len(df) else []
            target = cache.write(source, interval, sym, df, cov, synthetic=bool(df.attrs.get("synthetic")))
            cal = sample_calendar(sym) if source == "sample" else calendar_for(sym)
            results.append(
                FetchResult(sym, source, interval, len(df), len(df), 0, target, check_bars(df, sym, interval, cal))
            )
        return results

    for sym in names:
        _check_venue_symbol(source, sym)
    lo, hi = _window(interval, t0, t1)
    own_session = session is None
    sess = session or aiohttp.ClientSession()
    try:
        src = _network(source, sess, settings, market, retry, timeout_s)
        cache_name = getattr(src, "cache_name", source)
        for sym in tqdm(
            names, desc=f"fetch {source} {interval}", disable=not progress if progress is not None else None
        ):
            entry = None if refresh else cache.read(cache_name, interval, sym)
            have = entry.coverage if entry else []
            gaps = missing_ranges((int(lo.value), int(hi.value)), have)
            before = getattr(getattr(src, "rest", src), "requests", 0)
            frames = [entry.bars] if entry is not None and len(entry.bars) else []
            new_rows = 0
            for a, b in gaps:
                try:
                    got = await src.fetch(sym, interval, pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC"))
                except RetryableError as exc:
                    attempts = (retry or RetryPolicy()).attempts
                    raise SourceUnavailable(
                        f"{source} {sym} {interval}: gave up after {attempts} attempts: {exc}"
                    ) from exc
                new_rows += len(got)
                if len(got):
                    frames.append(got)
            merged = pd.concat(frames) if frames else _empty()
            merged = merged[~merged.index.duplicated(keep="last")].sort_index()
            target = cache.write(cache_name, interval, sym, merged, have + gaps, market=market)
            window = _slice(merged, lo, hi)
            results.append(
                FetchResult(
                    sym,
                    cache_name,
                    interval,
                    len(merged),
                    new_rows,
                    getattr(getattr(src, "rest", src), "requests", 0) - before,
                    target,
                    check_bars(window, sym, interval, calendar_for(sym)),
                    [(pd.Timestamp(a, tz="UTC").isoformat(), pd.Timestamp(b, tz="UTC").isoformat()) for a, b in gaps],
                )
            )
    finally:
        if own_session:
            await sess.close()
    return results


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64") for c in ("open", "high", "low", "close", "volume")},
        index=pd.DatetimeIndex([], tz="UTC", name="ts").as_unit("ns"),
    )


def _load_local(
    source: str,
    symbol: str,
    interval: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    *,
    path: str | Path | None,
    seed: int,
    gate: bool = True,
    repair: bool = False,
) -> pd.DataFrame:
    if source == "sample":
        if symbol not in sample_symbols():
            raise UnknownSymbolError(f"no embedded sample for {symbol!r}; samples: {', '.join(sample_symbols())}")
        df, cal = load_sample(symbol, interval, seed), sample_calendar(symbol)
    else:
        if path is None:
            raise UserError("the csv source needs a folder: --path DIR (files named <SYMBOL>.csv)")
        folder = Path(path).expanduser()
        csv_symbols(folder)
        df, cal = read_csv_bars(folder, symbol), calendar_for(symbol)
    full = df
    df = _slice(df, start, end)
    if not len(df):
        span = f"{full.index[0].isoformat()} .. {full.index[-1].isoformat()}" if len(full) else "no bars at all"
        raise DataError(f"{source} {symbol} {interval}: no bars in the requested range (it has {span})")
    return _gate(df, symbol, interval, cal, repair) if gate else df


async def load_bars_async(
    symbols: str | Sequence[str],
    interval: str,
    start: Any = None,
    end: Any = None,
    source: str = "sample",
    *,
    settings: Settings | None = None,
    market: str = "spot",
    path: str | Path | None = None,
    session: aiohttp.ClientSession | None = None,
    seed: int = DEFAULT_SEED,
    repair: bool = False,
    fetch: bool = True,
    retry: RetryPolicy | None = None,
    timeout_s: float = 20.0,
) -> dict[str, pd.DataFrame]:
    """Async twin of :func:`load_bars`, for code already inside an event loop."""
    source = _check_source(source)
    interval = parse_interval(interval)
    names = _symbols(symbols)
    t0, t1 = parse_range(start, end)
    if source not in NETWORK_SOURCES:
        return {s: _load_local(source, s, interval, t0, t1, path=path, seed=seed, repair=repair) for s in names}
    settings = settings or load_settings()
    lo, hi = _window(interval, t0, t1)
    if fetch:
        await fetch_bars(
            names,
            interval,
            lo,
            hi,
            source=source,
            settings=settings,
            market=market,
            session=session,
            retry=retry,
            timeout_s=timeout_s,
            progress=False,
        )
    cache = BarCache(settings.data_cache_dir)
    cache_name = cache_name_for(market) if source == "bitget" else source
    out: dict[str, pd.DataFrame] = {}
    for sym in names:
        _check_venue_symbol(source, sym)
        entry = cache.read(cache_name, interval, sym)
        if entry is None:
            raise DataError(f"no cached {source} bars for {sym} {interval}; fetch them first: aitrade data fetch")
        df = _slice(entry.bars, lo, hi)
        if not len(df):
            raise DataError(f"{source} {sym} {interval}: no bars in [{lo.isoformat()}, {hi.isoformat()})")
        df.attrs.update({"source": source, "synthetic": False})
        out[sym] = _gate(df, sym, interval, calendar_for(sym), repair)
    return out


def load_bars(
    symbols: str | Sequence[str],
    interval: str,
    start: Any = None,
    end: Any = None,
    source: str = "sample",
    **kwargs: Any,
) -> dict[str, pd.DataFrame]:
    """``{symbol: bars}`` from one source, each bar table through the quality gate.

    >>> bars = load_bars(["BTCUSDT", "ETHUSDT"], "1h")            # offline sample
    >>> bars = load_bars("AAPL", "1d", "2010-01-01", "2012-01-01")
    """
    if _check_source(source) not in NETWORK_SOURCES:
        interval = parse_interval(interval)
        t0, t1 = parse_range(start, end)
        path, seed, repair = kwargs.get("path"), kwargs.get("seed", DEFAULT_SEED), kwargs.get("repair", False)
        return {
            s: _load_local(source, s, interval, t0, t1, path=path, seed=seed, repair=repair) for s in _symbols(symbols)
        }
    return run_sync(load_bars_async(symbols, interval, start, end, source, **kwargs))


__all__ = [
    "SOURCES",
    "FetchResult",
    "fetch_bars",
    "load_bars",
    "load_bars_async",
    "normalize_bars",
    "parse_time",
]
