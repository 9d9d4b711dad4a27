"""A planted edge and its noise control: synthetic hourly bars where the truth is known.

Research needs a yardstick: on these bars a model that finds nothing is
broken, and a model that finds something on the noise control is leaking or
overfitting. ``EDGE1USDT`` .. ``EDGE4USDT`` carry a hidden drift that persists:

* the drift is a three-state Markov chain (up, none, down) whose mean
  duration is ``persistence`` bars (100 by default); in the up or down state
  each bar's expected log return is ``+/- strength`` times the bar volatility
  (0.33 by default), so the edge is real but far from obvious bar by bar;
* volatility is a slow GARCH(1,1) with Student-t(5) shocks, so the noise is
  fat-tailed like a market's, and high/low are path extremes of 12 sub-steps;
* each symbol has its own chain and shocks (seeded by name).

``NOISE1USDT`` .. ``NOISE4USDT`` are built the same way with no drift: every
honest statistic on them is unremarkable. A fit-free rule (the sign of the past
24-bar return) separates the classes on EDGE and not on NOISE, which is the
bar any model here should clear. All of it is marked synthetic, 24/7, 1h,
8,760 bars (2023), the same for the same seed.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np
import pandas as pd

from aitrade.errors import UnknownSymbolError

EDGE = tuple(f"EDGE{i}USDT" for i in range(1, 5))
NOISE = tuple(f"NOISE{i}USDT" for i in range(1, 5))
PLANTED = (*EDGE, *NOISE)
START = pd.Timestamp("2023-01-01", tz="UTC")
BARS = 8760
SUBSTEPS = 12


def drift_states(n: int, persistence: float, rng: np.random.Generator) -> np.ndarray:
    """A Markov chain over (-1, 0, +1) with mean duration ``persistence`` bars, starting at random."""
    stay = 1.0 - 1.0 / persistence
    states = np.empty(n, dtype=np.int8)
    s = int(rng.integers(-1, 2))
    for i in range(n):
        states[i] = s
        if rng.random() > stay:
            s = int(rng.choice([x for x in (-1, 0, 1) if x != s]))
    return states


@lru_cache(maxsize=16)
def _planted(symbol: str, seed: int, strength: float, persistence: float) -> pd.DataFrame:
    if symbol not in PLANTED:
        raise UnknownSymbolError(f"no planted series {symbol!r}; planted: {', '.join(PLANTED)}")
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    drift = drift_states(BARS, persistence, rng) if symbol in EDGE else np.zeros(BARS, dtype=np.int8)
    base_vol = 0.006  # per bar, about a major coin's hourly volatility
    var = np.empty(BARS)
    shocks = rng.standard_t(5, size=(BARS, SUBSTEPS)) / np.sqrt(5 / 3)  # unit variance
    v, r_prev = base_vol**2, 0.0
    for i in range(BARS):
        v = base_vol**2 * 0.02 + 0.06 * r_prev**2 + 0.92 * v
        var[i] = v
        r_prev = float(np.sqrt(v) * shocks[i].sum() / np.sqrt(SUBSTEPS))
    sigma = np.sqrt(var)
    steps = (sigma[:, None] * shocks / np.sqrt(SUBSTEPS)) + (drift * strength * sigma)[:, None] / SUBSTEPS
    path = np.cumsum(steps.ravel()).reshape(BARS, SUBSTEPS)
    start = np.concatenate([[0.0], path[:-1, -1]])
    level = 100.0 * (1 + (zlib.crc32(symbol.encode()) % 50) / 10)
    close = level * np.exp(path[:, -1])
    open_ = level * np.exp(start)
    high = np.maximum(level * np.exp(path.max(axis=1)), np.maximum(open_, close))
    low = np.minimum(level * np.exp(path.min(axis=1)), np.minimum(open_, close))
    volume = np.exp(rng.normal(8.0, 0.4, BARS) + 40 * np.abs(np.log(close / open_)))
    idx = pd.date_range(START, periods=BARS, freq="1h", name="ts").as_unit("ns")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=idx)


def planted_bars(symbol: str, seed: int = 7, *, strength: float = 0.33, persistence: float = 100.0) -> pd.DataFrame:
    """Hourly bars of a planted-edge (``EDGE*``) or noise-control (``NOISE*``) symbol, marked synthetic."""
    df = _planted(symbol, seed, float(strength), float(persistence)).copy()
    df.attrs.update({"synthetic": True, "source": "sample", "planted": symbol in EDGE,
                     "origin": f"planted edge generator (strength {strength}, persistence {persistence})"})  # fmt: skip
    return df


def hidden_drift(symbol: str, seed: int = 7, *, persistence: float = 100.0) -> pd.Series:
    """The planted truth: the drift state (-1, 0, +1) of every bar (zeros for the noise control)."""
    if symbol not in PLANTED:
        raise UnknownSymbolError(f"no planted series {symbol!r}; planted: {', '.join(PLANTED)}")
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    states = drift_states(BARS, persistence, rng) if symbol in EDGE else np.zeros(BARS, dtype=np.int8)
    return pd.Series(states, index=pd.date_range(START, periods=BARS, freq="1h", name="ts").as_unit("ns"))
