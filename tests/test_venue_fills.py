"""Fills booked at the venue's own prices and quantities, on the strict loopback fakes.

T-Invest: PostOrder may answer an executed price of 0 and OrderState carries a
total, not a price; the position's average must still be the venue's fill
price. Bitget spot: a filled order is invisible to a clientOid lookup, so it is
found by the orderId kept from the ack, and close-all sells what was bought.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from aitrade.brokers.base import OrderRequest, OrderStatus, OrderType, Protection, Side
from aitrade.errors import SkipError
from tests.test_broker_contract import _OPEN, _cleanup, _harness, cid, held  # noqa: F401 (the fixture)

D = Decimal


def _avg(positions: list, symbol: str) -> Decimal:
    return next(p.avg_price for p in positions if p.symbol == symbol)


@pytest.mark.parametrize("encoding", ["tinkoff", "tinkoff-printed"])
async def test_tinvest_market_then_limit_books_per_share_averages(tmp_path: Path, encoding: str) -> None:
    """20 shares at 250, then a limit for 20 at 245 that fills later: the position averages 247.50, not 2575."""
    h = await _harness(encoding, tmp_path)
    await h.broker.place_order(OrderRequest("SBER", Side.BUY, D(20), cid("m")))
    assert _avg(await h.broker.positions(), "SBER") == D(250)
    await h.broker.place_order(OrderRequest("SBER", Side.BUY, D(20), cid("l"), OrderType.LIMIT, D(245)))
    h.venue.set_price("SBER", D("244.50"))
    order = await h.broker.get_order("SBER", cid("l"))
    assert order.status is OrderStatus.FILLED and order.avg_price == D(245)
    positions = await h.broker.positions()
    assert held(positions, "SBER") == 40 and _avg(positions, "SBER") == D("247.50")


@pytest.mark.parametrize("hide_average", [False, True])
async def test_tinvest_zero_post_price_is_looked_up_never_booked(tmp_path: Path, hide_average: bool) -> None:
    h = await _harness("tinkoff", tmp_path)
    h.venue.post_price_zero = True  # investAPI issue 372
    h.venue.state_without_average = hide_average  # then only the operations know the price
    before = len(h.venue.requests)  # (connect read the operations once already, for the ledger rebuild)
    await h.broker.place_order(OrderRequest("SBER", Side.BUY, D(20), cid("z")))
    assert _avg(await h.broker.positions(), "SBER") == D(250)
    looked = [r["method"] for r in h.venue.requests[before:]]
    assert "GetOrderState" in looked
    assert ("GetOperationsByCursor" in looked) is hide_average


async def test_tinvest_fill_without_any_price_stays_pending(tmp_path: Path) -> None:
    h = await _harness("tinkoff", tmp_path)
    h.venue.post_price_zero = h.venue.state_without_average = True
    h.venue.operations_hidden = True
    await h.broker.place_order(OrderRequest("SBER", Side.BUY, D(20), cid("p")))
    assert held(await h.broker.positions(), "SBER") == 0  # not booked at 0 ...
    assert h.broker.inventory.pending() == {cid("p"): "SBER"}  # ... and not forgotten
    h.venue.operations_hidden = False
    assert held(await h.broker.positions(), "SBER") == 20 and _avg(await h.broker.positions(), "SBER") == D(250)


async def test_bitget_spot_fill_found_by_order_id_and_sold_by_close_all(tmp_path: Path) -> None:
    h = await _harness("bitget-spot", tmp_path)
    ack = await h.broker.place_order(OrderRequest("BTCUSDT", Side.BUY, D("0.5"), cid("s")))
    order = await h.broker.get_order("BTCUSDT", cid("s"))
    assert order is not None and order.status is OrderStatus.FILLED and order.filled > 0
    asked = [r for r in h.venue.requests if r["path"].endswith("/spot/trade/orderInfo")]
    assert asked and all(r["query"].get("orderId") == ack.venue_order_id for r in asked)
    assert held(await h.broker.positions(), "BTCUSDT") > 0
    await h.broker.close_position("BTCUSDT", cid("close"))
    assert held(await h.broker.positions(), "BTCUSDT") == 0
    assert h.venue.coins.get("BTC", D(0)) < D("0.0001")  # what AiTrade bought was sold, fee dust aside


async def test_bitget_spot_lost_ack_finds_the_filled_order_in_history(tmp_path: Path) -> None:
    h = await _harness("bitget-spot", tmp_path)
    h.venue.faults.add("after", path="/api/v2/spot/trade/place-order")
    await h.broker.place_order(OrderRequest("BTCUSDT", Side.BUY, D("0.5"), cid("lost")))
    assert h.placed() == 1 and held(await h.broker.positions(), "BTCUSDT") > 0
    assert h.broker.inventory.key_for(cid("lost"))  # the orderId is kept for the next lookups


@pytest.mark.parametrize("kind", ["bitget-futures", "tinkoff", "tinkoff-printed"])
async def test_a_fired_protection_is_read_at_the_venues_fill_and_cancelling_it_is_harmless(
    tmp_path: Path, kind: str
) -> None:
    """Bitget plan history ``executeOrderId`` / T-Invest ``StopOrder.exchangeOrderId``: the fill, not the trigger."""
    h = await _harness(kind, tmp_path)
    await h.broker.place_order(OrderRequest(h.symbol, Side.BUY, h.qty, cid("e")))
    trigger = h.price * D("0.95")
    placed = await h.broker.place_protection(Protection(h.symbol, "stop_loss", trigger, h.qty, cid("sl")))
    assert await h.broker.protection_fill(placed) is None  # not fired yet
    gap = h.price * D("0.90")
    h.venue.set_price(h.symbol, gap)  # gaps through the stop
    fill = await h.broker.protection_fill(placed)
    assert fill is not None and fill.status is OrderStatus.FILLED and fill.client_id == cid("sl")
    assert fill.avg_price == gap and fill.filled == h.qty and fill.avg_price != placed.trigger
    await h.broker.cancel_protection(placed)  # already fired (T-Invest answers 30060): nothing left, no error
    assert held(await h.broker.positions(), h.symbol) == 0


async def test_tinvest_lost_ledger_is_rebuilt_from_the_operations(tmp_path: Path) -> None:
    """A filled order no longer listed by GetOrders is ours again after the ledger is lost; the user's is not."""
    h = await _harness("tinkoff", tmp_path)
    await h.broker.place_order(OrderRequest("SBER", Side.BUY, D(20), cid("old")))
    h.venue.place_foreign("SBER", 3)  # the user's 30 shares, bought by hand
    h.venue.place_foreign("GAZP", 1)
    lost = h.venue.place_foreign("LKOH", 2)  # the user's too, and too old to read back
    h.venue.expired_states.add(lost["exchangeId"])
    await h.broker.close()
    for f in tmp_path.glob("owned_tinkoff.sqlite*"):
        f.unlink()  # the ownership ledger is lost
    fresh = h.make()
    await fresh.connect()
    assert "GetOperationsByCursor" in [r["method"] for r in h.venue.requests]
    positions = await fresh.positions()
    assert [(p.symbol, p.quantity) for p in positions] == [("SBER", D(20))]
    assert positions[0].avg_price == D(250)
    assert "1 executed orders no longer readable" in fresh.inventory.sync_note()
    report = await fresh.close_position("SBER", cid("close"))
    assert report is not None and h.venue.holdings["SBER"]["qty"] == 30  # the user's shares stay


