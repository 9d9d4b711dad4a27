"""Out-of-sample classification metrics beside a naive class-prior baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

EPS = 1e-12


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties averaged); None with one class only."""
    pos, n = int(positive.sum()), len(positive)
    if pos in (0, n):
        return None
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(n)
    sorted_scores = score[order]
    i = 0
    while i < n:
        j = i
        while j + 1 < n and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[positive].sum() - pos * (pos + 1) / 2.0) / (pos * (n - pos)))


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(p[np.arange(len(y)), y], EPS, 1.0)).mean())


def fold_metrics(proba: np.ndarray, y: np.ndarray, prior: np.ndarray) -> dict[str, Any]:
    """Metrics of predictions ``proba`` (n, 3) on labels ``y`` (-1 = unknown, skipped)."""
    ok = (y >= 0) & np.isfinite(proba).all(axis=1)
    p, t = proba[ok], y[ok].astype(np.int64)
    if not len(t):
        return {"n": 0}
    base = np.tile(np.clip(prior, EPS, 1.0), (len(t), 1))
    return {
        "n": len(t),
        "log_loss": log_loss(p, t),
        "accuracy": float((p.argmax(axis=1) == t).mean()),
        "auc_long": auc(p[:, 1], t == 1),
        "auc_short": auc(p[:, 2], t == 2),
        "baseline_log_loss": log_loss(base, t),
        "baseline_accuracy": float((t == int(np.argmax(prior))).mean()),
        "class_share": np.bincount(t, minlength=3).tolist(),
    }
