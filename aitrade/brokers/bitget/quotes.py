"""Bitget last prices from the public ticker: unsigned, no credentials (a paper feed that cannot trade)."""

from __future__ import annotations

from decimal import Decimal

import aiohttp

from aitrade.brokers.bitget.endpoints import PRODUCT
from aitrade.errors import SkipError
from aitrade.net.http import request_json


class BitgetQuotes:
    """Last prices from Bitget's public ticker: unsigned, no credentials."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, market: str) -> None:
        self.session, self.base_url, self.market = session, base_url.rstrip("/"), market

    async def last_price(self, symbol: str) -> Decimal:
        if self.market == "spot":
            url, params = "/api/v2/spot/market/tickers", {"symbol": symbol}
        else:
            url, params = "/api/v2/mix/market/ticker", {"symbol": symbol, "productType": PRODUCT}
        resp = await request_json(
            self.session, "GET", self.base_url + url, params=params, what=f"Bitget ticker {symbol}", timeout_s=10.0
        )
        rows = resp.body.get("data") if isinstance(resp.body, dict) else None
        if resp.status != 200 or not rows:
            raise SkipError(f"Bitget ticker {symbol}: HTTP {resp.status} {str(resp.body)[:200]}")
        return Decimal(str(rows[0]["lastPr"]))
