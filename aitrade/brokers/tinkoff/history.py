"""The account's executed orders, from ``OperationsService/GetOperationsByCursor``, for a ledger rebuild.

Operations (operations.proto ``OperationItem``) carry the exchange order id as
``id`` (the maintainers added it for this link, investAPI issue 10), the
instrument uid, and the executed quantity and price, but not the request id
that tells an order of ours from the user's. Each executed buy or sell
operation's order is therefore read with ``GetOrderState`` by its exchange id;
the state carries ``orderRequestId``. An order the venue no longer returns is
counted as unresolved, never claimed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aitrade.brokers.tinkoff.translate import p3, rfc3339
from aitrade.errors import OrderNotFound

TRADES = ["OPERATION_TYPE_BUY", "OPERATION_TYPE_SELL"]
PAGE = 1000  # the largest limit GetOperationsByCursor takes


class _Caller(Protocol):
    async def _call(self, service: str, method: str, body: dict[str, Any], what: str) -> dict[str, Any]: ...

    def _account(self) -> str: ...


async def operations(broker: _Caller, *, days: int, max_pages: int = 100) -> list[dict[str, Any]]:
    """Executed buy and sell operations of the last ``days``, oldest first (paged by cursor)."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "accountId": broker._account(),
        "from": rfc3339(now - timedelta(days=days)),
        "to": rfc3339(now + timedelta(minutes=1)),
        "limit": PAGE,
        "operationTypes": TRADES,
        "state": "OPERATION_STATE_EXECUTED",
        "withoutCommissions": True,
    }
    items: list[dict[str, Any]] = []
    for _ in range(max_pages):
        answer = await broker._call("OperationsService", "GetOperationsByCursor", body, "T-Invest operations")
        items.extend(p3(answer, "items", []))
        if not p3(answer, "hasNext", False) or not p3(answer, "nextCursor", ""):
            break
        body["cursor"] = p3(answer, "nextCursor", "")
    return sorted(items, key=lambda item: str(p3(item, "date", "")))


async def executed_orders(broker: _Caller, *, days: int) -> tuple[list[dict[str, Any]], int]:
    """The order states behind the executed operations (oldest first), and how many could not be read."""
    seen: set[str] = set()
    states: list[dict[str, Any]] = []
    unresolved = 0
    for item in await operations(broker, days=days):
        exchange_id = str(p3(item, "id", ""))
        if not exchange_id or exchange_id in seen:
            continue
        seen.add(exchange_id)
        body = {"accountId": broker._account(), "orderId": exchange_id, "orderIdType": "ORDER_ID_TYPE_EXCHANGE"}
        try:
            states.append(await broker._call("OrdersService", "GetOrderState", body, f"T-Invest order {exchange_id}"))
        except OrderNotFound:
            unresolved += 1
    return states, unresolved
