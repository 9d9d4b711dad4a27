"""A simulated broker's price feed: the venue's live quote when there is one, else the last bar fed to it.

The feeds (:class:`aitrade.brokers.bitget.quotes.BitgetQuotes`,
:class:`aitrade.brokers.tinkoff.quotes.TinvestQuotes`) hold nothing that can
reach an order endpoint: the Bitget feed is unsigned, and the T-Invest client
may call only MarketDataService and InstrumentsService.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aitrade.brokers.simulated import SimulatedBroker
from aitrade.errors import SkipError


class PaperPrices:
    """A simulated broker's price: the live quote when there is a feed, else the last bar fed to it."""

    def __init__(self, feed: Any | None) -> None:
        self.feed = feed
        self.broker: SimulatedBroker | None = None

    async def __call__(self, symbol: str) -> Decimal:
        if self.feed is not None:
            return await self.feed.last_price(symbol)
        last = self.broker.last_seen(symbol) if self.broker is not None else None
        if last is None:
            raise SkipError(
                f"paper has no price for {symbol} yet: feed it bars (on_bar) or configure the venue's market data"
            )
        return last
