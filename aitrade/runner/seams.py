"""The runner's seams, typed: the JSON it records, the rows it books, and the parts it is given.

``aitrade/runner/`` is checked by mypy with explicit ``Any`` disallowed; what
crosses its edges is declared here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ParamSpec, Protocol, TypeAlias, TypeVar

import pandas as pd

from aitrade.runner.replay import BarSignal

#: a JSON value as the ledger, the heartbeat and the kill switch store it
Json: TypeAlias = "str | int | float | bool | Sequence[Json] | Mapping[str, Json] | None"
JsonObject: TypeAlias = dict[str, Json]  # as read back
JsonMap: TypeAlias = Mapping[str, Json]  # as written (any mapping of JSON values)
#: an event: its kind and its detail
Event: TypeAlias = tuple[str, JsonMap]
#: a value SQLite hands back
SqlValue: TypeAlias = str | int | float | bytes | None

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Trade:
    """A closed round trip (the backtest's ``trades.csv`` columns, plus the id of the exit order)."""

    symbol: str
    side: str  # "long" | "short"
    entry_time: str | None
    entry_price: float
    exit_time: str
    exit_price: float
    quantity: float
    fees: float
    pnl: float
    exit_reason: str
    exit_id: str


class RunIO(Protocol):
    """Runs a blocking call (SQLite, files) off the event loop, one at a time."""

    def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]: ...


class Say(Protocol):
    def __call__(self, text: str) -> None: ...


class Alerts(Protocol):
    def send(self, text: str) -> None: ...


class Clock(Protocol):
    """Time for a live feed (the wall clock, or a test's)."""

    def now(self) -> pd.Timestamp: ...

    async def sleep(self, seconds: float) -> None: ...


class Feed(Protocol):
    """Closed bars in time order: ``(bar time, {symbol: bar})``; an empty dict is an idle step of a live feed."""

    def steps(self) -> AsyncIterator[tuple[pd.Timestamp, dict[str, BarSignal]]]: ...


# --- reading JSON back: one narrowing each, for the readers of the heartbeat and the kill switch ---------------
def text(value: Json) -> str | None:
    """A JSON string, or None for anything else."""
    return value if isinstance(value, str) else None


def obj(value: Json) -> JsonObject:
    """A JSON object, or an empty one for anything else."""
    return dict(value) if isinstance(value, Mapping) else {}


def items(value: Json) -> list[Json]:
    """A JSON array, or an empty one for anything else (a string is not an array here)."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def num(value: Json, default: float = 0.0) -> float:
    """A JSON number (not a bool), or ``default``."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
