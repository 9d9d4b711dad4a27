"""The registered features: the original's set, built correctly, plus returns and volatility.

Every column is scale-free (ratios, ATR units, oscillators, flags) or is
normalised causally later by the model's training-window statistics. ``atr``
(price units) is kept for labels and sizing and is not a model input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aitrade.data.asof import asof_join
from aitrade.features import fused as f
from aitrade.features import kernels as k
from aitrade.features.registry import FeatureContext, feature_group
from aitrade.intervals import interval_delta

ATR_N = 14
LEVEL_K, LEVEL_MEMORY, LEVEL_LOOKBACK = 10, 15, 100
FAR = 10.0  # distance reported when no level is known (in ATR)
RET_LAGS = (1, 3, 6, 12, 24)
DAILY_DAYS = 32  # daily features need about this many completed days


def _levels(ctx: FeatureContext) -> np.ndarray:
    return ctx.cached(
        "levels",
        lambda: np.stack(
            k.levels_nb(
                ctx.col("high"),
                ctx.col("low"),
                ctx.col("close"),
                ctx.feature("atr"),
                LEVEL_K,
                LEVEL_MEMORY,
                LEVEL_LOOKBACK,
            )
        ),
    )


def _log_returns(ctx: FeatureContext, finite: bool) -> np.ndarray:
    """One-bar log returns, NaN as 0 (and with ``finite`` inf as +-max); shared by two groups."""

    def raw() -> np.ndarray:
        c = ctx.col("close")
        r = np.empty(len(c))
        r[:1] = np.nan
        np.log(c[1:] / c[:-1], out=r[1:])
        return r

    def make() -> np.ndarray:
        out = np.empty(len(ctx.bars))
        f.clean_returns_into(ctx.cached("log_returns", raw), finite, out)
        return out

    return ctx.cached(f"log_returns_{finite}", make)


def _outs(ctx: FeatureContext, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    return {n: ctx.out(n) for n in names}


@feature_group("atr", ("atr",), ATR_N, model=False)
def atr_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    out = ctx.out("atr")
    f.atr_into(ctx.col("high"), ctx.col("low"), ctx.col("close"), ATR_N, out)
    return {"atr": out}


@feature_group("atr_rel", ("atr_rel", "spread_rel", "bar_size_atr"), ATR_N)
def atr_relative(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("atr_rel", "spread_rel", "bar_size_atr"))
    f.atr_relative_into(
        ctx.col("open"), ctx.col("high"), ctx.col("low"), ctx.col("close"), ctx.feature("atr"), *o.values()
    )
    return o


@feature_group("rsi", ("rsi",), 14)
def rsi_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    out = ctx.out("rsi")
    f.rsi_into(ctx.col("close"), 14, out)
    return {"rsi": out}


@feature_group("adx", ("adx", "plus_di", "minus_di"), 2 * 14 - 1)
def adx_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("adx", "plus_di", "minus_di"))
    f.adx_into(ctx.col("high"), ctx.col("low"), ctx.col("close"), 14, *o.values())
    return o


@feature_group("bollinger", ("bb_width", "squeeze_factor"), 19 + 99)
def bollinger_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("bb_width", "squeeze_factor"))
    f.bollinger_into(ctx.col("close"), *o.values())
    return o


@feature_group("volume", ("rvol", "volume_spike", "volume_z"), 48)
def volume_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("rvol", "volume_spike", "volume_z"))
    v = ctx.col("volume")
    f.rvol_into(v, o["rvol"])
    f.volume_into(np.log1p(v), *o.values())
    return o


@feature_group("channel", ("channel_pos", "channel_slope", "ema200_dist", "ema200_slope"), 199 + 3)
def channel_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("channel_pos", "channel_slope", "ema200_dist", "ema200_slope"))
    f.channel_into(ctx.col("close"), *o.values())
    return o


@feature_group("levels", ("sup_dist_atr", "res_dist_atr", "sup_strength", "res_strength", "level_quality"), ATR_N)
def levels_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    sup_d, res_d, sup_s, res_s = _levels(ctx)
    valid = ~np.isnan(ctx.feature("atr"))
    sup = np.where(valid, np.clip(np.nan_to_num(sup_d, nan=FAR), 0.0, FAR), np.nan)
    res = np.where(valid, np.clip(np.nan_to_num(res_d, nan=FAR), 0.0, FAR), np.nan)
    quality = np.where(sup <= 1.0, sup_s, 0.0) + np.where(res <= 1.0, res_s, 0.0)
    return {
        "sup_dist_atr": sup,
        "res_dist_atr": res,
        "sup_strength": np.where(valid, sup_s, np.nan),
        "res_strength": np.where(valid, res_s, np.nan),
        "level_quality": np.where(valid, quality, np.nan),
    }


@feature_group("fib", ("fib_pos", "fib_382", "fib_500", "fib_618"), 96)
def fib_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("fib_pos", "fib_382", "fib_500", "fib_618"))
    f.fib_into(ctx.col("high"), ctx.col("low"), ctx.col("close"), 96, 0.03, *o.values())
    return o


@feature_group("candles", ("streak_3", "iceberg_pressure", "whale_footprint"), 20)
def candle_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("streak_3", "iceberg_pressure", "whale_footprint"))
    f.candles_into(
        ctx.col("open"),
        ctx.col("high"),
        ctx.col("low"),
        ctx.col("close"),
        ctx.feature("atr"),
        ctx.feature("rvol"),
        *o.values(),
    )
    return o


@feature_group("confluence", ("confluence",), 199 + 3)
def confluence_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """The original's "pyramid" rule score, with working level terms, scaled to about [-3, 3]."""
    o, h, lo, c = ctx.col("open"), ctx.col("high"), ctx.col("low"), ctx.col("close")
    atr, rsi = ctx.feature("atr"), ctx.feature("rsi")
    pos, slope = ctx.feature("channel_pos"), ctx.feature("channel_slope")
    dist, eslope = ctx.feature("ema200_dist"), ctx.feature("ema200_slope")
    squeeze = ctx.feature("squeeze_factor")
    sup_d, res_d, _, _ = _levels(ctx)
    body = np.abs(c - o)
    upper, lower = h - np.maximum(o, c), np.minimum(o, c) - lo
    bull_trigger = ((lower > body) & (lower > upper)) | ((c > o) & (body > 0.4 * atr))
    bear_trigger = ((upper > body) & (upper > lower)) | ((c < o) & (body > 0.4 * atr))
    global_bull, global_bear = (dist > 0) | (eslope > 0), (dist < 0) | (eslope < 0)
    local_up, local_dn = slope > 0.0003, slope < -0.0003
    bottom, top = pos < 0.25, pos > 0.75
    wedge = local_dn & bottom & (squeeze < 0.85) & (rsi > 30)
    near_sup, near_res = sup_d <= 1.0, res_d <= 1.0
    long_ok = bottom & (global_bull | local_up | wedge) & bull_trigger
    short_ok = top & (global_bear | local_dn) & bear_trigger & ~(eslope > 0)
    score = np.where(long_ok, 60.0 + 30.0 * local_up + 50.0 * wedge + 20.0 * near_sup, 0.0)
    score = score - np.where(short_ok, 60.0 + 30.0 * local_dn + 20.0 * near_res, 0.0)
    score = np.where(body > 5.0 * atr, 0.0, score)
    score = np.where(rsi > 85, -300.0, np.where(rsi < 15, 300.0, score))
    undefined = np.isnan(atr) | np.isnan(rsi) | np.isnan(pos) | np.isnan(dist) | np.isnan(squeeze)
    return {"confluence": np.where(undefined, np.nan, score / 100.0)}


