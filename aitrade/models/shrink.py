"""The shrink toward a prior: one weight between a model's probabilities and the class shares it was trained on.

Torch-free, so that both the training engine (choosing a capacity) and the
signals run's out-of-sample calibration (:mod:`aitrade.signals.calibration`)
use one definition.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-12


def fit_weight(proba: np.ndarray, prior: np.ndarray, y: np.ndarray) -> float:
    """The ``w`` in [0, 1] minimising the mean log loss of ``w * proba + (1 - w) * prior`` on labels ``y``.

    The loss is convex in ``w`` (minus the log of an affine function), so a
    golden-section search finds the minimum to 1e-6.
    """
    rows = np.arange(len(y))
    p, q = proba[rows, y], prior[rows, y]

    def loss(w: float) -> float:
        return float(-np.log(np.clip(w * p + (1.0 - w) * q, EPS, None)).mean())

    lo, hi = 0.0, 1.0
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = loss(a), loss(b)
    while hi - lo > 1e-6:
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = loss(b)
    w = (lo + hi) / 2
    for edge in (0.0, 1.0):  # the optimum may sit on a bound
        if loss(edge) <= loss(w):
            w = edge
    return float(w)


def shrink(proba: np.ndarray, prior: np.ndarray, w: float) -> np.ndarray:
    """The map itself (rows of ``proba`` and ``prior`` aligned; NaN rows stay NaN)."""
    return w * proba + (1.0 - w) * prior
