"""The pandas layer: bars in, a feature frame out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from aitrade.features import library  # noqa: F401  (registers the features)
from aitrade.features.registry import FEATURES, GROUPS, FeatureContext, resolve

FEATURE_SET_VERSION = "1"


def model_features(*, leader: bool = True, daily: bool = True) -> list[str]:
    """Default model inputs: every registered model column (leader and daily optional)."""
    out: list[str] = []
    for group in GROUPS.values():
        if not group.model or (group.needs_leader and not leader) or (group.name == "daily" and not daily):
            continue
        out.extend(group.columns)
    return out


def compute_features(
    bars: pd.DataFrame,
    interval: str,
    names: Sequence[str] | None = None,
    *,
    leader: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Named features of one symbol's bars, indexed like ``bars`` (NaN during warm-up).

    ``names`` defaults to every registered feature; leader features need the
    leader's bars (``leader``), and are skipped by default when none are given.
    """
    if names is None:
        names = [n for n, g in FEATURES.items() if not (g.needs_leader and leader is None)]
    names = list(names)
    unique = list(dict.fromkeys(names))
    groups = resolve(unique)
    for group in groups:
        if group.needs_leader and leader is None:
            raise ValueError(f"feature group {group.name!r} needs the leader's bars")
    # one Fortran-ordered block: every column is contiguous, the groups' kernels write into it in
    # place, and the DataFrame wraps it without a copy
    block = np.empty((len(bars), len(unique)), order="F")
    ctx = FeatureContext(
        bars=bars, interval=interval, leader=leader, block=block, slots={n: j for j, n in enumerate(unique)}
    )
    for name in unique:
        ctx.feature(name)
    frame = pd.DataFrame(block, index=bars.index, columns=unique, copy=False)
    return frame if len(unique) == len(names) else frame[names]