@feature_group("returns", tuple(f"ret_{n}" for n in RET_LAGS), max(RET_LAGS))
def return_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    log_c = np.log(ctx.col("close"))  # one logarithm per bar, then differences for every lag
    o = _outs(ctx, tuple(f"ret_{n}" for n in RET_LAGS))
    for n in RET_LAGS:
        f.diff_into(log_c, n, o[f"ret_{n}"])
    return o


@feature_group("volatility", ("realized_vol_24", "realized_vol_96", "vol_ratio"), 96)
def volatility_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("realized_vol_24", "realized_vol_96", "vol_ratio"))
    f.volatility_into(_log_returns(ctx, False), *o.values())
    return o


@feature_group("zscore", ("close_z_48", "ret_z_96"), 96)
def zscore_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    o = _outs(ctx, ("close_z_48", "ret_z_96"))
    f.zscore_into(ctx.col("close"), _log_returns(ctx, True), *o.values())
    return o


LEADER_COLUMNS = ("leader_ret_1", "leader_ret_6", "leader_ret_24", "rs_6", "rs_24")


@feature_group("leader", LEADER_COLUMNS, 24, needs_leader=True)
def leader_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Leader returns and the symbol's relative strength, joined by close time."""
    assert ctx.leader is not None
    lc = ctx.leader["close"].to_numpy(dtype=np.float64)
    lead = pd.DataFrame({f"r{n}": k.log_return_nb(lc, n) for n in (1, 6, 24)}, index=ctx.leader.index)
    joined = asof_join(ctx.bars, lead, left_interval=ctx.interval, right_interval=ctx.interval)
    c = ctx.col("close")
    own6, own24 = k.log_return_nb(c, 6), k.log_return_nb(c, 24)
    return {
        "leader_ret_1": joined["r1"].to_numpy(),
        "leader_ret_6": joined["r6"].to_numpy(),
        "leader_ret_24": joined["r24"].to_numpy(),
        "rs_6": own6 - joined["r6"].to_numpy(),
        "rs_24": own24 - joined["r24"].to_numpy(),
    }


