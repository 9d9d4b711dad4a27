"""Fused numba kernels: one per feature group, writing straight into the caller's columns.

Each kernel makes one or two passes over the bars and stores its columns in
arrays it is given (views into the feature block, see ``build.py``), so a
group costs no NumPy temporaries and no copies. ``kernels.py`` wraps the
single indicators (ATR, RSI, EMA, ADX, rolling mean and std) as functions that
return new arrays. ``error_model="numpy"`` makes a division by zero give
inf/NaN as NumPy does instead of raising.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NAN = np.nan
RESYNC = 1024  # running window sums are recomputed exactly this often, bounding rounding drift
FLOAT_MAX = np.finfo(np.float64).max

fused = njit(cache=True, error_model="numpy")


@fused
def mean_into(x: np.ndarray, w: int, out: np.ndarray) -> None:
    """``out`` = mean of the last ``w`` values of ``x``: a running sum, re-summed exactly every RESYNC bars."""
    m = len(x)
    s = 0.0
    inv = 1.0 / w
    for i in range(m):
        if i % RESYNC == 0 and i >= w:
            s = 0.0
            for j in range(i - w + 1, i + 1):
                s += x[j]
        else:
            s += x[i]
            if i >= w:
                s -= x[i - w]
        out[i] = s * inv if i >= w - 1 else NAN


@fused
def std_into(x: np.ndarray, w: int, out: np.ndarray, mean: np.ndarray) -> None:
    """``out`` = population std of the last ``w`` values (running sums around a shift, re-summed every RESYNC
    bars); ``mean`` gets the window mean from the same sums when it is not empty."""
    m = len(x)
    with_mean = len(mean) == m
    if m == 0:
        return
    k = x[0]  # shifting by a typical value keeps the sums small and the variance accurate
    s = 0.0
    q = 0.0
    inv = 1.0 / w  # multiplications, not divisions, on every bar
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
            mu = s * inv
            v = q * inv - mu * mu
            out[i] = np.sqrt(v) if v > 0 else 0.0
            if with_mean:
                mean[i] = k + mu
        else:
            out[i] = NAN
            if with_mean:
                mean[i] = NAN


@fused
def ema_into(x: np.ndarray, span: int, out: np.ndarray) -> None:
    """``out`` = EMA seeded with the mean of the first ``span`` values."""
    m = len(x)
    out[: min(span - 1, m)] = NAN
    if span > m:
        out[:] = NAN
        return
    alpha = 2.0 / (span + 1.0)
    s = 0.0
    for i in range(span):
        s += x[i]
    v = s / span
    out[span - 1] = v
    for i in range(span, m):
        v = alpha * x[i] + (1.0 - alpha) * v
        out[i] = v


@fused
def atr_into(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int, out: np.ndarray) -> None:
    """Wilder's ATR, first value at index ``n``."""
    m = len(close)
    out[: min(n, m)] = NAN
    if m <= n:
        return
    s = 0.0
    keep, w = (n - 1) / n, 1.0 / n
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


@fused
def rsi_into(close: np.ndarray, n: int, out: np.ndarray) -> None:
    """Wilder's RSI, first value at index ``n``; 50 when flat."""
    m = len(close)
    out[: min(n, m)] = NAN
    if m <= n:
        return
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


@fused
def atr_relative_into(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    atr: np.ndarray,
    rel: np.ndarray,
    spread: np.ndarray,
    body: np.ndarray,
) -> None:
    for i in range(len(c)):
        a = atr[i]
        rel[i] = a / c[i]
        spread[i] = (h[i] - lo[i]) / a
        body[i] = abs(c[i] - o[i]) / a


@fused
def adx_into(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    n: int,
    adx: np.ndarray,
    pdi: np.ndarray,
    mdi: np.ndarray,
) -> None:
    """Wilder's ADX (from index ``2n - 1``), +DI and -DI in one pass."""
    m = len(close)
    if m <= n:
        adx[:] = NAN
        pdi[:] = NAN
        mdi[:] = NAN
        return
    s_tr = 0.0
    s_p = 0.0
    s_m = 0.0
    start = 2 * n - 1
    inv = 1.0 / n  # multiplications, not divisions, in the latency-bound recurrences
    acc = 0.0
    v = 0.0
    pdi[0] = NAN
    mdi[0] = NAN
    adx[0] = NAN
    for i in range(1, m):
        hl = high[i] - low[i]
        hc = abs(high[i] - close[i - 1])
        lc = abs(low[i] - close[i - 1])
        tr = max(hl, hc, lc)
        up = high[i] - high[i - 1]
        dn = low[i - 1] - low[i]
        p = up if (up > dn and up > 0) else 0.0
        q = dn if (dn > up and dn > 0) else 0.0
        if i < n:  # seed with n - 1 periods, as TA-Lib does
            s_tr += tr
            s_p += p
            s_m += q
            pdi[i] = NAN
            mdi[i] = NAN
            adx[i] = NAN
            continue
        s_tr = s_tr - s_tr * inv + tr
        s_p = s_p - s_p * inv + p
        s_m = s_m - s_m * inv + q
        if s_tr > 0:
            scale = 100.0 / s_tr
            a = scale * s_p
            b = scale * s_m
        else:
            a = 0.0
            b = 0.0
        pdi[i] = a
        mdi[i] = b
        tot = a + b
        dx = 0.0 if tot == 0 else 100.0 * abs(a - b) / tot
        if i < start:
            acc += dx
            adx[i] = NAN
        elif i == start:
            v = (acc + dx) / n
            adx[i] = v
        else:
            v = (v * (n - 1) + dx) * inv
            adx[i] = v


