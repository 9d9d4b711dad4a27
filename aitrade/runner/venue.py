"""The venue feed: closed bars from the brokers' candles as they close, with live inference.

After each bar closes (plus a settle delay) the feed asks every symbol's
broker for the bars since the last one it has, drops a bar still forming, and
yields each new closed bar time in order: after an outage the missed bars are
back-filled and traded in sequence. Between bars it yields empty steps every
``poll_s`` seconds so the runner reads its kill switch, watches fills and
writes its heartbeat while waiting. A symbol whose closed bars stop arriving
for ``stale_bars`` intervals is reported in :attr:`VenueFeed.stale`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import pandas as pd

from aitrade.errors import AiTradeError
from aitrade.intervals import interval_delta
from aitrade.runner.replay import BarSignal
from aitrade.runner.seams import Clock

if TYPE_CHECKING:
    from aitrade.router import Router
    from aitrade.runner.inference import ModelSignals

log = logging.getLogger(__name__)


class WallClock:
    """UTC now and sleeping, from the system clock."""

    def now(self) -> pd.Timestamp:
        return pd.Timestamp(time.time(), unit="s", tz="UTC")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VenueFeed:
    def __init__(
        self,
        router: Router,
        model: ModelSignals,
        *,
        clock: Clock | None = None,
        settle_s: float = 2.0,
        poll_s: float = 1.0,
        stale_bars: int = 3,
        retry_s: float = 15.0,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        self.router = router
        self.model = model
        self.symbols = list(model.symbols)
        self.interval = model.interval
        self.step = interval_delta(self.interval)
        self.clock = clock or WallClock()
        self.settle = pd.Timedelta(seconds=settle_s)
        self.poll_s = poll_s
        self.stale_bars = stale_bars
        self.retry_s = retry_s
        self.stop = stop or (lambda: False)
        self.bars: dict[str, pd.DataFrame] = {}
        self.last: dict[str, pd.Timestamp] = {}
        self.stale: dict[str, int] = {}

    def _floor(self, ts: pd.Timestamp) -> pd.Timestamp:
        return ts.floor(self.step) if self.step <= pd.Timedelta(days=1) else ts.normalize()

    async def _closed(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Closed bars of ``symbol`` opening in [start, end): a bar that has not closed by now is dropped."""
        frame = await self.router.broker_for(symbol).candles(symbol, self.interval, start, end)
        if frame is None or not len(frame):
            return pd.DataFrame(columns=["open", "high", "low", "close", "volume"])
        now = self.clock.now()
        return frame[frame.index + self.step <= now]

    async def warm_up(self) -> None:
        """History for the features: the model's window of closed bars before now."""
        first_open = self._floor(self.clock.now()) - self.model.window * self.step
        for s in self.symbols:
            frame = await self._closed(s, first_open, self._floor(self.clock.now()))
            self.bars[s] = frame
            self.last[s] = frame.index[-1] if len(frame) else first_open - self.step

    async def steps(self) -> AsyncIterator[tuple[pd.Timestamp, dict[str, BarSignal]]]:
        await self.warm_up()
        tried: pd.Timestamp | None = None
        tried_at = self.clock.now()
        while not self.stop():
            now = self.clock.now()
            close = self._floor(now)  # the last bar that closed opened one step before this
            behind = any(self.last[s] < close - self.step for s in self.symbols)
            again = tried != close or (now - tried_at).total_seconds() >= self.retry_s
            if now >= close + self.settle and behind and again:
                tried, tried_at = close, now
                async for step in self._fetch(close):
                    yield step
                continue
            yield now, {}  # an idle step: kill switch, fills, heartbeat
            wake = close + self.step + self.settle
            await self.clock.sleep(min(self.poll_s, max(0.0, (wake - self.clock.now()).total_seconds())))

    async def _fetch(self, end: pd.Timestamp) -> AsyncIterator[tuple[pd.Timestamp, dict[str, BarSignal]]]:
        fresh: dict[str, pd.DataFrame] = {}
        for s in self.symbols:
            try:
                got = await self._closed(s, self.last[s] + self.step, end)
            except AiTradeError as exc:
                log.warning("venue feed: %s candles: %s", s, exc)
                got = pd.DataFrame()
            if len(got):
                fresh[s] = got
                self.bars[s] = pd.concat([self.bars[s], got]).iloc[-self.model.window * 2 :]
                self.last[s] = got.index[-1]
            self.stale[s] = max(0, int((end - self.step - self.last[s]) / self.step))
        for ts in sorted({t for f in fresh.values() for t in f.index}):
            out: dict[str, BarSignal] = {}
            for s, f in fresh.items():
                if ts not in f.index:
                    continue
                p = self.model.predict(s, self.bars[s].loc[:ts])
                row = f.loc[ts]
                out[s] = BarSignal.at_close(row, p)
            yield ts, out
