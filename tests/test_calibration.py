"""Out-of-sample calibration: the shrink toward the prior learns only from the past and never hurts on noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aitrade.signals.calibration import PRIOR_COLUMNS, apply_live, calibrate, fit_weight, live_maps, three
from aitrade.signals.metrics import log_loss

HOUR = 3_600 * 10**9
PRIOR = np.array([0.2, 0.4, 0.4])


def _frame(n: int, rng: np.random.Generator, informative: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Predictions over ``n`` hourly bars of two symbols: sharp guesses that are right (or pure noise)."""
    rows = []
    labels = []
    for sym in ("AAA", "BBB"):
        y = rng.choice(3, size=n, p=PRIOR)
        if informative:
            p = np.full((n, 3), 0.1)
            p[np.arange(n), y] = 0.8
        else:
            p = rng.dirichlet([2, 4, 4], size=n)  # confident noise: as sharp, about nothing
        ts = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
        frame = pd.DataFrame(
            {"symbol": sym, "ts": ts, "p_long": p[:, 1], "p_short": p[:, 2], "fold": np.arange(n) // 100}
        )
        for c, v in zip(PRIOR_COLUMNS, PRIOR, strict=True):
            frame[c] = v
        rows.append(frame)
        labels.append(y)
    return pd.concat(rows, ignore_index=True), np.concatenate(labels)


def _blocks(frame: pd.DataFrame) -> np.ndarray:
    ts = pd.DatetimeIndex(frame["ts"]).as_unit("ns").asi8
    return np.unique(ts)[::100]


def test_the_weight_is_zero_on_noise_and_one_on_the_truth() -> None:
    rng = np.random.default_rng(1)
    y = rng.choice(3, size=4_000, p=PRIOR)
    prior = np.tile(PRIOR, (len(y), 1))
    assert fit_weight(rng.dirichlet([2, 4, 4], size=len(y)), prior, y) < 0.05
    truth = np.full((len(y), 3), 0.1)
    truth[np.arange(len(y)), y] = 0.8
    assert fit_weight(truth, prior, y) == pytest.approx(1.0, abs=1e-5)


def test_on_noise_the_calibrated_log_loss_is_within_a_hair_of_the_prior() -> None:
    frame, y = _frame(2_000, np.random.default_rng(2), informative=False)
    out, records = calibrate(frame, y, _blocks(frame), 12 * HOUR, pooled=False)
    raw = log_loss(three(frame["p_long"].to_numpy(), frame["p_short"].to_numpy()), y)
    calibrated = log_loss(three(out["p_long"].to_numpy(), out["p_short"].to_numpy()), y)
    prior = log_loss(np.tile(PRIOR, (len(y), 1)), y)
    assert raw > prior + 0.05  # the confident noise is much worse than the prior
    assert calibrated < prior + 0.003, (calibrated, prior)
    assert {r["symbol"] for r in records} == {"AAA", "BBB"} and len(records) == 40


def test_an_edge_keeps_its_probabilities_and_the_first_block_keeps_the_prior() -> None:
    frame, y = _frame(1_000, np.random.default_rng(3), informative=True)
    out, records = calibrate(frame, y, _blocks(frame), 12 * HOUR, pooled=True)
    first = out["fold"] == 0
    assert np.allclose(out.loc[first, "p_long"], (1 - 1e-3) * PRIOR[1] + 1e-3 / 3)  # nothing learnt yet: the prior
    later = [r for r in records if r["block"] > 0]
    assert all(r["weight"] > 0.99 for r in later) and records[0]["weight"] == 0.0
    assert records[0]["symbol"] is None and records[1]["fitted_on_rows"] == 2 * (100 - 12)  # the purge holds back 12


def test_a_block_never_reads_a_label_its_start_could_not_know() -> None:
    """Change every label from one time on: the blocks that start before it (plus the purge) are unchanged."""
    frame, y = _frame(1_000, np.random.default_rng(4), informative=True)
    blocks = _blocks(frame)
    ts = pd.DatetimeIndex(frame["ts"]).as_unit("ns").asi8
    cut = blocks[5] - 12 * HOUR  # a label at or after here ends at or after block 5's start
    y2 = np.where(ts >= cut, (y + 1) % 3, y)
    a, _ = calibrate(frame, y, blocks, 12 * HOUR, pooled=False)
    b, _ = calibrate(frame, y2, blocks, 12 * HOUR, pooled=False)
    known = ts < blocks[6]  # blocks 0-5 start before any changed label could be known
    pd.testing.assert_frame_equal(a[known], b[known])
    assert not np.allclose(a.loc[~known, "p_long"], b.loc[~known, "p_long"])  # a later block does learn from them


def test_live_inference_applies_each_symbols_last_map() -> None:
    frame, y = _frame(500, np.random.default_rng(5), informative=False)
    out, records = calibrate(frame, y, _blocks(frame), 12 * HOUR, pooled=False)
    maps = live_maps(records, ["AAA", "BBB"])
    last = out[out["symbol"] == "BBB"].iloc[-1]
    raw = frame[frame["symbol"] == "BBB"].iloc[-1]
    assert apply_live(raw["p_long"], raw["p_short"], maps["BBB"]) == pytest.approx((last["p_long"], last["p_short"]))
    assert apply_live(0.3, 0.2, None) == (0.3, 0.2)  # a run made without calibration
