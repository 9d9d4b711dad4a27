"""The shrink toward a prior: one weight between a model's probabilities and the class shares it was trained on.

Torch-free, so that both the training engine (choosing a capacity) and the
signals run's out-of-sample calibration (:mod:`aitrade.signals.calibration`)
use one definition.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

EPS = 1e-12


def golden_section(f: Callable[[float], float], lo: float, hi: float, tol: float = 1e-6) -> float:
    """The minimiser of a unimodal ``f`` on [lo, hi], to ``tol``."""
    g = (math.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    while hi - lo > tol:
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
    return (lo + hi) / 2


def fit_weight(proba: np.ndarray, prior: np.ndarray, y: np.ndarray) -> float:
    """The ``w`` in [0, 1] minimising the mean log loss of ``w * proba + (1 - w) * prior`` on labels ``y``.

    The loss is convex in ``w`` (minus the log of an affine function), so a
    golden-section search finds the minimum to 1e-6.
    """
    rows = np.arange(len(y))
    p, q = proba[rows, y], prior[rows, y]

    def loss(w: float) -> float:
        return float(-np.log(np.clip(w * p + (1.0 - w) * q, EPS, None)).mean())

    w = golden_section(loss, 0.0, 1.0)
    for edge in (0.0, 1.0):  # the optimum may sit on a bound
        if loss(edge) <= loss(w):
            w = edge
    return float(w)


def shrink(proba: np.ndarray, prior: np.ndarray, w: float) -> np.ndarray:
    """The map itself (rows of ``proba`` and ``prior`` aligned; NaN rows stay NaN)."""
    return w * proba + (1.0 - w) * prior
