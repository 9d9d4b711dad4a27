"""Numba kernels over NumPy arrays: the numeric core of every feature.

Conventions: 1-D float64 arrays, axis 0 is time; the value at ``t`` depends
only on inputs at ``<= t``; warm-up positions are NaN. Moving averages follow
TA-Lib's seeding (Wilder smoothing and EMAs start from a simple mean), so ATR,
RSI, ADX and EMA match TA-Lib's definitions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NAN = np.nan


@njit(cache=True)
def true_range_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """True range; NaN at 0 (it needs the previous close)."""
    n = len(close)
    out = np.full(n, NAN)
    for i in range(1, n):
        hl = high[i] - low[i]
        hc = abs(high[i] - close[i - 1])
        lc = abs(low[i] - close[i - 1])
        out[i] = max(hl, hc, lc)
    return out


@njit(cache=True)
def wilder_nb(x: np.ndarray, n: int, first: int) -> np.ndarray:
    """Wilder's smoothing of ``x`` from index ``first``: a mean of n values, then (n-1)/n decay."""
    m = len(x)
    out = np.full(m, NAN)
    start = first + n - 1
    if start >= m:
        return out
    s = 0.0
    for i in range(first, start + 1):
        s += x[i]
    v = s / n
    out[start] = v
    for i in range(start + 1, m):
        v = (v * (n - 1) + x[i]) / n
        out[i] = v
    return out


@njit(cache=True)
def atr_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """Average true range (Wilder), first value at index ``n``; one fused pass."""
    m = len(close)
    out = np.empty(m)
    out[: min(n, m)] = NAN
    if m <= n:
        return out
    s = 0.0
    keep, w = (n - 1) / n, 1.0 / n  # multiply, not divide: the recurrence is latency-bound
    for i in range(1, m):
        hl = high[i] - low[i]
        hc = high[i] - close[i - 1]
        lc = low[i] - close[i - 1]
        hc = hc if hc >= 0 else -hc
        lc = lc if lc >= 0 else -lc
        tr = hl if hl >= hc else hc
        tr = tr if tr >= lc else lc
        if i < n:
            s += tr
        elif i == n:
            s = (s + tr) * w
            out[i] = s
        else:
            s = s * keep + tr * w
            out[i] = s
    return out