DAILY_COLUMNS = (
    "d1_atr_rel",
    "d1_rsi",
    "d1_adx",
    "d1_channel_pos",
    "d1_ret_1",
    "d1_ret_5",
    "d1_sup_dist_atr",
    "d1_res_dist_atr",
)


def _daily_warmup(interval: str) -> int:
    step = interval_delta(interval)
    if step >= pd.Timedelta(days=1):
        return DAILY_DAYS
    return int((DAILY_DAYS + 1) * pd.Timedelta(days=1) / step)


@feature_group("daily", DAILY_COLUMNS, _daily_warmup)
def daily_feature(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Daily versions that see only completed days: a day reaches a bar that closes after its midnight."""
    b = ctx.bars
    day = b.resample("1D", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    day = day.dropna(subset=["close"])
    h, lo, c = (day[x].to_numpy(dtype=np.float64) for x in ("high", "low", "close"))
    atr = k.atr_nb(h, lo, c, 14)
    adx, _, _ = k.adx_nb(h, lo, c, 14)
    centre, band = k.ema_nb(c, 20), 2.0 * k.rolling_std_nb(c, 20)
    pos = np.where(band > 0, (c - (centre - band)) / np.where(band > 0, 2 * band, 1.0), 0.5)
    pos = np.where(np.isnan(centre), np.nan, pos)
    sup_d, res_d, _, _ = k.levels_nb(h, lo, c, atr, 3, LEVEL_MEMORY, 30)
    valid = ~np.isnan(atr)
    daily = pd.DataFrame(
        {
            "d1_atr_rel": atr / c,
            "d1_rsi": k.rsi_nb(c, 14),
            "d1_adx": adx,
            "d1_channel_pos": pos,
            "d1_ret_1": k.log_return_nb(c, 1),
            "d1_ret_5": k.log_return_nb(c, 5),
            "d1_sup_dist_atr": np.where(valid, np.clip(np.nan_to_num(sup_d, nan=FAR), 0, FAR), np.nan),
            "d1_res_dist_atr": np.where(valid, np.clip(np.nan_to_num(res_d, nan=FAR), 0, FAR), np.nan),
        },
        index=day.index,
    )
    joined = asof_join(b, daily, left_interval=ctx.interval, right_interval="1d")
    return {col: joined[col].to_numpy() for col in DAILY_COLUMNS}
