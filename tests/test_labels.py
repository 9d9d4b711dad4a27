"""Triple-barrier labels on hand-built paths."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aitrade.labels import FLAT, LONG, NO_LABEL, SHORT, LabelConfig, triple_barrier


def path(highs: list[float], lows: list[float], closes: list[float]) -> pd.DataFrame:
    idx = pd.date_range("2024-01-01", periods=len(closes), freq="1h", tz="UTC")
    return pd.DataFrame({"open": closes, "high": highs, "low": lows, "close": closes, "volume": 1.0}, index=idx)


def label0(highs, lows, closes, horizon=3) -> int:
    bars = path(highs, lows, closes)
    return int(triple_barrier(bars, np.ones(len(closes)), LabelConfig(tp=1.5, sl=1.0, horizon=horizon)).iloc[0])


def test_long_target_first() -> None:
    assert label0([100, 101, 101.6, 100, 100], [100, 99.5, 100.5, 99, 99], [100, 100.5, 101, 100, 100]) == LONG


def test_short_target_first() -> None:
    assert label0([100, 100.5, 99, 100, 100], [100, 99.4, 98.4, 99, 99], [100, 99.5, 98.7, 99, 99]) == SHORT


def test_stop_wins_when_both_barriers_touch_in_one_bar() -> None:
    # bar 1 touches +1.5 and -1.0: the long loses; the short's stop (+1.0) is touched as well
    assert label0([100, 101.6, 100, 100, 100], [100, 98.9, 100, 100, 100], [100, 100, 100, 100, 100]) == FLAT


def test_nothing_reached_within_the_horizon_is_flat() -> None:
    assert label0([100, 100.5, 100.5, 100.5, 104], [100, 99.5, 99.5, 99.5, 99.5], [100] * 5) == FLAT


def test_horizon_and_missing_atr_give_no_label() -> None:
    bars = path([1.0] * 10, [1.0] * 10, [1.0] * 10)
    atr = np.ones(10)
    atr[2] = np.nan
    labels = triple_barrier(bars, atr, LabelConfig(horizon=4)).to_numpy()
    assert (labels[-4:] == NO_LABEL).all() and labels[2] == NO_LABEL and labels[0] == FLAT


def test_labels_only_look_horizon_bars_ahead() -> None:
    rng = np.random.default_rng(3)
    c = 100 + np.cumsum(rng.normal(0, 1, 300))
    bars = path(list(c + 0.8), list(c - 0.8), list(c))
    full = triple_barrier(bars, np.full(300, 1.0)).to_numpy()
    cut = triple_barrier(bars.iloc[:200], np.full(200, 1.0)).to_numpy()
    assert (full[: 200 - 12] == cut[: 200 - 12]).all() and (cut[-12:] == NO_LABEL).all()