@fused
def bollinger_into(c: np.ndarray, width: np.ndarray, squeeze: np.ndarray) -> None:
    """Band width ``4 std20 / mean20`` and its ratio to its own 100-bar mean (NaN for 118 bars)."""
    m = len(c)
    sd = np.empty(m)
    mu = np.empty(m)
    std_into(c, 20, sd, mu)
    filled = np.empty(m)
    for i in range(m):
        x = 4.0 * sd[i] / mu[i]
        width[i] = x
        filled[i] = 0.0 if np.isnan(x) else x
    mean_into(filled, 100, squeeze)  # the base, replaced by the ratio below
    first = 19 + 99
    for i in range(m):
        base = squeeze[i]
        if i < first:
            squeeze[i] = NAN
        else:
            squeeze[i] = width[i] / base if base > 0 else 1.0


@fused
def rvol_into(v: np.ndarray, out: np.ndarray) -> None:
    """Volume over the previous 20 bars' mean (1 when that mean is 0)."""
    m = len(v)
    mu = np.empty(m)
    mean_into(v, 20, mu)
    if m:
        out[0] = NAN
    for i in range(1, m):
        prev = mu[i - 1]
        if np.isnan(prev):
            out[i] = NAN
        else:
            out[i] = v[i] / prev if prev > 0 else 1.0


@fused
def zscore_window_into(x: np.ndarray, w: int, first: int, out: np.ndarray) -> None:
    """``out`` = z-score of ``x`` in its last ``w`` values (0 where they do not vary), NaN before ``first``."""
    m = len(x)
    sd = np.empty(m)
    mu = np.empty(m)
    std_into(x, w, sd, mu)
    for i in range(m):
        if i < first:
            out[i] = NAN
        else:
            s = sd[i]
            out[i] = (x[i] - mu[i]) / s if s > 0 else 0.0


@fused
def volume_into(logv: np.ndarray, rvol: np.ndarray, spike: np.ndarray, z: np.ndarray) -> None:
    """Volume spike flag (rvol > 2) and the 48-bar z-score of log volume (``logv`` = log1p(volume))."""
    for i in range(len(rvol)):
        r = rvol[i]
        spike[i] = NAN if np.isnan(r) else (1.0 if r > 2.0 else 0.0)
    zscore_window_into(logv, 48, 47, z)


@fused
def channel_into(c: np.ndarray, pos: np.ndarray, slope: np.ndarray, dist: np.ndarray, eslope: np.ndarray) -> None:
    """Position in the EMA96 +/- 2 std band, its slope, and distance and slope of the EMA200."""
    m = len(c)
    centre = np.empty(m)
    ema_into(c, 96, centre)
    sd = np.empty(m)
    std_into(c, 96, sd, np.empty(0))
    e = np.empty(m)
    ema_into(c, 200, e)
    for i in range(m):
        band = 2.0 * sd[i]
        ce = centre[i]
        if np.isnan(ce) or np.isnan(band):
            pos[i] = NAN
        else:
            pos[i] = (c[i] - (ce - band)) / (2 * band) if band > 0 else 0.5
        dist[i] = (c[i] - e[i]) / e[i]
        if i < 3:
            slope[i] = NAN
            eslope[i] = NAN
        else:
            slope[i] = (ce - centre[i - 3]) / c[i]
            eslope[i] = (e[i] - e[i - 3]) / c[i]


