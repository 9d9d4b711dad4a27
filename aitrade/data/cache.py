"""Parquet bar cache: ``data_cache/<source>/<interval>/<SYMBOL>.parquet``.

Each file records, in its Parquet metadata, which time ranges have been
fetched (``coverage``), so a repeated fetch asks the network only for the
ranges it lacks, even where the venue had no bars (nights, weekends).
Files are replaced atomically; a corrupt file is moved aside with a clear error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aitrade.data.schema import BAR_COLUMNS
from aitrade.errors import DataError, UserError
from aitrade.statefile import atomic_write, quarantine

META_KEY = b"aitrade"
Range = tuple[int, int]  # [start_ns, end_ns)


def merge_ranges(ranges: list[Range]) -> list[Range]:
    """Sorted, non-overlapping union of half-open ranges."""
    out: list[Range] = []
    for a, b in sorted(r for r in ranges if r[1] > r[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def missing_ranges(want: Range, have: list[Range]) -> list[Range]:
    """Parts of ``want`` not covered by ``have``."""
    gaps: list[Range] = []
    cursor, end = want
    for a, b in merge_ranges(have):
        if b <= cursor:
            continue
        if a >= end:
            break
        if a > cursor:
            gaps.append((cursor, min(a, end)))
        cursor = max(cursor, b)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


@dataclass
class CacheEntry:
    bars: pd.DataFrame
    coverage: list[Range]
    meta: dict[str, Any]


class BarCache:
    """The cache folder of one home."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, source: str, interval: str, symbol: str) -> Path:
        return self.root / source / interval / f"{symbol}.parquet"

    def read(self, source: str, interval: str, symbol: str) -> CacheEntry | None:
        path = self.path(source, interval, symbol)
        if not path.is_file():
            return None
        try:
            table = pq.read_table(path)
            meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
            df = table.to_pandas()
        except (pa.ArrowException, OSError, ValueError) as exc:
            aside = quarantine(path)
            raise DataError(f"cache file {path} is corrupt ({exc}); it was moved aside to {aside.name}") from exc
        if "ts" in df.columns:
            df = df.set_index("ts")
        df.index = pd.DatetimeIndex(df.index, name="ts").tz_convert("UTC").as_unit("ns")
        coverage = [(int(a), int(b)) for a, b in meta.get("coverage", [])]
        return CacheEntry(df.loc[:, list(BAR_COLUMNS)], coverage, meta)

    def write(
        self, source: str, interval: str, symbol: str, bars: pd.DataFrame, coverage: list[Range], **meta: Any
    ) -> Path:
        path = self.path(source, interval, symbol)
        frame = bars.loc[:, list(BAR_COLUMNS)].copy()
        frame.index = pd.DatetimeIndex(frame.index, name="ts").as_unit("ns")
        table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
        info = {
            "source": source,
            "interval": interval,
            "symbol": symbol,
            "coverage": merge_ranges(coverage),
            **meta,
        }
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[META_KEY] = json.dumps(info).encode()
        table = table.replace_schema_metadata(schema_meta)
        try:
            return atomic_write(path, lambda tmp: pq.write_table(table, tmp))
        except OSError as exc:
            raise UserError(f"cannot write the cache file {path}: {exc.strerror or exc}") from exc

    def inventory(self) -> list[dict[str, Any]]:
        """One row per cached file: source, interval, symbol, rows, range."""
        rows: list[dict[str, Any]] = []
        if not self.root.is_dir():
            return rows
        for path in sorted(self.root.glob("*/*/*.parquet")):
            source, interval, symbol = path.parts[-3], path.parts[-2], path.stem
            try:
                meta = pq.read_metadata(path)
                info = json.loads((meta.metadata or {}).get(META_KEY, b"{}"))
                entry = self.read(source, interval, symbol)
            except (DataError, pa.ArrowException, OSError, ValueError) as exc:
                rows.append({"source": source, "interval": interval, "symbol": symbol, "error": str(exc)})
                continue
            assert entry is not None
            bars = entry.bars
            rows.append(
                {
                    "source": source,
                    "interval": interval,
                    "symbol": symbol,
                    "rows": len(bars),
                    "start": bars.index[0].isoformat() if len(bars) else None,
                    "end": bars.index[-1].isoformat() if len(bars) else None,
                    "synthetic": bool(info.get("synthetic", False)),
                }
            )
        return rows
