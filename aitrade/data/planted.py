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

``CROSS1USDT`` .. ``CROSS8USDT`` carry an edge only an interaction finds: each
bar's drift is ``strength`` x volatility x sign(past 24-bar return) x
sign(48-bar z-score of log volume), read at the previous close. High volume
continues a move, low volume reverts it; log volume is a persistent AR(1), so
a regime lasts long enough for a 12-bar label to see it. Either input alone
says almost nothing (their AUCs are 0.50-0.54); their product ranks the labels
at about 0.68 (:func:`cross_rule`). A model that reads features one at a time,
as a logistic regression does, cannot find it.

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
CROSS = tuple(f"CROSS{i}USDT" for i in range(1, 9))
PLANTED = (*EDGE, *NOISE, *CROSS)
CROSS_STRENGTH = 0.33  # CROSS: drift per bar in units of the bar's volatility
MOMENTUM_BARS = 24  # CROSS: the return the interaction reads (the ret_24 feature)
VOLUME_Z_BARS = 48  # CROSS: the window of the volume z-score it reads (the volume_z feature)
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


def _known(symbol: str) -> None:
    if symbol not in PLANTED:
        raise UnknownSymbolError(f"no planted series {symbol!r}; planted: {', '.join(PLANTED)}")


@lru_cache(maxsize=16)
def _planted(symbol: str, seed: int, strength: float, persistence: float) -> pd.DataFrame:
    _known(symbol)
    if symbol in CROSS:
        return _cross(symbol, seed, strength)[0]
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


def _index() -> pd.DatetimeIndex:
    return pd.date_range(START, periods=BARS, freq="1h", name="ts").as_unit("ns")


@lru_cache(maxsize=16)
def _cross(symbol: str, seed: int, strength: float) -> tuple[pd.DataFrame, np.ndarray]:
    """A CROSS series and its drift state per bar; bar by bar, because the drift reads the path so far."""
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    base_vol = 0.006
    shocks = rng.standard_t(5, size=(BARS, SUBSTEPS)) / np.sqrt(5 / 3)
    log_volume = np.empty(BARS)
    u = 0.0
    for i, e in enumerate(rng.normal(0.0, 1.0, BARS)):
        u = 0.97 * u + np.sqrt(1 - 0.97**2) * 0.4 * e  # stationary sd 0.4, regimes of tens of bars
        log_volume[i] = 8.0 + u
    path = np.empty((BARS, SUBSTEPS))
    drift = np.zeros(BARS, dtype=np.int8)
    v, r_prev, level_log = base_vol**2, 0.0, 0.0
    closes = np.zeros(BARS)
    for i in range(BARS):
        v = base_vol**2 * 0.02 + 0.06 * r_prev**2 + 0.92 * v
        sigma = np.sqrt(v)
        if i > max(MOMENTUM_BARS, VOLUME_Z_BARS):
            momentum = closes[i - 1] - closes[i - 1 - MOMENTUM_BARS]
            window = log_volume[i - VOLUME_Z_BARS : i]
            z = log_volume[i - 1] - window.mean()
            drift[i] = int(np.sign(momentum) * np.sign(z))
        steps = sigma * shocks[i] / np.sqrt(SUBSTEPS) + drift[i] * strength * sigma / SUBSTEPS
        path[i] = level_log + np.cumsum(steps)
        r_prev = float(sigma * shocks[i].sum() / np.sqrt(SUBSTEPS))
        level_log = path[i, -1]
        closes[i] = level_log
    start = np.concatenate([[0.0], path[:-1, -1]])
    level = 100.0 * (1 + (zlib.crc32(symbol.encode()) % 50) / 10)
    close, open_ = level * np.exp(path[:, -1]), level * np.exp(start)
    high = np.maximum(level * np.exp(path.max(axis=1)), np.maximum(open_, close))
    low = np.minimum(level * np.exp(path.min(axis=1)), np.minimum(open_, close))
    volume = np.exp(log_volume)
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=_index())
    return frame, drift


def cross_rule(bars: pd.DataFrame) -> pd.Series:
    """The fit-free oracle of a CROSS series at each close: sign(24-bar return) x sign(volume z-score)."""
    momentum = np.log(bars["close"]).diff(MOMENTUM_BARS)
    log_volume = np.log(bars["volume"])
    z = log_volume - log_volume.rolling(VOLUME_Z_BARS).mean()
    return np.sign(momentum) * np.sign(z)


def planted_bars(
    symbol: str, seed: int = 7, *, strength: float | None = None, persistence: float = 100.0
) -> pd.DataFrame:
    """Hourly bars of a planted-edge (``EDGE*``, ``CROSS*``) or noise-control (``NOISE*``) symbol, marked synthetic."""
    strength = (CROSS_STRENGTH if symbol in CROSS else 0.33) if strength is None else strength
    df = _planted(symbol, seed, float(strength), float(persistence)).copy()
    df.attrs.update(
        {
            "synthetic": True,
            "source": "sample",
            "planted": symbol in EDGE,
            "origin": f"planted edge generator (strength {strength}, persistence {persistence})",
        }
    )
    return df


def hidden_drift(symbol: str, seed: int = 7, *, persistence: float = 100.0) -> pd.Series:
    """The planted truth: the drift state (-1, 0, +1) of every bar (zeros for the noise control)."""
    _known(symbol)
    if symbol in CROSS:
        return pd.Series(_cross(symbol, seed, CROSS_STRENGTH)[1], index=_index())
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
    states = drift_states(BARS, persistence, rng) if symbol in EDGE else np.zeros(BARS, dtype=np.int8)
    return pd.Series(states, index=pd.date_range(START, periods=BARS, freq="1h", name="ts").as_unit("ns"))
