"""The replay feed: the bars and probabilities of a signals artifact, stepped through time.

Each step is one bar time with every symbol that has a bar then: its OHLC,
ATR and the probabilities known at its close. ``speed`` is bars per second
(0: as fast as the loop goes). The same artifact and window always give the
same steps, so a replay is comparable with ``aitrade backtest`` bar for bar.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aitrade.errors import UserError


@dataclass(frozen=True)
class BarSignal:
    """One closed bar and the signal known at its close."""

    open: float
    high: float
    low: float
    close: float
    atr: float
    p_long: float
    p_short: float


class ArtifactReplay:
    """Steps of a signals artifact's frame between ``start`` (inclusive) and ``end`` (exclusive)."""

    def __init__(self, frame: pd.DataFrame, *, start: Any = None, end: Any = None, speed: float = 0.0) -> None:
        if speed < 0:
            raise UserError(f"--speed must be 0 (as fast as possible) or a positive number of bars per second, "
                            f"got {speed:g}")  # fmt: skip
        ts = pd.to_datetime(frame["ts"], utc=True)
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= (ts >= pd.Timestamp(start, tz="UTC") if pd.Timestamp(start).tzinfo is None
                     else ts >= pd.Timestamp(start)).to_numpy()  # fmt: skip
        if end is not None:
            keep &= (ts < pd.Timestamp(end, tz="UTC") if pd.Timestamp(end).tzinfo is None
                     else ts < pd.Timestamp(end)).to_numpy()  # fmt: skip
        part = frame.loc[keep].assign(ts=ts[keep]).sort_values(["ts", "symbol"], kind="stable")
        if part.empty:
            raise UserError("the replay window holds no bars of the signals run (check --start and --end)")
        self.frame = part
        self.symbols = sorted(part["symbol"].unique())
        self.speed = float(speed)

    def __len__(self) -> int:
        return int(self.frame["ts"].nunique())

    async def steps(self) -> AsyncIterator[tuple[pd.Timestamp, dict[str, BarSignal]]]:
        cols = ("open", "high", "low", "close", "atr", "p_long", "p_short")
        values = self.frame.loc[:, cols].to_numpy(dtype=float)
        symbols = self.frame["symbol"].to_numpy()
        times = self.frame["ts"].to_numpy()
        bounds = np.flatnonzero(np.r_[True, times[1:] != times[:-1], True])
        for a, b in itertools.pairwise(bounds):
            yield pd.Timestamp(times[a]).tz_localize("UTC") if pd.Timestamp(times[a]).tzinfo is None else (
                pd.Timestamp(times[a])), {str(symbols[i]): BarSignal(*values[i]) for i in range(a, b)}  # fmt: skip
            await asyncio.sleep(1.0 / self.speed if self.speed > 0 else 0)
