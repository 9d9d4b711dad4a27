"""The registry of named features.

Features come in groups that share work (ADX gives ``adx``, ``plus_di`` and
``minus_di`` in one pass). Every group declares its columns, its warm-up in
bars (NaN before it), whether it needs the leader's bars, and whether its
columns are model inputs (``atr`` in price units is not: it feeds labels and
sizing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aitrade.errors import UserError


@dataclass
class FeatureContext:
    """Inputs of one symbol, the result block the groups write into, and a memo of shared arrays.

    ``block`` is an (n, k) Fortran-ordered array whose column ``slots[name]``
    holds feature ``name``; :meth:`out` hands a group that column (or a scratch
    array for a feature nobody asked for), so fused kernels write results in
    place. :meth:`feature` returns another group's column, computing it once.
    """

    bars: pd.DataFrame
    interval: str
    leader: pd.DataFrame | None = None
    block: np.ndarray | None = None
    slots: dict[str, int] = field(default_factory=dict)
    memo: dict[str, np.ndarray] = field(default_factory=dict)
    _inputs: dict[str, np.ndarray] = field(default_factory=dict)
    _storage: dict[str, np.ndarray] = field(default_factory=dict)
    _done: dict[str, np.ndarray] = field(default_factory=dict)

    def col(self, name: str) -> np.ndarray:
        """An input column of the bars as float64 (converted once)."""
        arr = self._inputs.get(name)
        if arr is None:
            arr = self._inputs[name] = np.ascontiguousarray(self.bars[name].to_numpy(dtype=np.float64))
        return arr

    def out(self, name: str) -> np.ndarray:
        """Where feature ``name`` is to be written: its column of the block, or scratch."""
        arr = self._storage.get(name)
        if arr is None:
            j = self.slots.get(name)
            arr = self.block[:, j] if j is not None and self.block is not None else np.empty(len(self.bars))
            self._storage[name] = arr
        return arr

    def feature(self, name: str) -> np.ndarray:
        """Feature ``name``'s values, computing its group on first use."""
        arr = self._done.get(name)
        if arr is None:
            self.run(FEATURES[name])
            arr = self._done[name]
        return arr

    def run(self, group: FeatureGroup) -> None:
        """Compute ``group`` and store its columns (copied into the block unless written in place)."""
        result = group.compute(self)
        for col in group.columns:
            arr = result[col]
            target = self.out(col) if col in self.slots else None
            if target is not None and arr is not target:
                target[:] = arr
                arr = target
            self._done[col] = arr

    def cached(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]


@dataclass(frozen=True)
class FeatureGroup:
    name: str
    columns: tuple[str, ...]
    warmup: Callable[[str], int]
    compute: Callable[[FeatureContext], dict[str, np.ndarray]]
    needs_leader: bool = False
    model: bool = True


GROUPS: dict[str, FeatureGroup] = {}
FEATURES: dict[str, FeatureGroup] = {}


def register(group: FeatureGroup) -> FeatureGroup:
    """Add a group; a column name may belong to one group only."""
    for col in group.columns:
        owner = FEATURES.get(col)
        if owner is not None and owner.name != group.name:
            raise ValueError(f"feature {col!r} is already registered by group {owner.name!r}")
    GROUPS[group.name] = group
    for col in group.columns:
        FEATURES[col] = group
    return group


def feature_group(name: str, columns: tuple[str, ...], warmup: int | Callable[[str], int], **kw: bool):
    """Decorator form of :func:`register` for a compute function."""

    def wrap(fn: Callable[[FeatureContext], dict[str, np.ndarray]]):
        wu = warmup if callable(warmup) else (lambda _interval, w=warmup: w)
        register(FeatureGroup(name, columns, wu, fn, **kw))
        return fn

    return wrap


def resolve(names: list[str] | tuple[str, ...]) -> list[FeatureGroup]:
    """Groups needed for ``names``; an unknown name lists what exists."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise UserError(f"unknown feature(s) {', '.join(unknown)}; registered: {', '.join(sorted(FEATURES))}")
    seen: dict[str, FeatureGroup] = {}
    for n in names:
        seen.setdefault(FEATURES[n].name, FEATURES[n])
    return list(seen.values())


def warmup_bars(names: list[str] | tuple[str, ...], interval: str) -> int:
    """Bars before every named feature is defined."""
    return max((g.warmup(interval) for g in resolve(names)), default=0)