@pytest.mark.parametrize("kind", ["bitget-futures", "bitget-spot", "tinkoff"])
async def test_a_refused_close_keeps_the_protection_and_reserves_nothing(tmp_path: Path, kind: str) -> None:
    """A close the venue refuses raises, leaves the stop at the venue, and the next close is not blocked."""
    h = await _harness(kind, tmp_path)
    await h.broker.place_order(OrderRequest(h.symbol, Side.BUY, h.qty, cid("e")))
    native = h.broker.capabilities.native_protections
    if native:
        await h.broker.place_protection(Protection(h.symbol, "stop_loss", h.price * D("0.9"), h.qty, cid("sl")))
    before = held(await h.broker.positions(), h.symbol)
    h.venue.faults.add("refuse", path=h.place_path())
    with pytest.raises(SkipError):
        await h.broker.close_position(h.symbol, cid("close-1"))
    assert held(await h.broker.positions(), h.symbol) == before > 0
    if native:
        assert [p.client_id for p in await h.broker.protections(h.symbol)] == [cid("sl")]  # never left bare
    assert h.broker.inventory.pending() == {}  # the refused close is finished, not "in progress"
    await h.broker.close_position(h.symbol, cid("close-2"))  # so the retry is not refused by our own ledger
    assert held(await h.broker.positions(), h.symbol) == 0
    assert not [p for p in await h.broker.protections(h.symbol) if p.client_id.startswith("at-")]
