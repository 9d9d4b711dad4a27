"""Seeded synthetic bars: fat tails, volatility regimes, a shared market factor.

Synthetic data is for offline demos and tests only and is always marked as
such (``df.attrs["synthetic"] = True`` and in every inventory). The model:

* a three-state Markov volatility regime (calm, normal, stressed) with sticky
  transitions, times a GARCH(1,1) variance with Student-t(4) shocks;
* a slowly mean-reverting drift (an AR(1) trend) so regimes of trend and chop
  both occur;
* crypto pairs load on a common market factor (the leader, BTCUSDT, *is* that
  factor); MOEX shares load on their own market factor and jump overnight;
* each bar is built from 12 sub-steps, so high and low are path extremes;
* volume is log-normal and rises with the size of the move.

The same (seed, symbol, interval) always gives the same bars. 4h bars are the
aggregation of the 1h path, so the two intervals describe one market.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from aitrade.data.calendars import MSK_OFFSET
from aitrade.errors import DataError, UnknownSymbolError

DEFAULT_SEED = 7
START = pd.Timestamp("2022-01-01", tz="UTC")
END = pd.Timestamp("2024-01-01", tz="UTC")
SUBSTEPS = 12


@dataclass(frozen=True)
class SyntheticSpec:
    symbol: str
    market: str  # "crypto" or "moex"
    price: float  # starting price
    hourly_vol: float  # typical hourly return stdev
    beta: float  # loading on the market factor
    intervals: tuple[str, ...]


SPECS: dict[str, SyntheticSpec] = {
    s.symbol: s
    for s in (
        SyntheticSpec("BTCUSDT", "crypto", 42000.0, 0.0075, 1.0, ("1h", "4h")),
        SyntheticSpec("ETHUSDT", "crypto", 2800.0, 0.0090, 1.15, ("1h", "4h")),
        SyntheticSpec("BNBUSDT", "crypto", 380.0, 0.0085, 0.9, ("1h", "4h")),
        SyntheticSpec("XRPUSDT", "crypto", 0.62, 0.0110, 1.1, ("1h", "4h")),
        SyntheticSpec("ADAUSDT", "crypto", 0.55, 0.0115, 1.2, ("1h", "4h")),
        SyntheticSpec("SBER", "moex", 255.0, 0.0055, 1.0, ("1h",)),
        SyntheticSpec("GAZP", "moex", 170.0, 0.0060, 0.9, ("1h",)),
        SyntheticSpec("LKOH", "moex", 6500.0, 0.0050, 0.8, ("1h",)),
    )
}
_REGIME_VOL = np.array([0.6, 1.0, 2.3])
_REGIME_P = np.array([[0.995, 0.005, 0.000], [0.004, 0.993, 0.003], [0.000, 0.02, 0.98]])


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _hours(market: str) -> pd.DatetimeIndex:
    grid = pd.date_range(START, END, freq="1h", inclusive="left")
    if market == "crypto":
        return grid
    msk = grid + MSK_OFFSET  # MOEX main session: hourly bars opening 10:00..18:00 Moscow time
    keep = (msk.day_of_week < 5) & (msk.hour >= 10) & (msk.hour <= 18)
    return grid[keep]


def _factor(seed: int, market: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-hour market shock (unit scale) and the regime path, shared by a market."""
    rng = _rng(seed, f"factor:{market}")
    regimes = np.empty(n, dtype=np.int64)
    state = 1
    u = rng.random(n)
    cum = np.cumsum(_REGIME_P, axis=1)
    for i in range(n):
        state = int(np.searchsorted(cum[state], u[i]))
        regimes[i] = min(state, 2)
    shocks = rng.standard_t(4, size=n) / np.sqrt(2.0)  # t(4) has variance 2
    var = np.empty(n)
    h, omega, alpha, beta = 1.0, 0.05, 0.08, 0.87
    for i in range(n):
        var[i] = h
        h = omega + alpha * h * shocks[i] ** 2 + beta * h
    return shocks * np.sqrt(var) * _REGIME_VOL[regimes], regimes


@lru_cache(maxsize=64)
def _hourly(symbol: str, seed: int) -> pd.DataFrame:
    spec = SPECS[symbol]
    idx = _hours(spec.market)
    n = len(idx)
    market, _ = _factor(seed, spec.market, n)
    rng = _rng(seed, f"asset:{symbol}")
    idio = rng.standard_t(4, size=n) / np.sqrt(2.0)
    idio_w = 0.15 if spec.beta == 1.0 and spec.market == "crypto" else 0.6
    ret = spec.hourly_vol * (spec.beta * market + idio_w * idio) / np.sqrt(1 + idio_w**2)
    drift = np.empty(n)
    d, phi = 0.0, 0.999
    trend_noise = rng.normal(0.0, spec.hourly_vol * 0.0025, size=n)
    for i in range(n):
        d = phi * d + trend_noise[i]
        drift[i] = d
    ret = ret + drift
    if spec.market == "moex":  # overnight jump on the first bar of each session
        day = (idx + MSK_OFFSET).normalize()
        first = np.r_[True, day[1:] != day[:-1]]
        ret[first] += rng.standard_t(4, size=int(first.sum())) / np.sqrt(2.0) * spec.hourly_vol * 2.5
    # Build OHLC from sub-steps whose sum is the bar return.
    sub = rng.normal(0.0, 1.0, size=(n, SUBSTEPS))
    sub -= sub.mean(axis=1, keepdims=True)
    sub *= (np.abs(ret) + spec.hourly_vol * 0.5)[:, None] / np.sqrt(SUBSTEPS)
    sub += (ret / SUBSTEPS)[:, None]
    path = np.cumsum(sub, axis=1)
    log_open = np.log(spec.price) + np.r_[0.0, np.cumsum(ret)[:-1]]
    log_close = log_open + path[:, -1]
    log_high = log_open + np.maximum(path.max(axis=1), 0.0)
    log_low = log_open + np.minimum(path.min(axis=1), 0.0)
    size = np.abs(ret) / spec.hourly_vol
    volume = np.exp(rng.normal(0.0, 0.35, size=n)) * (1.0 + 0.8 * size) * 1000.0 / spec.price**0.5
    df = pd.DataFrame(
        {
            "open": np.exp(log_open),
            "high": np.exp(log_high),
            "low": np.exp(log_low),
            "close": np.exp(log_close),
            "volume": volume,
        },
        index=idx.as_unit("ns"),
    )
    df.index.name = "ts"
    return df


def aggregate(df: pd.DataFrame, rule: str) -> pd.DataFrame:
    """OHLCV bars aggregated to a slower UTC-anchored ``rule`` (empty bins dropped)."""
    out = df.resample(rule, label="left", closed="left", origin="epoch").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    return out.dropna(subset=["open"])


def synthetic_bars(symbol: str, interval: str, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Synthetic bars for a known symbol and interval (a fresh copy each call)."""
    spec = SPECS.get(symbol)
    if spec is None:
        raise UnknownSymbolError(f"no synthetic sample for {symbol!r}; synthetic symbols: {', '.join(SPECS)}")
    if interval not in spec.intervals:
        raise DataError(f"synthetic {symbol} comes at {', '.join(spec.intervals)}, not {interval!r}")
    hourly = _hourly(symbol, int(seed))
    df = hourly.copy() if interval == "1h" else aggregate(hourly, interval.replace("h", "h"))
    df.attrs.update({"synthetic": True, "source": "sample", "generator": "aitrade.data.synthetic", "seed": int(seed)})
    return df
