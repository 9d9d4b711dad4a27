"""A plain pandas (and plain Python where pandas has no vector form) implementation of AiTrade's features.

It is the peer of the numba kernels in the feature benchmark: the same
definitions, written as a careful pandas user would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _wilder(x: pd.Series, n: int) -> pd.Series:
    return x.ewm(alpha=1 / n, adjust=False).mean()


def atr(df: pd.DataFrame, n: int = 14) -> pd.Series:
    pc = df["close"].shift()
    tr = pd.concat([df["high"] - df["low"], (df["high"] - pc).abs(), (df["low"] - pc).abs()], axis=1).max(axis=1)
    return _wilder(tr, n)


def rsi(c: pd.Series, n: int = 14) -> pd.Series:
    d = c.diff()
    up, dn = _wilder(d.clip(lower=0), n), _wilder((-d).clip(lower=0), n)
    return 100 * up / (up + dn)


def adx(df: pd.DataFrame, n: int = 14) -> pd.DataFrame:
    up, dn = df["high"].diff(), -df["low"].diff()
    pdm = up.where((up > dn) & (up > 0), 0.0)
    mdm = dn.where((dn > up) & (dn > 0), 0.0)
    a = atr(df, n)
    pdi, mdi = 100 * _wilder(pdm, n) / a, 100 * _wilder(mdm, n) / a
    dx = 100 * (pdi - mdi).abs() / (pdi + mdi)
    return pd.DataFrame({"adx": _wilder(dx, n), "plus_di": pdi, "minus_di": mdi})


def levels(
    h: np.ndarray, lo: np.ndarray, c: np.ndarray, a: np.ndarray, k: int = 10, memory: int = 15, lookback: int = 100
):
    n = len(c)
    out = np.full((n, 4), np.nan)
    highs: list[float] = []
    lows: list[float] = []
    for i in range(n):
        cand = i - k
        if cand - k >= 0:
            win_h, win_l = h[cand - k : cand + k + 1], lo[cand - k : cand + k + 1]
            if h[cand] >= win_h.max():
                highs = [*highs[-(memory - 1) :], h[cand]]
            if lo[cand] <= win_l.min():
                lows = [*lows[-(memory - 1) :], lo[cand]]
        if not a[i] > 0:
            continue
        sup = max((v for v in lows if v <= c[i]), default=None)
        res = min((v for v in highs if v >= c[i]), default=None)
        for col, level, price in ((0, sup, lo), (1, res, h)):
            if level is None:
                continue
            out[i, col] = abs(c[i] - level) / a[i]
            s = 0.0
            for j in range(max(0, i - lookback), i - 1):
                s *= 0.95
                if a[j] > 0 and abs(price[j] - level) <= 0.3 * a[j]:
                    s += 1.0 + min(3.0, abs(c[j + 1] - c[j]) / a[j])
            out[i, col + 2] = s
    return out


def features(df: pd.DataFrame, with_levels: bool = True) -> pd.DataFrame:
    c, v = df["close"], df["volume"]
    out = pd.DataFrame(index=df.index)
    a = atr(df)
    out["atr_rel"] = a / c
    out["spread_rel"] = (df["high"] - df["low"]) / a
    out["bar_size_atr"] = (c - df["open"]).abs() / a
    out["rsi"] = rsi(c)
    out = out.join(adx(df))
    width = 4 * c.rolling(20).std(ddof=0) / c.rolling(20).mean()
    out["bb_width"], out["squeeze_factor"] = width, width / width.rolling(100).mean()
    rvol = v / v.rolling(20).mean().shift()
    out["rvol"], out["volume_spike"] = rvol, (rvol > 2).astype(float)
    lv = np.log1p(v)
    out["volume_z"] = (lv - lv.rolling(48).mean()) / lv.rolling(48).std(ddof=0)
    centre, band = c.ewm(span=96, adjust=False).mean(), 2 * c.rolling(96).std(ddof=0)
    out["channel_pos"] = (c - (centre - band)) / (2 * band)
    out["channel_slope"] = centre.diff(3) / c
    e200 = c.ewm(span=200, adjust=False).mean()
    out["ema200_dist"], out["ema200_slope"] = (c - e200) / e200, e200.diff(3) / c
    if with_levels:
        lv4 = levels(df["high"].to_numpy(), df["low"].to_numpy(), c.to_numpy(), a.to_numpy())
        out["sup_dist_atr"], out["res_dist_atr"], out["sup_strength"], out["res_strength"] = lv4.T
    lo96, hi96 = df["low"].rolling(96).min().shift(), df["high"].rolling(96).max().shift()
    rng = hi96 - lo96
    out["fib_pos"] = (c - lo96) / rng
    for name, f in (("fib_382", 0.382), ("fib_500", 0.5), ("fib_618", 0.618)):
        out[name] = ((c - (hi96 - f * rng)).abs() <= 0.03 * rng).astype(float)
    colour = np.sign(c - df["open"])
    out["streak_3"] = colour.rolling(3).sum()
    ice = (rvol / (out["spread_rel"] + 0.1)).clip(0, 20)
    out["iceberg_pressure"], out["whale_footprint"] = ice, (ice > 3).astype(float)
    r = np.log(c).diff()
    for lag in (1, 3, 6, 12, 24):
        out[f"ret_{lag}"] = np.log(c / c.shift(lag))
    out["realized_vol_24"], out["realized_vol_96"] = r.rolling(24).std(ddof=0), r.rolling(96).std(ddof=0)
    out["vol_ratio"] = out["realized_vol_24"] / out["realized_vol_96"]
    out["close_z_48"] = (c - c.rolling(48).mean()) / c.rolling(48).std(ddof=0)
    out["ret_z_96"] = (r - r.rolling(96).mean()) / r.rolling(96).std(ddof=0)
    return out
