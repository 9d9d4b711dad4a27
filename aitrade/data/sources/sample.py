"""Embedded samples: real daily stocks, real hourly EURUSD, and seeded synthetic bars.

Real data ships inside the package (see DATA_LICENSES.md):

* AAPL, GOOG, IBM, MSFT, FB daily 2000-2013 (Quandl WIKI via bokeh-sampledata,
  public domain), split- and dividend-adjusted with the source's adjusted close;
* EURUSD hourly 2017, 6,225 ask bars (gym-anytrading, MIT), timestamps in UTC.

Synthetic symbols come from :mod:`aitrade.data.synthetic` and are marked so;
the planted-edge yardstick (``EDGE1USDT``.., ``NOISE1USDT``..) from
:mod:`aitrade.data.planted`, hourly, marked synthetic too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from aitrade.data.calendars import CRYPTO_247, FX, WEEKDAYS, Calendar, calendar_for
from aitrade.data.planted import PLANTED, planted_bars
from aitrade.data.synthetic import DEFAULT_SEED, SPECS, synthetic_bars
from aitrade.errors import DataError, UnknownSymbolError


@dataclass(frozen=True)
class RealSample:
    symbol: str
    interval: str
    file: str
    calendar: Calendar
    origin: str
    license: str


REAL: dict[str, RealSample] = {
    **{
        s: RealSample(s, "1d", "stocks_daily.csv.gz", WEEKDAYS, "Quandl WIKI via bokeh-sampledata", "public domain")
        for s in ("AAPL", "GOOG", "IBM", "MSFT", "FB")
    },
    "EURUSD": RealSample("EURUSD", "1h", "eurusd_1h.csv.gz", FX, "gym-anytrading FOREX_EURUSD_1H_ASK", "MIT"),
}


def _open(name: str) -> pd.DataFrame:
    with resources.files("aitrade.data").joinpath("samples", name).open("rb") as fh:
        return pd.read_csv(fh, compression="gzip")


@lru_cache(maxsize=8)
def _real(symbol: str) -> pd.DataFrame:
    spec = REAL[symbol]
    if spec.file == "stocks_daily.csv.gz":
        raw = _open(spec.file)
        raw = raw[raw["Ticker"] == symbol]
        idx = pd.to_datetime(raw["Date"], format="%Y-%m-%d", utc=True)
        factor = (raw["Adj Close"] / raw["Close"]).to_numpy(dtype=np.float64)
        df = pd.DataFrame(
            {
                "open": raw["Open"].to_numpy(dtype=np.float64) * factor,
                "high": raw["High"].to_numpy(dtype=np.float64) * factor,
                "low": raw["Low"].to_numpy(dtype=np.float64) * factor,
                "close": raw["Close"].to_numpy(dtype=np.float64) * factor,
                "volume": raw["Volume"].to_numpy(dtype=np.float64) / factor,
            },
            index=pd.DatetimeIndex(idx, name="ts"),
        )
    else:
        raw = _open(spec.file)
        idx = pd.to_datetime(raw["Time"], format="%d.%m.%Y %H:%M:%S.%f", utc=True)
        df = pd.DataFrame(
            {c.lower(): raw[c].to_numpy(dtype=np.float64) for c in ("Open", "High", "Low", "Close", "Volume")},
            index=pd.DatetimeIndex(idx, name="ts"),
        )
    df.index = df.index.as_unit("ns")
    return df.sort_index()


def sample_symbols() -> list[str]:
    """Every symbol the embedded samples hold."""
    return [*REAL, *SPECS, *PLANTED]


def sample_intervals(symbol: str) -> tuple[str, ...]:
    if symbol in REAL:
        return (REAL[symbol].interval,)
    if symbol in SPECS:
        return SPECS[symbol].intervals
    if symbol in PLANTED:
        return ("1h",)
    raise UnknownSymbolError(f"no embedded sample for {symbol!r}; samples: {', '.join(sample_symbols())}")


def sample_calendar(symbol: str) -> Calendar:
    if symbol in PLANTED:
        return CRYPTO_247
    return REAL[symbol].calendar if symbol in REAL else calendar_for(symbol)


def load_sample(symbol: str, interval: str, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Bars of an embedded sample (a fresh copy), with provenance in ``attrs``."""
    intervals = sample_intervals(symbol)
    if interval not in intervals:
        raise DataError(f"sample {symbol} comes at {', '.join(intervals)}, not {interval!r}")
    if symbol in SPECS:
        return synthetic_bars(symbol, interval, seed)
    if symbol in PLANTED:
        return planted_bars(symbol, seed)
    df = _real(symbol).copy()
    spec = REAL[symbol]
    df.attrs.update({"synthetic": False, "source": "sample", "origin": spec.origin, "license": spec.license})
    return df


def sample_inventory(seed: int = DEFAULT_SEED) -> list[dict[str, object]]:
    """One row per (symbol, interval): rows, range, real or synthetic, licence."""
    return [dict(r) for r in _inventory(seed)]


@lru_cache(maxsize=4)
def _inventory(seed: int) -> tuple[dict[str, object], ...]:  # the samples are fixed: built once per process
    rows: list[dict[str, object]] = []
    for symbol in sample_symbols():
        for interval in sample_intervals(symbol):
            df = load_sample(symbol, interval, seed)
            rows.append(
                {
                    "symbol": symbol,
                    "interval": interval,
                    "kind": "synthetic" if df.attrs.get("synthetic") else "real",
                    "rows": len(df),
                    "start": df.index[0].isoformat(),
                    "end": df.index[-1].isoformat(),
                    "calendar": sample_calendar(symbol).name,
                    "license": df.attrs.get("license", f"generated (seed {seed})"),
                }
            )
    return tuple(rows)
