"""T-Invest last prices through a client that may call only market data and instruments (a paper feed)."""

from __future__ import annotations

from decimal import Decimal

from aitrade.brokers.tinkoff.http import QUOTE_SERVICES, TinvestRest, market_data_rest
from aitrade.brokers.tinkoff.instruments import TinvestInstruments
from aitrade.errors import HaltError, SkipError
from aitrade.money import quotation_to_decimal

__all__ = ["QUOTE_SERVICES", "TinvestQuotes", "market_data_rest"]


class TinvestQuotes:
    """Last prices from T-Invest through a client that may call only market data and instruments."""

    def __init__(self, rest: TinvestRest, instruments: TinvestInstruments) -> None:
        if rest.allowed_services is None or "OrdersService" in rest.allowed_services:
            raise HaltError("a paper quote client must not be able to reach OrdersService")
        self.rest, self.instruments = rest, instruments

    async def last_price(self, symbol: str) -> Decimal:
        inst = await self.instruments.resolve(symbol)
        answer = await self.rest.call(
            "MarketDataService", "GetLastPrices", {"instrumentId": [inst["uid"]]}, what=f"T-Invest last price {symbol}"
        )
        prices = answer.get("lastPrices") or []
        if not prices:
            raise SkipError(f"T-Invest has no last price for {symbol}")
        return quotation_to_decimal(prices[0].get("price"))
