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


def fetch_request(
    *,
    source: str,
    symbols: str,
    interval: str,
    start: str | None = None,
    end: str | None = None,
    market: str = "spot",
    refresh: bool = False,
) -> dict[str, Any]:
    """The DATA FACTORY form as :func:`fetch`'s options, checked before a job starts."""
    from aitrade.cliargs import SOURCES  # noqa: PLC0415
    from aitrade.intervals import parse_interval  # noqa: PLC0415

    if source not in SOURCES or source == "csv":
        raise UserError(f"fetch source must be one of {', '.join(s for s in SOURCES if s != 'csv')}, got {source!r}")
    names = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if not names:
        raise UserError("name at least one symbol to fetch (comma-separated)")
    parse_interval(interval)
    for label, value in (("start", start), ("end", end)):
        if value:
            parse_time(value, label)
    return {
        "source": source,
        "symbols": names,
        "interval": interval,
        "start": start,
        "end": end,
        "market": market,
        "refresh": refresh,
    }


def describe_request(request: dict[str, Any]) -> str:
    """A fetch request as the equivalent command line (a job's title)."""
    parts = [f"--source {request['source']}", f"--symbols {','.join(request['symbols'])}"]
    parts += [f"--interval {request['interval']}", f"--market {request['market']}"]
    parts += [f"--{k} {request[k]}" for k in ("start", "end") if request.get(k)]
    return "data fetch " + " ".join(parts + (["--refresh"] if request.get("refresh") else []))


def fetch_table(results: list[FetchResult]) -> str:
    """What a fetch did, one row per symbol (the CLI and a fetch job print it)."""
    from aitrade.commands.table import format_table  # noqa: PLC0415

    rows = [
        {
            "symbol": r.symbol,
            "source": r.source,
            "interval": r.interval,
            "rows": r.rows,
            "new": r.new_rows,
            "requests": r.requests,
            "quality": r.quality.summary(),
            "file": r.path,
        }
        for r in results
    ]
    return format_table(rows, ["symbol", "source", "interval", "rows", "new", "requests", "quality", "file"])


def latest_run(settings: Settings, kinds: tuple[str, ...], needs: tuple[str, ...]) -> Path | None:
    """The newest complete run folder whose name holds one of ``kinds`` (notebook stems or CLI kinds) and
    which holds every file in ``needs``."""
    from aitrade.runs import run_status  # noqa: PLC0415

    root = settings.home / "runs"
    for run in sorted(root.iterdir(), reverse=True) if root.is_dir() else []:
        if (
            any(k in run.name for k in kinds)
            and all((run / n).exists() for n in needs)
            and (run_status(run) == "complete")
        ):
            return run
    return None


def fold_metrics(settings: Settings) -> dict[str, Any] | None:
    """The newest signals run's out-of-sample metrics: a fold x symbol table and the pooled summary."""
    import pandas as pd  # noqa: PLC0415

    from aitrade.runs import run_json  # noqa: PLC0415

    run = latest_run(settings, ("walk_forward", "universal", "signals"), ("metrics.json", "signals.parquet"))
    if run is None:
        return None
    data = run_json(run / "metrics.json")
    folds = pd.DataFrame(data.get("folds") or [])
    keep = [
        c
        for c in (
            "fold",
            "symbol",
            "n",
            "auc_long",
            "auc_short",
            "log_loss",
            "baseline_log_loss",
            "accuracy",
            "baseline_accuracy",
        )
        if c in folds.columns
    ]
    return {"run": str(run), "folds": folds[keep] if len(folds) else folds, "summary": data.get("summary") or {}}


def validation_images(settings: Settings) -> dict[str, Any] | None:
    """The newest optimise run's validation report images (or, before ``aitrade validate``, its own charts)."""
    run = latest_run(settings, ("optimi",), ("oos_equity.csv",))
    if run is None:
        return None
    folder = run / "validation"
    images = sorted(folder.glob("*.png")) if folder.is_dir() else []
    note = "validation report" if images else "no validation report yet (aitrade validate RUN): the run's own charts"
    return {"run": str(run), "images": [str(p) for p in images or sorted(run.glob("*.png"))], "note": note}


__all__ = [
    "describe_request",
    "fetch",
    "fetch_request",
    "fetch_table",
    "fold_metrics",
    "inventory",
    "parse_time",
    "quality",
    "validation_images",
]
