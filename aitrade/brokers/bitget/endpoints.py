"""Every Bitget v2 endpoint AiTrade calls: method, path, documented frequency limit, signed or public.

The limits are the "Frequency limit" lines of Bitget's v2 API pages (per UID
for private endpoints, per IP for public market data), enforced as one-second
windows (:mod:`aitrade.net.ratelimit`). The HTTP seam takes an
:class:`Endpoint`, never a free path, so a call and its limit cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from aitrade.net.ratelimit import RateLimiter, Window

PRODUCT = "USDT-FUTURES"
MARGIN_COIN = "USDT"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    per_second: int  # the documented frequency limit
    signed: bool = True

    @property
    def window(self) -> Window:
        return Window(self.per_second, 1.0)

    @property
    def idempotent(self) -> bool:
        """A GET may be retried after a lost answer; a POST changes state and is looked up instead."""
        return self.method == "GET"


SERVER_TIME = Endpoint("GET", "/api/v2/public/time", 20, signed=False)
# spot
SPOT_SYMBOLS = Endpoint("GET", "/api/v2/spot/public/symbols", 20, signed=False)
SPOT_TICKERS = Endpoint("GET", "/api/v2/spot/market/tickers", 20, signed=False)
SPOT_CANDLES = Endpoint("GET", "/api/v2/spot/market/candles", 20, signed=False)
SPOT_HISTORY_CANDLES = Endpoint("GET", "/api/v2/spot/market/history-candles", 20, signed=False)
SPOT_ASSETS = Endpoint("GET", "/api/v2/spot/account/assets", 10)
SPOT_PLACE = Endpoint("POST", "/api/v2/spot/trade/place-order", 10)
SPOT_CANCEL = Endpoint("POST", "/api/v2/spot/trade/cancel-order", 10)
SPOT_ORDER_INFO = Endpoint("GET", "/api/v2/spot/trade/orderInfo", 20)
SPOT_UNFILLED = Endpoint("GET", "/api/v2/spot/trade/unfilled-orders", 20)
SPOT_HISTORY = Endpoint("GET", "/api/v2/spot/trade/history-orders", 20)
# USDT-M futures ("mix")
MIX_CONTRACTS = Endpoint("GET", "/api/v2/mix/market/contracts", 20, signed=False)
MIX_TICKER = Endpoint("GET", "/api/v2/mix/market/ticker", 20, signed=False)
MIX_CANDLES = Endpoint("GET", "/api/v2/mix/market/candles", 20, signed=False)
MIX_HISTORY_CANDLES = Endpoint("GET", "/api/v2/mix/market/history-candles", 20, signed=False)
MIX_ACCOUNTS = Endpoint("GET", "/api/v2/mix/account/accounts", 10)
MIX_POSITIONS = Endpoint("GET", "/api/v2/mix/position/all-position", 5)
MIX_SET_LEVERAGE = Endpoint("POST", "/api/v2/mix/account/set-leverage", 5)
MIX_PLACE = Endpoint("POST", "/api/v2/mix/order/place-order", 10)
MIX_CANCEL = Endpoint("POST", "/api/v2/mix/order/cancel-order", 10)
MIX_DETAIL = Endpoint("GET", "/api/v2/mix/order/detail", 10)
MIX_PENDING = Endpoint("GET", "/api/v2/mix/order/orders-pending", 10)
MIX_HISTORY = Endpoint("GET", "/api/v2/mix/order/orders-history", 10)
MIX_PLACE_TPSL = Endpoint("POST", "/api/v2/mix/order/place-tpsl-order", 10)
MIX_CANCEL_PLAN = Endpoint("POST", "/api/v2/mix/order/cancel-plan-order", 10)
MIX_PLAN_PENDING = Endpoint("GET", "/api/v2/mix/order/orders-plan-pending", 10)
MIX_PLAN_HISTORY = Endpoint("GET", "/api/v2/mix/order/orders-plan-history", 10)

ENDPOINTS: tuple[Endpoint, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Endpoint))


def limiter() -> RateLimiter:
    """One window per endpoint at its documented count."""
    return RateLimiter({e.path: e.window for e in ENDPOINTS})
