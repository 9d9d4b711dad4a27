"""A paper-to-live sequence on each venue's strict fake: the ledger books the venue's own prices and quantities.

Limit entry that fills later, market add, a native stop where the venue holds one, a market order whose
answer is lost (found by lookup), an order that fills in two parts learned only by looking it up, then
close-all: nothing of ours is left at the venue and the user's own holding is untouched. Every request
passes the fakes' document checks (a refused request fails the test at teardown).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from aitrade.brokers.base import CLIENT_ID_PREFIX, OrderRequest, OrderStatus, OrderType, Protection, Side
from aitrade.brokers.ids import tinvest_order_id
from tests.test_broker_contract import _OPEN, Harness, _cleanup, _harness, cid, held  # noqa: F401 (the fixture)

D = Decimal


def _venue_fills(h: Harness, cids: list[str]) -> tuple[Decimal, Decimal]:
    """Quantity and volume-weighted price of our orders' fills, read from the venue's own records."""
    qty = total = D(0)
    if h.kind == "tinkoff":
        keys = {tinvest_order_id(c) for c in cids}
        for (_, key), o in h.venue.orders.items():
            if key in keys:
                shares = D(o["lotsExecuted"] * o["lot"])
                qty, total = qty + shares, total + shares * o["avg"]
        return qty, total / qty
    rows = h.venue.spot_orders if h.kind == "bitget-spot" else list(h.venue.orders.values())
    for o in rows:
        if o["clientOid"] in cids:
            filled = D(o["baseVolume"])
            qty, total = qty + filled, total + filled * D(o["priceAvg"] or 0)
    return qty, total / qty


@pytest.mark.parametrize("kind", ["bitget-spot", "bitget-futures", "tinkoff", "tinkoff-printed"])
async def test_sequence_books_the_venues_prices_and_close_all_leaves_nothing_of_ours(tmp_path: Path, kind: str) -> None:
    h = await _harness(kind, tmp_path)
    broker, sym, q = h.broker, h.symbol, h.qty
    foreign = D("0.3") if kind == "bitget-spot" else D(0)
    if foreign:
        h.hold_foreign(foreign)  # the user's own coins in the same symbol: never ours, never sold
    tick = D("0.1") if kind.startswith("bitget") else D("0.01")

    # 1. a limit below the market rests, then fills when the price trades through it
    limit = (h.price * D("0.98")).quantize(tick)
    await broker.place_order(OrderRequest(sym, Side.BUY, q, cid("lim"), OrderType.LIMIT, limit))
    assert (await broker.get_order(sym, cid("lim"))).status is OrderStatus.NEW
    await h.set_price(limit - tick)
    assert (await broker.get_order(sym, cid("lim"))).avg_price == limit
    await h.set_price(h.price + 10 * tick)

    # 2. a market add at the market
    await broker.place_order(OrderRequest(sym, Side.BUY, q, cid("mkt")))

    # 3. a market order whose answer is lost: looked up, never sent twice
    h.venue.faults.add("after", path=h.place_path())
    before = h.placed()
    await broker.place_order(OrderRequest(sym, Side.BUY, q, cid("lost")))
    assert h.placed() == before + 1

    # 4. an order that fills in two parts, the second learned only by looking it up
    h.venue.faults.add("partial", path=sym)
    await broker.place_order(OrderRequest(sym, Side.BUY, q, cid("part")))
    h.venue.complete(cid("part"))
    assert (await broker.get_order(sym, cid("part"))).status is OrderStatus.FILLED

    mine = [cid(n) for n in ("lim", "mkt", "lost", "part")]
    qty, vwap = _venue_fills(h, mine)
    position = next(p for p in await broker.positions() if p.symbol == sym)
    assert position.quantity == h.venue_qty() - foreign  # exactly what our fills left at the venue
    if kind != "bitget-spot":  # (spot: the fee is taken in the coin, so we hold a little less than filled)
        assert position.quantity == qty
    assert position.avg_price == vwap  # the venue's own fill prices, weighted by the venue's own quantities

    # 5. a native stop where the venue holds one
    if broker.capabilities.native_protections:
        stop = await broker.place_protection(
            Protection(sym, "stop_loss", h.price * D("0.9"), position.quantity, cid("sl"))
        )
        assert any(p.client_id == stop.client_id for p in await broker.protections(sym))

    # 6. close-all: cancel our resting orders, close our position; the user's holding stays
    await broker.place_order(
        OrderRequest(sym, Side.BUY, q, cid("rest"), OrderType.LIMIT, (h.price * D("0.5")).quantize(tick))
    )
    for order in await broker.open_orders(sym):
        if order.client_id.startswith(CLIENT_ID_PREFIX):
            await broker.cancel_order(sym, order.client_id)
    await broker.close_position(sym, cid("close"))
    assert held(await broker.positions(), sym) == 0
    assert h.venue_qty() == foreign or (kind == "bitget-spot" and h.venue_qty() - foreign < D("0.001"))
    assert not [o for o in await broker.open_orders(sym) if o.client_id.startswith(CLIENT_ID_PREFIX)]
    assert not [p for p in await broker.protections(sym) if p.client_id.startswith(CLIENT_ID_PREFIX)]
