"""Shared pieces of the fake venues: fault injection, a server runner, token buckets."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Fault:
    """One injected fault.

    Transport kinds (checked before a request is handled): ``429``, ``500``,
    ``hang`` (no answer in time), ``reset`` (connection dropped). Venue kinds
    (checked by the order handlers): ``after`` (the order is accepted, then the
    answer hangs), ``after500`` (accepted, then a 5xx), ``partial`` (the order
    fills only half for now), ``delay`` (Bitget: the request is held in transit
    before the venue sees it), ``refuse`` (the venue refuses a placement: Bitget 40762, T-Invest 30079).
    """

    kind: str
    path: str | None = None  # only requests whose path contains this
    times: int = 1


@dataclass
class FaultPlan:
    queue: deque[Fault] = field(default_factory=deque)
    fired: list[str] = field(default_factory=list)

    def add(self, kind: str, *, path: str | None = None, times: int = 1) -> None:
        self.queue.append(Fault(kind, path, times))

    def take(self, path: str, kinds: frozenset[str] = frozenset({"429", "500", "hang", "reset"})) -> str | None:
        """The next planned fault of one of ``kinds`` for ``path``, if any (consumed)."""
        for fault in list(self.queue):
            if fault.kind in kinds and (fault.path is None or fault.path in path):
                fault.times -= 1
                if fault.times <= 0:
                    self.queue.remove(fault)
                self.fired.append(fault.kind)
                return fault.kind
        return None


async def apply_transport_fault(kind: str, request: web.Request, hang_s: float) -> None:
    """``hang``: never answer in time; ``reset``: drop the connection."""
    if kind == "hang":
        await asyncio.sleep(hang_s)
    elif kind == "reset":
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError


class Bucket:
    """Server-side token bucket for rate limits."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.last = capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def price_at(symbol: str, ts_ms: int) -> float:
    """A deterministic, positive price path for the fakes."""
    seed = sum(ord(c) for c in symbol)
    hours = ts_ms / 3_600_000
    return 100.0 + seed % 50 + 10.0 * math.sin(hours / 37.0 + seed) + 3.0 * math.cos(hours / 5.0)


class Server:
    """Run an aiohttp app on 127.0.0.1 with a random port."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
