"""Replay feeds: history stepped through time, one closed bar at a time.

* :class:`ArtifactReplay`: the bars and probabilities of a signals artifact.
* :class:`ModelReplay`: bars of a data source, each turned into probabilities by
  live inference with the promoted bundle (:mod:`aitrade.runner.inference`).

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
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from aitrade.errors import UserError

if TYPE_CHECKING:
    from aitrade.runner.inference import ModelSignals, Prediction

#: a point in time as a user or a file gives it (ISO text, a datetime, a Timestamp)
Moment: TypeAlias = "str | datetime | pd.Timestamp"


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

    @classmethod
    def at_close(cls, row: pd.Series, p: Prediction) -> BarSignal:
        """The bar ``row`` (open, high, low, close) with the model's prediction ``p`` at its close."""
        return cls(
            float(row["open"]), float(row["high"]), float(row["low"]), float(row["close"]), p.atr, p.p_long, p.p_short
        )


class ArtifactReplay:
    """Steps of a signals artifact's frame between ``start`` (inclusive) and ``end`` (exclusive)."""

    def __init__(
        self, frame: pd.DataFrame, *, start: Moment | None = None, end: Moment | None = None, speed: float = 0.0
    ) -> None:
        if speed < 0:
            raise UserError(
                f"--speed must be 0 (as fast as possible) or a positive number of bars per second, got {speed:g}"
            )
        ts = pd.to_datetime(frame["ts"], utc=True)
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= (ts >= _utc(start)).to_numpy()
        if end is not None:
            keep &= (ts < _utc(end)).to_numpy()
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
            yield _utc(times[a]), {str(symbols[i]): BarSignal(*values[i]) for i in range(a, b)}
            await asyncio.sleep(1.0 / self.speed if self.speed > 0 else 0)


class ModelReplay:
    """Bars of a data source stepped through time, each closed bar turned into a signal by live inference.

    ``bars`` hold history before ``start`` for the features' warm-up; steps begin at ``start``.
    """

    def __init__(
        self,
        bars: dict[str, pd.DataFrame],
        model: ModelSignals,
        *,
        start: Moment | None = None,
        end: Moment | None = None,
        speed: float = 0.0,
    ) -> None:
        if speed < 0:
            raise UserError(
                f"--speed must be 0 (as fast as possible) or a positive number of bars per second, got {speed:g}"
            )
        self.bars = {s: b for s, b in bars.items() if len(b)}
        self.model = model
        self.symbols = sorted(self.bars)
        self.speed = float(speed)
        lo = _utc(start) if start is not None else None
        hi = _utc(end) if end is not None else None
        times = pd.DatetimeIndex(sorted({t for b in self.bars.values() for t in b.index}))
        keep = np.ones(len(times), dtype=bool)
        if lo is not None:
            keep &= times >= lo
        if hi is not None:
            keep &= times < hi
        self.times = times[keep]
        if not len(self.times):
            raise UserError("the replay window holds no bars (check --start and --end against the data)")

    def __len__(self) -> int:
        return len(self.times)

    async def steps(self) -> AsyncIterator[tuple[pd.Timestamp, dict[str, BarSignal]]]:
        position = {s: b.index for s, b in self.bars.items()}
        for ts in self.times:
            out: dict[str, BarSignal] = {}
            for s, b in self.bars.items():
                i = position[s].searchsorted(ts, side="right")
                if i == 0 or position[s][i - 1] != ts:
                    continue
                upto = b.iloc[:i]  # closed bars only: nothing after ts reaches the model
                p = self.model.predict(s, upto)
                row = upto.iloc[-1]
                out[s] = BarSignal.at_close(row, p)
            if out:
                yield ts, out
            await asyncio.sleep(1.0 / self.speed if self.speed > 0 else 0)


def _utc(value: Moment) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
