"""A broker that may be looked at but not traded through (``broker status`` and other read-only views)."""

from __future__ import annotations

from typing import Any

from aitrade.errors import HaltError

TRADING_CALLS = frozenset({"place_order", "cancel_order", "place_protection", "cancel_protection", "close_position"})


class ReadOnly:
    """A broker that may be looked at but not traded through."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        if name in TRADING_CALLS:

            async def refuse(*args: Any, **kwargs: Any) -> Any:
                raise HaltError(f"{self._broker.name}: this router is read-only; {name} refused")

            return refuse
        return getattr(self._broker, name)
