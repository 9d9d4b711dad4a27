"""The baselines every signals run fits beside its model, and the verdict of the comparison.

Each fold also fits a multinomial logistic regression (scikit-learn, standardised features, L2 with
``C = 1``) on exactly the model's training rows (purged) and predicts the same out-of-sample rows. Its
pooled AUC and log loss stand beside the model's: a model that does not beat it has found nothing a
straight line would not. Unless the model is LightGBM itself, a gradient-boosted baseline (LightGBM
with the fixed small-data settings of :mod:`aitrade.models.boosted`) is fitted the same way: a net
that ranks worse than it misses interactions that trees find.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aitrade.signals.metrics import fold_metrics

N_CLASSES = 3
SMOOTH = 1e-3  # a class the training window never saw keeps this share of the (Laplace) training prior
#: a difference smaller than these is no difference (pooled log loss in nats, mean of the two pooled AUCs)
SAME_LOG_LOSS = 0.002
SAME_AUC = 0.005


class LinearBaseline:
    """A standardised multinomial logistic regression over the model's features."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 (heavy; research only)
        from sklearn.pipeline import make_pipeline  # noqa: PLC0415
        from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

        ok = np.isfinite(X).all(axis=1) & (y >= 0)
        X, y = X[ok], y[ok].astype(np.int64)
        self.prior = (np.bincount(y, minlength=N_CLASSES) + 1.0) / (len(y) + N_CLASSES)
        self.classes = np.unique(y)
        self._fit = None
        if len(self.classes) > 1:
            self._fit = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2_000))
            self._fit.fit(X, y)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, 3) probabilities; NaN for rows with a missing feature."""
        out = np.full((len(X), N_CLASSES), np.nan)
        ok = np.isfinite(X).all(axis=1)
        if not ok.any():
            return out
        p = np.tile(self.prior, (int(ok.sum()), 1))
        if self._fit is not None:
            p = np.zeros_like(p)
            p[:, self.classes] = self._fit.predict_proba(X[ok])
            p = (1 - SMOOTH) * p + SMOOTH * self.prior
        out[ok] = p
        return out


class BoostedBaseline:
    """LightGBM with fixed small-data settings (no capacity search: a baseline is not tuned)."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        from aitrade.models.boosted import ROUNDS, train_boosted  # noqa: PLC0415
        from aitrade.models.train import ModelConfig  # noqa: PLC0415

        ok = np.isfinite(X).all(axis=1) & (y >= 0)
        self.prior = (np.bincount(y[ok].astype(np.int64), minlength=N_CLASSES) + 1.0) / (int(ok.sum()) + N_CLASSES)
        self._fit = None
        if len(np.unique(y[ok])) > 1:
            config = ModelConfig(kind="lgbm", capacity="fixed", rounds=ROUNDS)
            names = [f"f{i}" for i in range(X.shape[1])]
            self._fit = train_boosted(X, y, np.flatnonzero(ok), config, names, 0, None, None, ROUNDS)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, 3) probabilities; NaN for rows with a missing feature."""
        if self._fit is None:
            out = np.tile(self.prior, (len(X), 1))
            out[~np.isfinite(X).all(axis=1)] = np.nan
            return out
        p = self._fit.predict_proba(X, np.arange(len(X)))
        return (1 - SMOOTH) * p + SMOOTH * self.prior


#: each baseline's probability columns: they ride with the predictions to the pooled metrics, then leave the artifact
BASELINES = {"linear": ("linear_p_long", "linear_p_short"), "lgbm": ("lgbm_p_long", "lgbm_p_short")}


def fit_baselines(X: np.ndarray, y: np.ndarray, model_kind: str) -> dict[str, LinearBaseline | BoostedBaseline]:
    """The baselines of a model of ``model_kind`` fitted on its training rows (no boosted one beside a booster)."""
    fitted: dict[str, LinearBaseline | BoostedBaseline] = {"linear": LinearBaseline(X, y)}
    if model_kind != "lgbm":
        fitted["lgbm"] = BoostedBaseline(X, y)
    return fitted


def baseline_metrics(name: str, proba: np.ndarray, y: np.ndarray, prior: np.ndarray) -> dict[str, Any]:
    """A baseline's fold metrics, keyed as the model's are and prefixed with its name (a row it cannot predict
    counts as uniform)."""
    m = fold_metrics(np.nan_to_num(proba, nan=1 / N_CLASSES), y, prior)
    return {f"{name}_{k}": m.get(k) for k in ("log_loss", "auc_long", "auc_short")}


def worse_than_prior(summary: dict[str, Any]) -> tuple[float, float] | None:
    """(model, prior) pooled out-of-sample log loss when the model is worse than the class prior, else None.

    The prior is the forecast a trader could have used: each fold's training class shares (runs made before
    they were recorded: the out-of-sample shares).
    """
    model_ll = summary.get("pooled_log_loss")
    prior_ll = summary.get("pooled_prior_log_loss", summary.get("pooled_baseline_log_loss"))
    if model_ll is not None and prior_ll is not None and model_ll > prior_ll + SAME_LOG_LOSS:
        return float(model_ll), float(prior_ll)
    return None


def verdict(summary: dict[str, Any]) -> str:
    """In words: the model against the linear baseline and the class prior, pooled out of sample."""
    parts = []
    if worse := worse_than_prior(summary):
        parts.append(f"worse than the class prior (log loss {worse[0]:.4f} vs {worse[1]:.4f}): overconfident")
    model_auc = _mean_auc(summary, "pooled_")
    deltas = _against_linear(summary)
    if deltas is None:
        parts.append("no linear baseline to compare with")
    else:
        d_ll, d_auc = deltas
        said = f"log loss {d_ll:+.4f}, AUC {d_auc:+.3f} against the linear baseline"
        if _beats(d_ll, d_auc):
            parts.append(f"the model beats the linear baseline ({said})")
        elif d_auc > SAME_AUC:
            parts.append(f"the model ranks better than the linear baseline but its probabilities are worse ({said})")
        elif d_auc < -SAME_AUC:
            parts.append(f"the model is worse than the linear baseline ({said})")
        elif d_ll < -SAME_LOG_LOSS:
            parts.append(f"the model adds nothing over the linear baseline but better-calibrated odds ({said})")
        else:
            parts.append(f"the model adds nothing over the linear baseline ({said})")
    trees = _mean_auc(summary, "lgbm_pooled_")
    if model_auc is not None and trees is not None:
        gap = trees - model_auc
        if gap > SAME_AUC:
            parts.append(f"LightGBM on the same rows ranks better (AUC {gap:+.3f}): the model misses what trees find")
        else:
            parts.append(f"LightGBM on the same rows finds no more (AUC {gap:+.3f})")
    return "; ".join(parts)


def verdict_level(summary: dict[str, Any]) -> str:
    """The verdict's colour: ``error`` worse than the class prior, ``ok`` beating the linear baseline, else ``warn``."""
    if worse_than_prior(summary):
        return "error"
    deltas = _against_linear(summary)
    return "ok" if deltas is not None and _beats(*deltas) else "warn"


def _against_linear(summary: dict[str, Any]) -> tuple[float, float] | None:
    """(log loss, mean AUC) of the model minus the linear baseline's, pooled; None without both."""
    model_ll, lin_ll = summary.get("pooled_log_loss"), summary.get("linear_pooled_log_loss")
    model_auc, lin_auc = _mean_auc(summary, "pooled_"), _mean_auc(summary, "linear_pooled_")
    if model_ll is None or lin_ll is None or model_auc is None or lin_auc is None:
        return None
    return model_ll - lin_ll, model_auc - lin_auc


def _beats(d_ll: float, d_auc: float) -> bool:
    return d_auc > SAME_AUC and d_ll <= SAME_LOG_LOSS


def _mean_auc(summary: dict[str, Any], prefix: str) -> float | None:
    values = [summary.get(f"{prefix}auc_long"), summary.get(f"{prefix}auc_short")]
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
