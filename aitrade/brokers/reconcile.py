"""Send an order at most once: look it up by client id whenever its fate is unknown.

Shared by the venue brokers. An id recorded before (by this process, another
one, or an earlier session) is looked up, never sent blind. A send whose
outcome is unknown (timeout or 5xx after sending) or that the venue calls a
duplicate is looked up; only a confirmed "not found" is sent again, with the
same id.

Where the venue refuses a second order with the same id (Bitget futures,
T-Invest) that is enough. Where it does not (Bitget spot accepts a filled
order's clientOid again), the caller passes ``settle``: it waits until the venue
can no longer accept the earlier send (its ``requestTime + receiveWindow`` has
passed), looks again, and only then takes the right to send once more, so a
request delayed in transit can never land beside its re-send.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aitrade.brokers.base import Order, OrderAck
from aitrade.errors import DuplicateOrder, ExpiredRequest, ReconcileError

log = logging.getLogger(__name__)


def _ack(client_id: str, order: Order) -> OrderAck:
    return OrderAck(client_id, order.venue_order_id, order.status)


async def send_once(
    send: Callable[[], Awaitable[OrderAck]],
    find: Callable[[], Awaitable[Order | None]],
    *,
    client_id: str,
    known: bool,
    what: str,
    key: str,
    settle: Callable[[], Awaitable[None]] | None = None,
) -> OrderAck:
    """``send()`` the order unless ``find()`` shows it exists; ``key`` names the venue's lookup key in messages."""

    async def settled() -> Order | None:
        order = await find()
        if order is None and settle is not None:
            await settle()
            order = await find()
        return order

    if known:
        order = await settled()
        if order is not None:
            return _ack(client_id, order)
        log.warning("%s: %s was recorded before but the venue has no such order; sending it", what, client_id)
    for attempt in (1, 2, 3):
        try:
            return await send()
        except ExpiredRequest as exc:  # refused by the venue: certainly not placed
            if settle is None or attempt == 3:
                raise ReconcileError(f"{exc}; {client_id} was not placed") from exc
            await settle()
        except (ReconcileError, DuplicateOrder) as exc:
            order = await (find() if isinstance(exc, DuplicateOrder) else settled())
            if order is not None:
                log.info("%s: found by %s after %s", what, key, exc.__class__.__name__)
                return _ack(client_id, order)
            if isinstance(exc, DuplicateOrder) or attempt >= 2:
                raise ReconcileError(f"{exc}; no order {client_id} found by {key}") from exc
            log.warning("%s: %s; not found by %s, sending again with the same id", what, exc, key)
    raise AssertionError("unreachable")
