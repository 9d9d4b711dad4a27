"""The signals artifact: ``signals.parquet`` (long format) plus ``meta.json``.

Columns: ``symbol, ts, p_long, p_short, regime, open, high, low, close, atr, fold``.
Rows are out-of-sample predictions only. :func:`load_signals` validates the
schema and refuses unknown schema versions with a clear error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from aitrade.errors import DataError
from aitrade.statefile import atomic_write, atomic_write_json

SCHEMA_VERSION = 1
COLUMNS: dict[str, str] = {
    "symbol": "string",
    "ts": "datetime64[ns, UTC]",
    "p_long": "float64",
    "p_short": "float64",
    "regime": "int8",
    "open": "float64",
    "high": "float64",
    "low": "float64",
    "close": "float64",
    "atr": "float64",
    "fold": "int32",
}


@dataclass
class Signals:
    frame: pd.DataFrame
    meta: dict[str, Any]

    def symbol(self, name: str) -> pd.DataFrame:
        """One symbol's rows indexed by ts."""
        return self.frame[self.frame["symbol"] == name].set_index("ts").drop(columns="symbol")

    @property
    def symbols(self) -> list[str]:
        return sorted(self.frame["symbol"].unique().tolist())


def _coerce(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.loc[:, list(COLUMNS)].copy()
    out["symbol"] = out["symbol"].astype(str)
    out["ts"] = pd.to_datetime(out["ts"], utc=True).dt.as_unit("ns")
    for col, dtype in COLUMNS.items():
        if col not in ("symbol", "ts"):
            out[col] = out[col].astype(dtype)
    return out.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)


def validate_frame(frame: pd.DataFrame, where: str = "signals") -> pd.DataFrame:
    """The frame in schema order and dtypes, or a DataError naming what is wrong."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise DataError(f"{where}: no signal rows (nothing was predicted out of sample)")
    try:
        out = _coerce(frame)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: a column has the wrong type: {exc}") from exc
    for col in ("p_long", "p_short", "open", "high", "low", "close", "atr"):
        bad = ~np.isfinite(out[col].to_numpy())
        if bad.any():
            row = out[bad].iloc[0]
            raise DataError(f"{where}: {int(bad.sum())} NaN/inf value(s) in {col} (first: {row['symbol']} {row['ts']})")
    for col in ("p_long", "p_short"):
        if ((out[col] < 0) | (out[col] > 1)).any():
            raise DataError(f"{where}: {col} outside [0, 1]")
    if (out["p_long"] + out["p_short"] > 1 + 1e-9).any():
        raise DataError(f"{where}: p_long + p_short exceeds 1")
    dup = out.duplicated(["symbol", "ts"])
    if dup.any():
        raise DataError(f"{where}: {int(dup.sum())} duplicate (symbol, ts) row(s)")
    return out


def write_signals(folder: str | Path, frame: pd.DataFrame, meta: dict[str, Any]) -> Path:
    """Validate and write ``signals.parquet`` and ``meta.json`` atomically."""
    folder = Path(folder)
    out = validate_frame(frame)
    table = pa.Table.from_pandas(out, preserve_index=False)
    atomic_write(folder / "signals.parquet", lambda tmp: pq.write_table(table, tmp))
    atomic_write_json(folder / "meta.json", {"schema_version": SCHEMA_VERSION, **meta})
    return folder


def load_signals(folder: str | Path, *, allow_running: bool = False) -> Signals:
    """Read and validate an artifact folder (or a path to its ``signals.parquet``).

    A run that failed or was interrupted is refused; one still running only
    with ``allow_running`` (a notebook reading the run it is building).
    """
    folder = Path(folder)
    if folder.name == "signals.parquet":
        folder = folder.parent
    meta_path, data_path = folder / "meta.json", folder / "signals.parquet"
    if not meta_path.is_file() or not data_path.is_file():
        raise DataError(f"{folder} is not a signals artifact (needs signals.parquet and meta.json)")
    from aitrade.runs import require_complete  # noqa: PLC0415 (runs imports config)

    require_complete(folder, "signals run", allow_running=allow_running)
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(f"{meta_path} is not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{meta_path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(meta, dict):
        raise DataError(f"{meta_path} must hold a JSON object, found {type(meta).__name__}")
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise DataError(f"{meta_path}: unknown signals schema version {version!r}; this AiTrade reads {SCHEMA_VERSION}")
    try:
        frame = pq.read_table(data_path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{data_path} is not a readable Parquet file: {exc}") from exc
    return Signals(validate_frame(frame, str(data_path)), meta)