@njit(cache=True)
def ema_nb(x: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average, seeded with the mean of the first ``span`` values."""
    m = len(x)
    out = np.full(m, NAN)
    if span > m:
        return out
    alpha = 2.0 / (span + 1.0)
    s = 0.0
    for i in range(span):
        s += x[i]
    v = s / span
    out[span - 1] = v
    for i in range(span, m):
        v = alpha * x[i] + (1.0 - alpha) * v
        out[i] = v
    return out


@njit(cache=True)
def rsi_nb(close: np.ndarray, n: int) -> np.ndarray:
    """Relative strength index (Wilder), first value at index ``n``; 50 when flat. One fused pass."""
    m = len(close)
    out = np.empty(m)
    out[: min(n, m)] = NAN
    if m <= n:
        return out
    ag = 0.0
    al = 0.0
    keep, w = (n - 1) / n, 1.0 / n
    for i in range(1, m):
        d = close[i] - close[i - 1]
        g = d if d > 0 else 0.0
        lo = -d if d < 0 else 0.0
        if i < n:
            ag += g
            al += lo
            continue
        if i == n:
            ag = (ag + g) * w
            al = (al + lo) * w
        else:
            ag = ag * keep + g * w
            al = al * keep + lo * w
        tot = ag + al
        out[i] = 50.0 if tot == 0.0 else 100.0 * ag / tot
    return out


@njit(cache=True)
def adx_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wilder's ADX with +DI and -DI; ADX starts at index ``2n - 1``."""
    m = len(close)
    pdm = np.zeros(m)
    mdm = np.zeros(m)
    tr = true_range_nb(high, low, close)
    for i in range(1, m):
        up = high[i] - high[i - 1]
        dn = low[i - 1] - low[i]
        if up > dn and up > 0:
            pdm[i] = up
        if dn > up and dn > 0:
            mdm[i] = dn
    pdi = np.full(m, NAN)
    mdi = np.full(m, NAN)
    dx = np.full(m, NAN)
    if m <= n:
        return np.full(m, NAN), pdi, mdi
    s_tr = 0.0
    s_p = 0.0
    s_m = 0.0
    for i in range(1, n):  # seed with n - 1 periods, as TA-Lib does
        s_tr += tr[i]
        s_p += pdm[i]
        s_m += mdm[i]
    for i in range(n, m):
        s_tr = s_tr - s_tr / n + tr[i]
        s_p = s_p - s_p / n + pdm[i]
        s_m = s_m - s_m / n + mdm[i]
        if s_tr > 0:
            pdi[i] = 100.0 * s_p / s_tr
            mdi[i] = 100.0 * s_m / s_tr
        else:
            pdi[i] = 0.0
            mdi[i] = 0.0
        tot = pdi[i] + mdi[i]
        dx[i] = 0.0 if tot == 0 else 100.0 * abs(pdi[i] - mdi[i]) / tot
    adx = wilder_nb(np.where(np.isnan(dx), 0.0, dx), n, n)
    return adx, pdi, mdi


RESYNC = 1024  # running window sums are recomputed exactly this often, bounding rounding drift


@njit(cache=True)
def rolling_mean_nb(x: np.ndarray, w: int) -> np.ndarray:
    """Mean of the last ``w`` values: a running sum, re-summed exactly every RESYNC bars."""
    m = len(x)
    out = np.full(m, NAN)
    s = 0.0
    for i in range(m):
        if i % RESYNC == 0 and i >= w:
            s = 0.0
            for j in range(i - w + 1, i + 1):
                s += x[j]
        else:
            s += x[i]
            if i >= w:
                s -= x[i - w]
        if i >= w - 1:
            out[i] = s / w
    return out


@njit(cache=True)
def rolling_std_nb(x: np.ndarray, w: int) -> np.ndarray:
    """Population standard deviation of the last ``w`` values (running sums around a shift)."""
    m = len(x)
    out = np.full(m, NAN)
    if m == 0:
        return out
    k = x[0]  # shifting by a typical value keeps the sums small and the variance accurate
    s = 0.0
    q = 0.0
    for i in range(m):
        if i % RESYNC == 0 and i >= w:
            k = x[i - w + 1]
            s = 0.0
            q = 0.0
            for j in range(i - w + 1, i + 1):
                d = x[j] - k
                s += d
                q += d * d
        else:
            d = x[i] - k
            s += d
            q += d * d
            if i >= w:
                e = x[i - w] - k
                s -= e
                q -= e * e
        if i >= w - 1:
            mu = s / w
            v = q / w - mu * mu
            out[i] = np.sqrt(v) if v > 0 else 0.0
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


@njit(cache=True)
def window_extremes_nb(high: np.ndarray, low: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
    """Highest high and lowest low of the ``period`` bars before each bar (monotonic queues, O(n))."""
    m = len(high)
    hi_out = np.full(m, NAN)
    lo_out = np.full(m, NAN)
    hq = np.empty(m, dtype=np.int64)  # indices of falling highs
    lq = np.empty(m, dtype=np.int64)  # indices of rising lows
    h0 = h1 = l0 = l1 = 0  # queue heads and tails
    for i in range(m):
        if i >= period:  # the window [i - period, i - 1] is complete
            while hq[h0] < i - period:
                h0 += 1
            while lq[l0] < i - period:
                l0 += 1
            hi_out[i] = high[hq[h0]]
            lo_out[i] = low[lq[l0]]
        while h1 > h0 and high[hq[h1 - 1]] <= high[i]:
            h1 -= 1
        hq[h1] = i
        h1 += 1
        while l1 > l0 and low[lq[l1 - 1]] >= low[i]:
            l1 -= 1
        lq[l1] = i
        l1 += 1
    return hi_out, lo_out


@njit(cache=True)
def fib_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, tol: float) -> np.ndarray:
    """Fibonacci zones over the previous ``period`` bars (the current bar excluded).

    Returns an (n, 4) array: position of the close in the range (0 at the low,
    1 at the high) and three distinct flags for closes within ``tol`` of the
    range from the 38.2%, 50% and 61.8% retracement of the swing from the low.
    """
    m = len(close)
    out = np.full((m, 4), NAN)
    his, los = window_extremes_nb(high, low, period)
    for i in range(period, m):
        lo = los[i]
        hi = his[i]
        rng = hi - lo
        if rng <= 0:
            out[i, 0] = 0.5
            out[i, 1] = 0.0
            out[i, 2] = 0.0
            out[i, 3] = 0.0
            continue
        out[i, 0] = (close[i] - lo) / rng
        for c, f in ((1, 0.382), (2, 0.5), (3, 0.618)):
            level = hi - f * rng  # retracement of the up-swing, measured from the high
            out[i, c] = 1.0 if abs(close[i] - level) <= tol * rng else 0.0
    return out
