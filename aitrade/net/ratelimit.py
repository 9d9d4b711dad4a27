"""An asyncio token bucket: at most ``rate`` calls a second, bursts up to ``capacity``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """Await :meth:`acquire` before each call; it sleeps just long enough."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else rate)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self) -> None:
        """Take one token, waiting for it when the bucket is empty."""
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1.0 - 1e-9:  # float refill may land a hair short of 1
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                await self._sleep(max((1.0 - self._tokens) / self.rate, 1e-6))


class RateLimiter:
    """One bucket per key (an endpoint), created on first use."""

    def __init__(self, rates: dict[str, float], default: float, *, burst: float = 0.0) -> None:
        """``burst``: the bucket capacity when it exceeds the rate (a per-minute quota allows bursts)."""
        self._rates = rates
        self._default = default
        self._burst = burst
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, key: str) -> TokenBucket:
        if key not in self._buckets:
            rate = self._rates.get(key, self._default)
            self._buckets[key] = TokenBucket(rate, max(rate, self._burst))
        return self._buckets[key]

    async def acquire(self, key: str) -> None:
        await self.bucket(key).acquire()
