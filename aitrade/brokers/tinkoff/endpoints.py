"""Every T-Invest method AiTrade calls through the REST gateway: its service, whether it changes state, and the
unary limit it counts against (investAPI ``limits.md``: per minute per service, with PostOrder, GetOrders and
CancelOrder counted apart, and at most 50 calls a second from one address in all).

The seam reads this table for every call: a state-changing call whose answer is lost is looked up, never
retried blind, and a method missing here is refused before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from aitrade.net.ratelimit import RateLimiter, Window

PREFIX = "/tinkoff.public.invest.api.contract.v1."
#: unary limits per minute: per service, and the OrdersService methods the table names apart
LIMITS = {
    "InstrumentsService": Window(200, 60.0),
    "UsersService": Window(100, 60.0),
    "OperationsService": Window(200, 60.0),
    "MarketDataService": Window(600, 60.0),
    "StopOrdersService": Window(50, 60.0),
    "SandboxService": Window(200, 60.0),
    "OrdersService": Window(100, 60.0),
    "OrdersService/GetOrders": Window(200, 60.0),
    "OrdersService/PostOrder": Window(300, 60.0),
    "OrdersService/CancelOrder": Window(100, 60.0),
}
OVERALL_LIMIT = Window(50, 1.0)
#: what a market-data client may call (quotes, candles): never an order service
QUOTE_SERVICES = frozenset({"MarketDataService", "InstrumentsService"})


@dataclass(frozen=True)
class Rpc:
    service: str
    method: str
    changes_state: bool = False

    @property
    def path(self) -> str:
        return f"{PREFIX}{self.service}/{self.method}"

    @property
    def limit_key(self) -> str:
        """The window it counts against: its method's own where the table names one, else its service's."""
        key = f"{self.service}/{self.method}"
        return key if key in LIMITS else self.service


RPCS = {
    (r.service, r.method): r
    for r in (
        Rpc("UsersService", "GetAccounts"),
        Rpc("InstrumentsService", "GetInstrumentBy"),
        Rpc("InstrumentsService", "FindInstrument"),
        Rpc("MarketDataService", "GetCandles"),
        Rpc("MarketDataService", "GetLastPrices"),
        Rpc("OrdersService", "PostOrder", changes_state=True),
        Rpc("OrdersService", "CancelOrder", changes_state=True),
        Rpc("OrdersService", "GetOrderState"),
        Rpc("OrdersService", "GetOrders"),
        Rpc("OperationsService", "GetPortfolio"),
        Rpc("OperationsService", "GetOperationsByCursor"),
        Rpc("StopOrdersService", "PostStopOrder", changes_state=True),
        Rpc("StopOrdersService", "GetStopOrders"),
        Rpc("StopOrdersService", "CancelStopOrder", changes_state=True),
        Rpc("SandboxService", "OpenSandboxAccount", changes_state=True),
        Rpc("SandboxService", "PostSandboxStopOrder", changes_state=True),
        Rpc("SandboxService", "GetSandboxStopOrders"),
        Rpc("SandboxService", "CancelSandboxStopOrder", changes_state=True),
    )
}


def limiter() -> RateLimiter:
    return RateLimiter(LIMITS, Window(50, 60.0), overall=OVERALL_LIMIT)
