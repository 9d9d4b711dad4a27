"""One retry helper: exponential backoff with jitter, for :class:`RetryableError` only."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aitrade.errors import RetryableError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; delays ``base_s * 2**n`` capped at ``cap_s``, jittered.

    A venue's own ``retry_after`` (Retry-After, x-ratelimit-reset) wins over the
    computed delay, capped at ``max_wait_s``.
    """

    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 8.0
    jitter: float = 0.5
    max_wait_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rnd: float) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_wait_s))
        backoff = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        return backoff * (1.0 - self.jitter * rnd)


async def retry_async(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str = "request",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rnd: Callable[[], float] = random.random,
) -> T:
    """Await ``call()`` until it succeeds; retry only :class:`RetryableError`.

    The last error propagates unchanged when every attempt failed.
    """
    attempt = 1
    while True:
        try:
            return await call()
        except RetryableError as exc:
            if attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt, exc.retry_after, rnd())
            log.warning("%s failed (%s); retry %d/%d in %.2fs", what, exc, attempt, policy.attempts - 1, wait)
            await sleep(wait)
            attempt += 1
