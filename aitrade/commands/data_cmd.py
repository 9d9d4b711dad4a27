"""``aitrade data``: inventory, fetch and quality report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aitrade.config import Settings
from aitrade.data.cache import BarCache
from aitrade.data.calendars import calendar_for
from aitrade.data.loader import FetchResult, fetch_bars, parse_time
from aitrade.data.schema import check_bars
from aitrade.data.sources.csvfiles import csv_symbols, read_csv_bars
from aitrade.data.sources.sample import (
    load_sample,
    sample_calendar,
    sample_intervals,
    sample_inventory,
    sample_symbols,
)
from aitrade.errors import UserError


def inventory(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Embedded samples and cached files."""
    return {"samples": sample_inventory(), "cache": BarCache(settings.data_cache_dir).inventory()}


async def fetch(settings: Settings, **kwargs: Any) -> list[FetchResult]:
    """Fetch bars into the cache (see :func:`aitrade.data.fetch_bars`)."""
    return await fetch_bars(settings=settings, **kwargs)


def quality(
    settings: Settings,
    *,
    source: str | None = None,
    symbols: list[str] | None = None,
    interval: str | None = None,
    path: str | None = None,
) -> list[dict[str, Any]]:
    """Quality report rows for samples, a CSV folder, or cached files."""
    rows: list[dict[str, Any]] = []

    def row(source_name: str, sym: str, ivl: str, df: Any, cal: Any) -> None:
        report = check_bars(df, sym, ivl, cal)
        rows.append(
            {
                "source": source_name,
                "symbol": sym,
                "interval": ivl,
                "rows": report.rows,
                "start": report.start.isoformat() if report.start is not None else None,
                "end": report.end.isoformat() if report.end is not None else None,
                "calendar": report.calendar,
                "ok": report.ok,
                "report": report.summary(),
            }
        )

    if source in (None, "sample"):
        for sym in symbols or sample_symbols():
            if sym not in sample_symbols():
                raise UserError(f"no embedded sample for {sym!r}; samples: {', '.join(sample_symbols())}")
            for ivl in [interval] if interval else sample_intervals(sym):
                if ivl in sample_intervals(sym):
                    row("sample", sym, ivl, load_sample(sym, ivl), sample_calendar(sym))
    if source == "csv":
        if not path:
            raise UserError("the csv source needs --path DIR")
        folder = Path(path)
        for sym in symbols or csv_symbols(folder):
            if not interval:
                raise UserError("checking CSV files needs --interval (the files do not say it)")
            row("csv", sym, interval, read_csv_bars(folder, sym), calendar_for(sym))
    if source is None or source not in ("sample", "csv"):
        cache = BarCache(settings.data_cache_dir)
        for item in cache.inventory():
            if source and not item["source"].startswith(source):
                continue
            if (symbols and item["symbol"] not in symbols) or (interval and item["interval"] != interval):
                continue
            if "error" in item:
                rows.append({**item, "ok": False, "report": item["error"]})
                continue
            entry = cache.read(item["source"], item["interval"], item["symbol"])
            assert entry is not None
            cal = sample_calendar(item["symbol"]) if item["source"] == "sample" else calendar_for(item["symbol"])
            row(f"cache:{item['source']}", item["symbol"], item["interval"], entry.bars, cal)
    return rows


__all__ = ["fetch", "inventory", "parse_time", "quality"]
