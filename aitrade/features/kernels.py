"""Numba kernels over NumPy arrays that return new arrays: the numeric core of every feature.

Conventions: 1-D float64 arrays, axis 0 is time; the value at ``t`` depends
only on inputs at ``<= t``; warm-up positions are NaN. Moving averages follow
TA-Lib's seeding (Wilder smoothing and EMAs start from a simple mean), so ATR,
RSI, ADX and EMA match TA-Lib's definitions. The indicators are computed by
the in-place kernels of ``fused.py``; these plain-Python wrappers allocate
their outputs (a jitted caller would cache stale copies of another module's kernels).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from aitrade.features import fused as f
from aitrade.features.fused import RESYNC

NAN = np.nan

__all__ = ["RESYNC"]


def atr_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """Average true range (Wilder), first value at index ``n``."""
    out = np.empty(len(close))
    f.atr_into(high, low, close, n, out)
    return out


def ema_nb(x: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average, seeded with the mean of the first ``span`` values."""
    out = np.empty(len(x))
    f.ema_into(x, span, out)
    return out


def rsi_nb(close: np.ndarray, n: int) -> np.ndarray:
    """Relative strength index (Wilder), first value at index ``n``; 50 when flat."""
    out = np.empty(len(close))
    f.rsi_into(close, n, out)
    return out


def adx_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wilder's ADX with +DI and -DI; ADX starts at index ``2n - 1``."""
    m = len(close)
    adx, pdi, mdi = np.empty(m), np.empty(m), np.empty(m)
    f.adx_into(high, low, close, n, adx, pdi, mdi)
    return adx, pdi, mdi


def rolling_mean_nb(x: np.ndarray, w: int) -> np.ndarray:
    """Mean of the last ``w`` values: a running sum, re-summed exactly every RESYNC bars."""
    out = np.empty(len(x))
    f.mean_into(x, w, out)
    return out


def rolling_std_nb(x: np.ndarray, w: int) -> np.ndarray:
    """Population standard deviation of the last ``w`` values (running sums around a shift)."""
    out = np.empty(len(x))
    f.std_into(x, w, out, np.empty(0))
    return out


@njit(cache=True)
def log_return_nb(close: np.ndarray, lag: int) -> np.ndarray:
    m = len(close)
    out = np.full(m, NAN)
    for i in range(lag, m):
        out[i] = np.log(close[i] / close[i - lag])
    return out


@njit(cache=True)
def diff_nb(x: np.ndarray, lag: int) -> np.ndarray:
    """``x[i] - x[i - lag]`` (NaN for the first ``lag`` bars)."""
    m = len(x)
    out = np.full(m, NAN)
    for i in range(lag, m):
        out[i] = x[i] - x[i - lag]
    return out


@njit(cache=True)
def shift_nb(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` delayed by ``k >= 0`` bars."""
    m = len(x)
    out = np.full(m, NAN)
    for i in range(k, m):
        out[i] = x[i - k]
    return out


@njit(cache=True)
def levels_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, atr: np.ndarray, k: int, memory: int, lookback: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fractal support/resistance: distances (in ATR) and decaying touch strength.

    A bar ``c`` is a fractal high when its high is the highest of the ``k`` bars
    on each side; it is known only at ``c + k``. The last ``memory`` fractal
    highs and lows are kept. At bar ``i`` support is the nearest remembered
    low below the close and resistance the nearest high above it. Strength
    decays by 0.95 a bar over ``lookback`` bars and gains ``1 + min(3, rebound)``
    for each bar that touched the level (within 0.3 ATR), where the rebound is
    the next bar's close-to-close move in ATR (seen by then). Distances are NaN
    where there is no level or no ATR yet.
    """
    m = len(close)
    sup_d = np.full(m, NAN)
    res_d = np.full(m, NAN)
    sup_s = np.zeros(m)
    res_s = np.zeros(m)
    hi_lv = np.full(memory, NAN)
    lo_lv = np.full(memory, NAN)
    nh = 0
    nl = 0
    for i in range(m):
        c = i - k
        if c - k >= 0:
            is_hi = True
            is_lo = True
            for j in range(c - k, c + k + 1):
                if high[j] > high[c]:
                    is_hi = False
                if low[j] < low[c]:
                    is_lo = False
            if is_hi:
                hi_lv[nh % memory] = high[c]
                nh += 1
            if is_lo:
                lo_lv[nl % memory] = low[c]
                nl += 1
        a = atr[i]
        if not a > 0:
            continue
        sup = NAN
        res = NAN
        for j in range(min(nl, memory)):
            lv = lo_lv[j]
            if lv <= close[i] and (np.isnan(sup) or lv > sup):
                sup = lv
        for j in range(min(nh, memory)):
            lv = hi_lv[j]
            if lv >= close[i] and (np.isnan(res) or lv < res):
                res = lv
        if not np.isnan(sup):
            sup_d[i] = (close[i] - sup) / a
            s = 0.0
            for j in range(max(0, i - lookback), i - 1):
                s *= 0.95
                if atr[j] > 0 and abs(low[j] - sup) <= 0.3 * atr[j]:
                    s += 1.0 + min(3.0, abs(close[j + 1] - close[j]) / atr[j])
            sup_s[i] = s
        if not np.isnan(res):
            res_d[i] = (res - close[i]) / a
            s = 0.0
            for j in range(max(0, i - lookback), i - 1):
                s *= 0.95
                if atr[j] > 0 and abs(high[j] - res) <= 0.3 * atr[j]:
                    s += 1.0 + min(3.0, abs(close[j + 1] - close[j]) / atr[j])
            res_s[i] = s
    return sup_d, res_d, sup_s, res_s
