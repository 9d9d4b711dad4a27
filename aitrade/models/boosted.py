"""Gradient-boosted trees (LightGBM) as a model kind beside the torch nets: ``--model lgbm``.

Trees find interactions and thresholds without a capacity search of their
own: the settings here are for small windows (a fold holds a few hundred to a
few thousand rows): shallow trees, a large minimum leaf, row and feature
subsampling and an L2 ridge on leaf values. The number of boosting rounds is
the capacity: with ``capacity="tuned"`` it is chosen per window on the same
purged inner hold-out the nets use (one fit, scored at each candidate round).
A universal model adds the asset id as a categorical feature.

The model is saved as LightGBM's own text format (no pickle); training is
single-threaded and deterministic, so a fold gives the same trees in any
process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from aitrade.errors import TooFewRows
from aitrade.models.nets import N_CLASSES
from aitrade.models.shrink import fit_weight, shrink

if TYPE_CHECKING:
    import lightgbm

    from aitrade.models.train import ModelConfig

#: the boosting rounds a tuned fit chooses from (the first is the most regularised); ``fixed`` uses ROUNDS
ROUND_CHOICES = (60, 150, 400)
ROUNDS = 150
PARAMS: dict[str, Any] = {
    "objective": "multiclass",
    "num_class": N_CLASSES,
    "learning_rate": 0.05,
    "num_leaves": 7,
    "max_depth": 3,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 1,  # folds run in parallel processes; one thread each keeps results independent of the machine
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}


@dataclass
class BoostedModel:
    """A LightGBM booster with the same prediction interface as :class:`aitrade.models.train.TrainedModel`."""

    config: ModelConfig
    booster: lightgbm.Booster
    feature_names: list[str]
    assets: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0

    def predict_proba(self, X: np.ndarray, rows: np.ndarray, asset_ids: np.ndarray | None = None) -> np.ndarray:
        """(n, 3) probabilities [flat, long, short] for ``rows`` of ``X``; NaN where a feature is undefined."""
        inputs = _inputs(X, rows, asset_ids if self.assets else None)
        out = np.full((len(rows), N_CLASSES), np.nan)
        ok = np.isfinite(X[rows]).all(axis=1)
        if ok.any():
            out[ok] = self.booster.predict(inputs[ok])
        return out


def _inputs(X: np.ndarray, rows: np.ndarray, asset_ids: np.ndarray | None) -> np.ndarray:
    if asset_ids is None:
        return X[rows]
    return np.column_stack([X[rows], np.asarray(asset_ids)[rows].astype(np.float64)])


def _dataset(X: np.ndarray, y: np.ndarray, rows: np.ndarray, asset_ids: np.ndarray | None, names: list[str]) -> Any:
    import lightgbm  # noqa: PLC0415 (a research-time dependency)

    inputs = _inputs(X, rows, asset_ids)
    columns = [*names, "asset"] if asset_ids is not None else list(names)
    categorical: list[str] = ["asset"] if asset_ids is not None else []
    return lightgbm.Dataset(
        inputs, label=y[rows], feature_name=columns, categorical_feature=categorical, params={"verbosity": -1}
    )


def _usable(X: np.ndarray, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return rows[(y[rows] >= 0) & np.isfinite(X[rows]).all(axis=1)]


def train_boosted(
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    config: ModelConfig,
    feature_names: list[str],
    seed: int,
    asset_ids: np.ndarray | None,
    assets: list[str] | None,
    rounds: int,
) -> BoostedModel:
    """A booster on the usable ``rows`` (labelled, every feature defined)."""
    import lightgbm  # noqa: PLC0415

    fit = _usable(X, y, rows)
    if len(fit) < 30:
        raise TooFewRows(f"only {len(fit)} usable training rows after purging; need at least 30")
    ids = asset_ids if assets else None
    params = {**PARAMS, "seed": seed}
    booster = lightgbm.train(params, _dataset(X, y, fit, ids, feature_names), num_boost_round=rounds)
    info = {"fit_rows": len(fit), "rounds": rounds, "seed": seed, "params": params}
    return BoostedModel(config, booster, list(feature_names), list(assets or []), info)


def boosted_inner_losses(
    X: np.ndarray,
    y: np.ndarray,
    fit_rows: np.ndarray,
    hold_rows: np.ndarray,
    config: ModelConfig,
    feature_names: list[str],
    seed: int,
    asset_ids: np.ndarray | None,
    assets: list[str] | None,
) -> dict[str, float | None]:
    """The inner hold-out's log loss (after the best shrink, as for the nets) at each of :data:`ROUND_CHOICES`."""
    try:
        model = train_boosted(X, y, fit_rows, config, feature_names, seed, asset_ids, assets, max(ROUND_CHOICES))
    except TooFewRows:
        return {str(r): None for r in ROUND_CHOICES}
    hold = _usable(X, y, hold_rows)
    known = y[_usable(X, y, fit_rows)].astype(np.int64)
    shares = (np.bincount(known, minlength=N_CLASSES) + 1.0) / (len(known) + N_CLASSES)
    t = y[hold].astype(np.int64)
    losses: dict[str, float | None] = {}
    for rounds in ROUND_CHOICES:
        if not len(t):
            losses[str(rounds)] = None
            continue
        proba = np.asarray(model.booster.predict(_inputs(X, hold, asset_ids if assets else None), num_iteration=rounds))
        prior = np.tile(shares, (len(t), 1))
        shrunk = shrink(proba, prior, fit_weight(proba, prior, t))
        losses[str(rounds)] = float(-np.log(np.clip(shrunk[np.arange(len(t)), t], 1e-12, None)).mean())
    return losses


def booster_text(model: BoostedModel) -> str:
    """The booster in LightGBM's text format (what a bundle stores)."""
    return str(model.booster.model_to_string())


def booster_from_text(text: str) -> Any:
    import lightgbm  # noqa: PLC0415

    return lightgbm.Booster(model_str=text)
