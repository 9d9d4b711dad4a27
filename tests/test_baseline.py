"""The linear baseline beside every signals run, and the verdict in words."""

from __future__ import annotations

import numpy as np

from aitrade.signals.baseline import LinearBaseline, verdict, verdict_level


def test_the_baseline_fits_a_linear_edge_and_keeps_every_class_possible() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 3))
    y = np.where(X[:, 0] > 0.5, 1, np.where(X[:, 0] < -0.5, 2, 0))
    X[5, 1] = np.nan  # a row with a missing feature is left out of the fit and predicted as NaN
    model = LinearBaseline(X, y)
    p = model.predict_proba(X)
    assert np.isnan(p[5]).all() and np.allclose(np.nansum(p, axis=1)[np.arange(600) != 5], 1.0)
    ok = np.arange(600) != 5
    assert (p[ok].argmax(axis=1) == y[ok]).mean() > 0.9
    two = LinearBaseline(X[y != 2], y[y != 2])  # class 2 never seen: it keeps a small share, never 0
    assert (two.predict_proba(X[ok])[:, 2] > 0).all()
    one = LinearBaseline(X[y == 0], y[y == 0])  # one class only: the smoothed training prior
    assert np.allclose(one.predict_proba(X[:2]), one.prior)


def _summary(auc: float, ll: float, lin_auc: float, lin_ll: float, prior: float = 1.05) -> dict:
    return {
        "pooled_auc_long": auc,
        "pooled_auc_short": auc,
        "pooled_log_loss": ll,
        "pooled_baseline_log_loss": prior,
        "linear_pooled_auc_long": lin_auc,
        "linear_pooled_auc_short": lin_auc,
        "linear_pooled_log_loss": lin_ll,
    }


def test_the_verdict_says_what_the_model_adds() -> None:
    assert verdict(_summary(0.68, 0.98, 0.52, 1.04)).startswith("the model beats the linear baseline")
    assert verdict(_summary(0.52, 1.04, 0.52, 1.041)).startswith("the model adds nothing over the linear baseline (")
    assert verdict(_summary(0.50, 1.06, 0.60, 1.00)).startswith("worse than the class prior")
    assert "the model is worse than the linear baseline" in verdict(_summary(0.50, 1.06, 0.60, 1.00))
    assert "probabilities are worse" in verdict(_summary(0.60, 1.04, 0.55, 1.01))
    assert verdict({"pooled_log_loss": 1.0, "pooled_baseline_log_loss": 1.05}) == "no linear baseline to compare with"
    # its colour, from the same figures: red below the prior, green only when it beats the linear baseline
    assert verdict_level(_summary(0.50, 1.06, 0.60, 1.00)) == "error"
    assert verdict_level(_summary(0.68, 0.98, 0.52, 1.04)) == "ok"
    assert verdict_level(_summary(0.52, 1.04, 0.52, 1.041)) == "warn"
    assert verdict_level({"pooled_log_loss": 1.0, "pooled_baseline_log_loss": 1.05}) == "warn"
