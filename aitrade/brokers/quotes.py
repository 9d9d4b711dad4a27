"""Price feeds for paper trading that cannot trade: Bitget's public ticker, a market-data-only T-Invest client.

A simulated broker needs a price for a market order. With a feed it asks the
venue's public market data; without one it uses the last bar fed to it. None
of these objects holds anything that can reach an order endpoint: the Bitget
feed is unsigned, and the T-Invest client is built with
``allowed_services={MarketDataService, InstrumentsService}`` (anything else
raises :class:`HaltError` before a request is made).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp

from aitrade.brokers.bitget.broker import PRODUCT
from aitrade.brokers.simulated import SimulatedBroker
from aitrade.brokers.tinkoff.http import TinvestRest
from aitrade.brokers.tinkoff.instruments import TinvestInstruments
from aitrade.errors import HaltError, SkipError
from aitrade.money import quotation_to_decimal
from aitrade.net.http import request_json

QUOTE_SERVICES = frozenset({"MarketDataService", "InstrumentsService"})


class BitgetQuotes:
    """Last prices from Bitget's public ticker: unsigned, no credentials."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, market: str) -> None:
        self.session, self.base_url, self.market = session, base_url.rstrip("/"), market

    async def last_price(self, symbol: str) -> Decimal:
        if self.market == "spot":
            url, params = "/api/v2/spot/market/tickers", {"symbol": symbol}
        else:
            url, params = "/api/v2/mix/market/ticker", {"symbol": symbol, "productType": PRODUCT}
        resp = await request_json(self.session, "GET", self.base_url + url, params=params,
                                  what=f"Bitget ticker {symbol}", timeout_s=10.0)  # fmt: skip
        rows = resp.body.get("data") if isinstance(resp.body, dict) else None
        if resp.status != 200 or not rows:
            raise SkipError(f"Bitget ticker {symbol}: HTTP {resp.status} {str(resp.body)[:200]}")
        return Decimal(str(rows[0]["lastPr"]))


class TinvestQuotes:
    """Last prices from T-Invest through a client that may call only market data and instruments."""

    def __init__(self, rest: TinvestRest, instruments: TinvestInstruments) -> None:
        if rest.allowed_services is None or "OrdersService" in rest.allowed_services:
            raise HaltError("a paper quote client must not be able to reach OrdersService")
        self.rest, self.instruments = rest, instruments

    async def last_price(self, symbol: str) -> Decimal:
        inst = await self.instruments.resolve(symbol)
        answer = await self.rest.call("MarketDataService", "GetLastPrices", {"instrumentId": [inst["uid"]]},
                                      what=f"T-Invest last price {symbol}")  # fmt: skip
        prices = answer.get("lastPrices") or []
        if not prices:
            raise SkipError(f"T-Invest has no last price for {symbol}")
        return quotation_to_decimal(prices[0].get("price"))


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
            raise SkipError(f"paper has no price for {symbol} yet: feed it bars (on_bar) or configure the venue's "
                            "market data")  # fmt: skip
        return last
