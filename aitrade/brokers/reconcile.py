"""Send an order at most once: look it up by client id whenever its fate is unknown.

Shared by the venue brokers. An id sent before (maybe in an earlier session)
is looked up, never sent blind. A send whose outcome is unknown (timeout or
5xx after sending) or that the venue calls a duplicate is looked up; only a
confirmed "not found" is sent again, with the same id, so the venue itself
refuses a second order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aitrade.brokers.base import Order, OrderAck
from aitrade.errors import DuplicateOrder, ReconcileError

log = logging.getLogger(__name__)


async def send_once(
    send: Callable[[], Awaitable[OrderAck]],
    find: Callable[[], Awaitable[Order | None]],
    *,
    client_id: str,
    known: bool,
    what: str,
    key: str,
) -> OrderAck:
    """``send()`` the order unless ``find()`` shows it exists; ``key`` names the venue's lookup key in messages."""
    if known:
        order = await find()
        if order is not None:
            return OrderAck(client_id, order.venue_order_id, order.status)
    for attempt in (1, 2):
        try:
            return await send()
        except (ReconcileError, DuplicateOrder) as exc:
            order = await find()
            if order is not None:
                log.info("%s: found by %s after %s", what, key, exc.__class__.__name__)
                return OrderAck(client_id, order.venue_order_id, order.status)
            if isinstance(exc, DuplicateOrder) or attempt == 2:
                raise ReconcileError(f"{exc}; no order {client_id} found by {key}") from exc
            log.warning("%s: %s; not found by %s, sending again with the same id", what, exc, key)
    raise AssertionError("unreachable")