@fused
def window_max_into(x: np.ndarray, w: int, sign: float, out: np.ndarray) -> None:
    """``out[j]`` = max of ``sign * x`` over ``x[j - w + 1 .. j]`` (van Herk/Gil-Werman: block prefix and
    suffix maxima, three branch-free passes; NaN before ``w - 1``). ``sign=-1`` gives minus the minimum."""
    m = len(x)
    suffix = np.empty(m)
    for start in range(0, m, w):
        end = min(start + w, m)
        run = -np.inf
        for j in range(start, end):  # prefix maxima into out
            v = sign * x[j]
            run = v if v > run else run
            out[j] = run
        run = -np.inf
        for j in range(end - 1, start - 1, -1):
            v = sign * x[j]
            run = v if v > run else run
            suffix[j] = run
    for j in range(m - 1, w - 2, -1):
        a = suffix[j - w + 1]
        b = out[j]
        out[j] = a if a > b else b
    out[: min(w - 1, m)] = NAN


@fused
def fib_into(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    period: int,
    tol: float,
    pos: np.ndarray,
    f382: np.ndarray,
    f500: np.ndarray,
    f618: np.ndarray,
) -> None:
    """Fibonacci zones over the previous ``period`` bars: the close's position in their range (0 at the low,
    1 at the high) and flags for closes within ``tol`` of the range from the 38.2%, 50% and 61.8% retracements."""
    m = len(close)
    his = np.empty(m)
    los = np.empty(m)
    window_max_into(high, period, 1.0, his)
    window_max_into(low, period, -1.0, los)
    for i in range(m):
        if i < period:
            pos[i] = NAN
            f382[i] = NAN
            f500[i] = NAN
            f618[i] = NAN
            continue
        hi = his[i - 1]  # the window of the period bars before bar i
        lo = -los[i - 1]
        rng = hi - lo
        if rng <= 0:
            pos[i] = 0.5
            f382[i] = 0.0
            f500[i] = 0.0
            f618[i] = 0.0
        else:
            x = close[i]
            pos[i] = (x - lo) / rng
            band = tol * rng
            f382[i] = 1.0 if abs(x - (hi - 0.382 * rng)) <= band else 0.0
            f500[i] = 1.0 if abs(x - (hi - 0.5 * rng)) <= band else 0.0
            f618[i] = 1.0 if abs(x - (hi - 0.618 * rng)) <= band else 0.0


@fused
def candles_into(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    atr: np.ndarray,
    rvol: np.ndarray,
    streak: np.ndarray,
    ice: np.ndarray,
    whale: np.ndarray,
) -> None:
    """Three-bar colour streak, iceberg pressure (rvol per bar range, clipped to [0, 20]) and its flag."""
    c1 = NAN
    c2 = NAN
    for i in range(len(c)):
        colour = np.sign(c[i] - o[i])
        streak[i] = colour + c1 + c2
        c2 = c1
        c1 = colour
        x = rvol[i] / ((h[i] - lo[i]) / atr[i] + 0.1)
        if np.isnan(x):
            ice[i] = NAN
            whale[i] = NAN
        else:
            x = min(max(x, 0.0), 20.0)
            ice[i] = x
            whale[i] = 1.0 if x > 3.0 else 0.0


@fused
def clean_returns_into(r: np.ndarray, finite: bool, out: np.ndarray) -> None:
    """``r`` with NaN as 0 and, with ``finite``, +-inf as +-max (``np.nan_to_num``)."""
    for i in range(len(r)):
        x = r[i]
        if np.isnan(x):
            x = 0.0
        elif finite and x == np.inf:
            x = FLOAT_MAX
        elif finite and x == -np.inf:
            x = -FLOAT_MAX
        out[i] = x


@fused
def diff_into(x: np.ndarray, lag: int, out: np.ndarray) -> None:
    """``out[i] = x[i] - x[i - lag]`` (NaN for the first ``lag`` bars)."""
    for i in range(len(x)):
        out[i] = x[i] - x[i - lag] if i >= lag else NAN


@fused
def volatility_into(r: np.ndarray, v24: np.ndarray, v96: np.ndarray, ratio: np.ndarray) -> None:
    """Realised volatility of one-bar log returns over 24 and 96 bars, and their ratio."""
    std_into(r, 24, v24, np.empty(0))
    std_into(r, 96, v96, np.empty(0))
    for i in range(len(r)):
        if i < 24:
            v24[i] = NAN
        if i < 96:
            v96[i] = NAN
            ratio[i] = NAN
        else:
            b = v96[i]
            ratio[i] = v24[i] / b if b > 0 else 1.0


@fused
def zscore_into(c: np.ndarray, r: np.ndarray, z: np.ndarray, rz: np.ndarray) -> None:
    """48-bar z-score of the close and 96-bar z-score of the one-bar log return."""
    zscore_window_into(c, 48, 47, z)
    zscore_window_into(r, 96, 96, rz)
