"""Walk-forward fold plans, aligned by timestamp across assets."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from aitrade.errors import UserError

END = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Fold:
    """Time bounds (ns) shared by every asset: train on [train_start, train_end), trade on [trade_start, trade_end)."""

    index: int
    train_start: int
    train_end: int
    trade_start: int
    trade_end: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("train_start", "train_end", "trade_start", "trade_end"):
            d[key] = None if d[key] == END else pd.Timestamp(d[key], tz="UTC").isoformat()
        return d


def plan_folds(
    timeline: np.ndarray,
    *,
    warmup: int,
    train_window: int,
    trade_window: int,
    embargo: int,
    horizon: int,
    single: bool = False,
    what: str = "the data",
) -> list[Fold]:
    """Folds over a sorted ``timeline`` (ns) of bar times.

    The first ``warmup`` bars have undefined features and are skipped. Each fold
    trains on ``train_window`` bars, leaves ``embargo`` bars unused, and trades the
    next ``trade_window`` bars; the last ``horizon`` training bars are purged later
    per asset, because their labels reach into the embargo. ``single`` makes one
    fold that trades everything after the first training window.
    """
    if train_window <= horizon + 30:
        raise UserError(f"train_window {train_window} is too short: it must exceed the label horizon {horizon} + 30")
    if trade_window < 1:
        raise UserError(f"trade_window must be at least 1, got {trade_window}")
    n = len(timeline)
    first = warmup + train_window + embargo
    if n <= first:
        raise UserError(
            f"too few bars in {what}: need more than {first} (warm-up {warmup} + train_window {train_window} "
            f"+ embargo {embargo}) to trade one bar, have {n}"
        )
    folds: list[Fold] = []
    starts = [first] if single else list(range(first, n, trade_window))
    for k, p in enumerate(starts):
        stop = n if single else min(p + trade_window, n)
        folds.append(
            Fold(
                index=k,
                train_start=int(timeline[p - embargo - train_window]),
                train_end=int(timeline[p - embargo]),
                trade_start=int(timeline[p]),
                trade_end=END if stop >= n else int(timeline[stop]),
            )
        )
    return folds
