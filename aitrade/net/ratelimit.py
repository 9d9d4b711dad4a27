"""Rate limits as venues state them: at most ``count`` calls in any ``seconds``-long window.

A venue's limit is a count per window (T-Invest: 100 OrdersService calls a
minute; Bitget: 10 place-order calls a second). A token bucket with a burst
allowance can exceed such a limit right after idling (a full bucket plus the
refill of the same minute); a sliding log of send times cannot: a call waits
until the oldest call in its window is ``seconds`` old.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """At most ``count`` calls in any interval of ``seconds``."""

    count: int
    seconds: float

    def __post_init__(self) -> None:
        if self.count < 1 or not self.seconds > 0:
            raise ValueError(f"a rate window needs a positive count and length, got {self.count} in {self.seconds} s")


class SlidingWindow:
    """The send times of the last ``window.count`` calls; :meth:`wait_s` says how long the next one must wait."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self._sent: deque[float] = deque(maxlen=window.count)

    def wait_s(self, now: float) -> float:
        if len(self._sent) < self.window.count:
            return 0.0
        return max(0.0, self._sent[0] + self.window.seconds - now)

    def record(self, now: float) -> None:
        self._sent.append(now)


class RateLimiter:
    """One sliding window per key (an endpoint or a service), plus an optional window over every key.

    ``limits`` maps a key to its window; a key not listed takes ``default``
    (``None``: unlimited). ``overall`` bounds all keys together (T-Invest asks
    for at most 50 calls a second from one address).
    """

    def __init__(
        self,
        limits: Mapping[str, Window],
        default: Window | None = None,
        *,
        overall: Window | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = dict(limits)
        self.default = default
        self._windows: dict[str, SlidingWindow] = {}
        self._overall = SlidingWindow(overall) if overall is not None else None
        self._clock = clock
        self._sleep = sleep

    def window(self, key: str) -> SlidingWindow | None:
        if key not in self._windows:
            spec = self.limits.get(key, self.default)
            if spec is None:
                return None
            self._windows[key] = SlidingWindow(spec)
        return self._windows[key]

    async def acquire(self, key: str) -> None:
        """Wait until one more call under ``key`` stays within every window that applies, then count it."""
        windows = [w for w in (self.window(key), self._overall) if w is not None]
        if not windows:
            return
        while True:  # no await between the check and the record: one event loop makes them atomic
            now = self._clock()
            wait = max(w.wait_s(now) for w in windows)
            if wait <= 0:
                for w in windows:
                    w.record(now)
                return
            await self._sleep(wait)
