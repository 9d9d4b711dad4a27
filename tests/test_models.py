"""Models: seeded determinism, calibration on held-out rows, bundles without pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aitrade.errors import DataError
from aitrade.models import ModelConfig, fit_model, fit_temperature, load_bundle, save_bundle
from aitrade.models.train import split_by_time

HOUR = 3_600_000_000_000


def toy(n: int = 900, f: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f))
    score = X[:, 0] - 0.5 * X[:, 1] + rng.normal(scale=0.8, size=n)
    y = np.where(score > 0.6, 1, np.where(score < -0.6, 2, 0)).astype(np.int64)
    y[-12:] = -1
    X[:20, 2] = np.nan  # warm-up rows
    times = np.arange(n, dtype=np.int64) * HOUR
    return X, y, times


@pytest.mark.parametrize("kind", ["mlp", "gru", "lgbm"])
def test_same_seed_same_probabilities(kind: str) -> None:
    X, y, t = toy()
    cfg = ModelConfig(kind=kind, epochs=8, seq_len=8, device="cpu")
    rows = np.arange(700)
    a = fit_model(X, y, rows, t, config=cfg, feature_names=list("abcdef"), purge_ns=12 * HOUR, seed=5)
    b = fit_model(X, y, rows, t, config=cfg, feature_names=list("abcdef"), purge_ns=12 * HOUR, seed=5)
    c = fit_model(X, y, rows, t, config=cfg, feature_names=list("abcdef"), purge_ns=12 * HOUR, seed=6)
    pa, pb, pc = (m.predict_proba(X, np.arange(700, 888)) for m in (a, b, c))
    np.testing.assert_array_equal(pa, pb)
    assert not np.allclose(pa, pc)
    ok = np.isfinite(pa).all(axis=1)
    assert ok.sum() > 150 and np.allclose(pa[ok].sum(axis=1), 1.0)


def test_model_learns_and_undefined_inputs_give_nan_not_zero() -> None:
    X, y, t = toy()
    m = fit_model(
        X,
        y,
        np.arange(700),
        t,
        config=ModelConfig(epochs=30, device="cpu"),
        feature_names=list("abcdef"),
        purge_ns=12 * HOUR,
        seed=1,
    )
    p = m.predict_proba(X, np.arange(700, 888))
    acc = (p.argmax(axis=1) == y[700:888])[y[700:888] >= 0].mean()
    prior = np.bincount(y[700:888][y[700:888] >= 0]).max() / (y[700:888] >= 0).sum()
    assert acc > prior + 0.1
    warm = m.predict_proba(X, np.arange(0, 20))
    assert np.isnan(warm).all()


def test_splits_are_time_ordered_and_purged() -> None:
    times = np.arange(1000, dtype=np.int64) * HOUR
    fit, val, cal = split_by_time(times, 12 * HOUR, 0.15, 0.15)
    assert times[fit].max() < times[val].min() - 12 * HOUR + HOUR
    assert times[val].max() < times[cal].min() - 12 * HOUR + HOUR
    assert not (fit & val).any() and not (val & cal).any()


def test_temperature_scaling_fixes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=2000)
    logits = rng.normal(size=(2000, 3))
    logits[np.arange(2000), y] += 1.0
    temperature = fit_temperature(logits * 5.0, y)  # five times too confident
    assert 3.5 < temperature < 7.0
    assert fit_temperature(logits, y) == pytest.approx(1.0, abs=0.35)


def test_bundle_round_trip_with_weights_only(tmp_path: Path) -> None:
    X, y, t = toy()
    m = fit_model(
        X,
        y,
        np.arange(700),
        t,
        config=ModelConfig(epochs=5, device="cpu"),
        feature_names=list("abcdef"),
        purge_ns=12 * HOUR,
        seed=2,
    )
    meta_path = save_bundle(m, tmp_path / "BTCUSDT_fold0", label_config={"tp": 1.5, "sl": 1.0, "horizon": 12})
    loaded, meta = load_bundle(tmp_path / "BTCUSDT_fold0", device="cpu")
    rows = np.arange(700, 888)
    np.testing.assert_allclose(loaded.predict_proba(X, rows), m.predict_proba(X, rows), rtol=1e-6)
    assert meta["feature_names"] == list("abcdef") and meta["label_config"]["horizon"] == 12
    assert (tmp_path / "BTCUSDT_fold0.pt").read_bytes()[:2] == b"PK"  # torch zip format, read with weights_only
    data = json.loads(meta_path.read_text())
    data["bundle_version"] = 99
    meta_path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="version 99"):
        load_bundle(tmp_path / "BTCUSDT_fold0")


def test_a_booster_bundle_is_text_and_round_trips(tmp_path: Path) -> None:
    X, y, t = toy()
    m = fit_model(
        X,
        y,
        np.arange(700),
        t,
        config=ModelConfig(kind="lgbm", capacity="fixed", rounds=40),
        feature_names=list("abcdef"),
        purge_ns=12 * HOUR,
        seed=2,
    )
    save_bundle(m, tmp_path / "B")
    loaded, meta = load_bundle(tmp_path / "B")
    rows = np.arange(700, 888)
    np.testing.assert_array_equal(loaded.predict_proba(X, rows), m.predict_proba(X, rows))
    assert (tmp_path / "B.txt").read_text().startswith("tree") and not (tmp_path / "B.pt").exists()
    assert meta["config"]["kind"] == "lgbm" and meta["info"]["rounds"] == 40 and "lightgbm" in meta["versions"]
    assert np.isnan(m.predict_proba(X, np.arange(20))).all()  # an undefined feature gives no probability
    (tmp_path / "B.txt").write_text("tree\nversion=v4\nnum_class=oops\n")
    with pytest.raises(DataError, match="damaged"):
        load_bundle(tmp_path / "B")


def _interaction(n: int = 1_600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels that only the product of two features predicts (each alone is uninformative)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    score = 1.5 * np.sign(X[:, 0]) * np.sign(X[:, 1]) + rng.normal(scale=1.0, size=n)
    y = np.where(score > 0.5, 1, np.where(score < -0.5, 2, 0)).astype(np.int64)
    return X, y, np.arange(n, dtype=np.int64) * HOUR


@pytest.mark.parametrize("kind", ["mlp", "lgbm"])
def test_a_tuned_capacity_finds_an_interaction_the_heavy_net_misses(kind: str) -> None:
    X, y, t = _interaction()
    tuned = fit_model(
        X,
        y,
        np.arange(1_200),
        t,
        config=ModelConfig(kind=kind, device="cpu"),
        feature_names=list("abcd"),
        purge_ns=12 * HOUR,
        seed=3,
    )
    capacity = tuned.info["capacity"]
    heaviest = next(iter(capacity["inner_holdout_log_loss"]))
    assert capacity["chosen"] != heaviest, capacity  # the inner hold-out saw that a lighter model does better
    rows = np.arange(1_212, 1_600)
    p = tuned.predict_proba(X, rows)
    from aitrade.signals.metrics import auc  # noqa: PLC0415

    assert auc(p[:, 1], y[rows] == 1) > 0.75
    if kind == "mlp":
        heavy = fit_model(
            X,
            y,
            np.arange(1_200),
            t,
            config=ModelConfig(capacity="fixed", device="cpu"),
            feature_names=list("abcd"),
            purge_ns=12 * HOUR,
            seed=3,
        )
        assert auc(heavy.predict_proba(X, rows)[:, 1], y[rows] == 1) < auc(p[:, 1], y[rows] == 1) - 0.05
