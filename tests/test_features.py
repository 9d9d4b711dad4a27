"""Features: no look-ahead (truncation invariance), warm-ups, kernels against independent references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aitrade.data import load_bars
from aitrade.features import FEATURES, GROUPS, compute_features, warmup_bars
from aitrade.features import kernels as k


@pytest.fixture(scope="module")
def crypto() -> dict[str, pd.DataFrame]:
    bars = load_bars(["BTCUSDT", "ETHUSDT"], "1h")
    return {s: b.iloc[:3000] for s, b in bars.items()}


@pytest.fixture(scope="module")
def full(crypto) -> pd.DataFrame:
    return compute_features(crypto["ETHUSDT"], "1h", leader=crypto["BTCUSDT"])


def test_every_registered_feature_is_truncation_invariant(crypto, full) -> None:
    """Values at t must not change when every bar after t is removed (no look-ahead)."""
    assert set(full.columns) == set(FEATURES)
    rng = np.random.default_rng(11)
    cuts = sorted({*rng.integers(5, 3000, size=6).tolist(), 900, 1500})
    for cut in cuts:
        bars = crypto["ETHUSDT"].iloc[:cut]
        lead = crypto["BTCUSDT"][crypto["BTCUSDT"].index <= bars.index[-1]]
        part = compute_features(bars, "1h", leader=lead)
        pd.testing.assert_frame_equal(part, full.iloc[:cut], check_exact=True, obj=f"features cut at {cut}")


def test_future_perturbation_changes_nothing_before_t(crypto, full) -> None:
    bars = crypto["ETHUSDT"].copy()
    t = 2000
    bars.iloc[t:, :4] *= 1.37
    bars.iloc[t:, 4] *= 5.0
    changed = compute_features(bars, "1h", leader=crypto["BTCUSDT"])
    pd.testing.assert_frame_equal(changed.iloc[:t], full.iloc[:t], check_exact=True)


def test_daily_features_see_only_completed_days(crypto) -> None:
    bars = crypto["ETHUSDT"]
    base = compute_features(bars, "1h", ["d1_rsi", "d1_ret_1"])
    day = pd.Timestamp("2022-03-10", tz="UTC")
    altered = bars.copy()
    today = (altered.index >= day) & (altered.index < day + pd.Timedelta(days=1))
    altered.loc[today, ["open", "high", "low", "close"]] *= 1.2
    after = compute_features(altered, "1h", ["d1_rsi", "d1_ret_1"])
    # every bar of 2022-03-10 except the last (which closes at midnight) is blind to that day
    blind = today & (altered.index < day + pd.Timedelta(hours=23))
    pd.testing.assert_frame_equal(after[blind], base[blind])
    assert not np.allclose(after.loc[day + pd.Timedelta(hours=23)], base.loc[day + pd.Timedelta(hours=23)])


def test_declared_warmups_cover_the_nan_region(full) -> None:
    for name in FEATURES:
        w = warmup_bars([name], "1h")
        values = full[name].to_numpy()
        assert not np.isnan(values[w:]).any(), f"{name} has NaN after its declared warm-up {w}"


def test_original_defects_are_gone(full) -> None:
    # distances were a constant 999 and level quality a constant 0 in the original
    assert full["sup_dist_atr"].nunique() > 100 and full["res_dist_atr"].nunique() > 100
    assert full["level_quality"].gt(0).mean() > 0.05
    # fib_382 was identical to fib_618
    assert not full["fib_382"].equals(full["fib_618"])
    assert ((full["fib_382"] + full["fib_500"] + full["fib_618"]).dropna() <= 1).all()
    # the "ADX" was an average range; a real ADX is bounded by the DI lines' spread
    assert full["adx"].dropna().between(0, 100).all()
    assert full["confluence"].abs().max() <= 3.0


def _wilder(x: pd.Series, n: int, first: int) -> pd.Series:
    out = pd.Series(np.nan, index=x.index)
    out.iloc[first + n - 1] = x.iloc[first : first + n].mean()
    for i in range(first + n, len(x)):
        out.iloc[i] = (out.iloc[i - 1] * (n - 1) + x.iloc[i]) / n
    return out


def test_atr_rsi_ema_match_an_independent_pandas_reference(crypto) -> None:
    b = crypto["BTCUSDT"].iloc[:400]
    h, lo, c = b["high"], b["low"], b["close"]
    tr = pd.concat([h - lo, (h - c.shift()).abs(), (lo - c.shift()).abs()], axis=1).max(axis=1, skipna=False)
    np.testing.assert_allclose(k.atr_nb(h.values, lo.values, c.values, 14), _wilder(tr, 14, 1).values, rtol=1e-12)
    d = c.diff()
    ag, al = _wilder(d.clip(lower=0), 14, 1), _wilder((-d).clip(lower=0), 14, 1)
    np.testing.assert_allclose(k.rsi_nb(c.values, 14), (100 * ag / (ag + al)).values, rtol=1e-12)
    ema = c.ewm(span=20, adjust=False).mean()  # same recursion once seeded
    seeded = k.ema_nb(c.values, 20)
    ref = pd.Series(np.nan, index=c.index)
    ref.iloc[19] = c.iloc[:20].mean()
    for i in range(20, len(c)):
        ref.iloc[i] = 2 / 21 * c.iloc[i] + (1 - 2 / 21) * ref.iloc[i - 1]
    np.testing.assert_allclose(seeded, ref.values, rtol=1e-12)
    assert np.isfinite(ema.values).all()


def test_adx_on_a_steady_trend_is_high() -> None:
    n = 200
    close = np.linspace(100, 200, n)
    adx, pdi, mdi = k.adx_nb(close + 0.5, close - 0.5, close, 14)
    assert adx[-1] > 90 and pdi[-1] > mdi[-1]
    assert np.isnan(adx[: 2 * 14 - 1]).all() and not np.isnan(adx[2 * 14 - 1])


def test_talib_agrees_where_it_installs() -> None:
    talib = pytest.importorskip("talib")
    b = load_bars("BTCUSDT", "4h")["BTCUSDT"].iloc[:500]
    h, lo, c = (b[x].to_numpy() for x in ("high", "low", "close"))
    np.testing.assert_allclose(k.atr_nb(h, lo, c, 14), talib.ATR(h, lo, c, 14), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(k.rsi_nb(c, 14), talib.RSI(c, 14), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(k.ema_nb(c, 30), talib.EMA(c, 30), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(k.adx_nb(h, lo, c, 14)[0], talib.ADX(h, lo, c, 14), rtol=1e-6, equal_nan=True)


def test_registry_lists_groups_and_rejects_unknown_names(crypto) -> None:
    assert {"atr", "rsi", "adx", "levels", "fib", "confluence", "leader", "daily"} <= set(GROUPS)
    with pytest.raises(Exception, match="unknown feature"):
        compute_features(crypto["BTCUSDT"], "1h", ["no_such_feature"])
    no_leader = compute_features(crypto["BTCUSDT"], "1h")
    assert "leader_ret_1" not in no_leader.columns


def test_a_column_is_the_same_alone_in_any_order_and_listed_twice(crypto, full) -> None:
    """Groups write into the requested block or into scratch: every path gives the same values."""
    bars, leader = crypto["ETHUSDT"], crypto["BTCUSDT"]
    for name in full.columns:
        alone = compute_features(bars, "1h", [name], leader=leader)
        np.testing.assert_array_equal(alone[name].to_numpy(), full[name].to_numpy(), err_msg=name)
    names = ["confluence", "rvol", "iceberg_pressure", "rvol", "atr"]
    mixed = compute_features(bars, "1h", names)
    assert list(mixed.columns) == names
    for j, name in enumerate(names):
        np.testing.assert_array_equal(mixed.iloc[:, j].to_numpy(), full[name].to_numpy(), err_msg=name)


def test_the_fused_columns_match_the_pandas_definitions(crypto, full) -> None:
    """Rolling-window columns against the plain pandas peer of the benchmark (after every warm-up)."""
    from benchmarks import pandas_features  # noqa: PLC0415

    peer = pandas_features.features(crypto["ETHUSDT"], with_levels=False)
    same = [
        "bb_width",
        "volume_z",
        "realized_vol_24",
        "realized_vol_96",
        "vol_ratio",
        "close_z_48",
        "ret_z_96",
        "fib_pos",
        "fib_382",
        "fib_500",
        "fib_618",
        "streak_3",
        "ret_1",
        "ret_24",
        "rvol",
    ]
    start = 300
    for name in same:
        np.testing.assert_allclose(
            full[name].to_numpy()[start:], peer[name].to_numpy()[start:], rtol=1e-9, atol=1e-9, err_msg=name
        )
