"""Named feature sets and feature-group selection (``--features``, YAML ``features:``)."""

from __future__ import annotations

from collections.abc import Sequence

from aitrade.errors import UserError
from aitrade.features.registry import GROUPS

#: Named feature sets. ``core`` is the default: on the planted-edge yardstick every other group
#: (levels, channels, volatility levels, daily context) lowered out-of-sample AUC at fold sizes of a
#: few hundred rows, because their levels drift between a fit window and the next trade window.
FEATURE_SETS: dict[str, tuple[str, ...]] = {"core": ("returns", "rsi", "volume")}


def feature_groups(spec: Sequence[str]) -> list[str]:
    """Group names of a feature spec: set names (``core``, ``all``) and group names, in order, once each."""
    model_groups = [name for name, g in GROUPS.items() if g.model]
    out: list[str] = []
    for item in spec:
        names = FEATURE_SETS.get(item) or (tuple(model_groups) if item == "all" else (item,))
        for name in names:
            if name not in model_groups:
                allowed = ", ".join([*FEATURE_SETS, "all", *model_groups])
                raise UserError(f"unknown feature group {name!r}; allowed: {allowed}")
            if name not in out:
                out.append(name)
    if not out:
        raise UserError("choose at least one feature group (e.g. core)")
    return out


__all__ = ["FEATURE_SETS", "feature_groups"]
