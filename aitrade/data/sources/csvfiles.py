"""User CSV files: ``DIR/<SYMBOL>.csv`` with columns ``ts,open,high,low,close,volume``.

``ts`` is ISO-8601; a value without an offset is UTC, one with an offset is
converted to UTC. The symbols are whatever files the folder holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aitrade.errors import DataError, UnknownSymbolError

CSV_COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def csv_symbols(folder: Path) -> list[str]:
    """Symbols with a ``<SYMBOL>.csv`` file in ``folder``."""
    if not folder.is_dir():
        raise DataError(f"CSV folder {folder} does not exist or is not a folder")
    return sorted(p.stem for p in folder.glob("*.csv") if p.is_file())


def read_csv_bars(folder: Path, symbol: str) -> pd.DataFrame:
    """Bars from ``folder/<symbol>.csv``; any unreadable value is a DataError naming it."""
    path = folder / f"{symbol}.csv"
    if not path.is_file():
        have = csv_symbols(folder)
        raise UnknownSymbolError(f"no file {path.name} in {folder}; CSV symbols there: {', '.join(have) or 'none'}")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not a text CSV file: {exc}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path} is not a readable CSV file: {exc}") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in CSV_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}; need {','.join(CSV_COLUMNS)}")
    try:
        ts = pd.to_datetime(raw["ts"].str.strip(), utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        row, bad = _first_bad_ts(raw["ts"])
        raise DataError(f"{path}: row {row}: cannot read ts {bad!r} as an ISO-8601 time") from exc
    out = {}
    for col in CSV_COLUMNS[1:]:
        values = pd.to_numeric(raw[col].str.strip(), errors="coerce")
        bad = values.isna() & (raw[col].str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{path}: row {row + 2}: {col}={raw[col].iloc[row]!r} is not a number")
        out[col] = values.to_numpy(dtype=np.float64)
    df = pd.DataFrame(out, index=pd.DatetimeIndex(ts, name="ts").as_unit("ns"))
    df.attrs.update({"source": "csv", "path": str(path), "synthetic": False})
    return df


def _first_bad_ts(col: pd.Series) -> tuple[int, str]:
    """Line number (header is line 1) and text of the first unreadable time."""
    for i, value in enumerate(col):
        try:
            pd.to_datetime([str(value).strip()], utc=True, format="ISO8601")
        except (ValueError, TypeError):
            return i + 2, str(value)
    return 0, "?"
