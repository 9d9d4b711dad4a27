"""The simulated broker: fills through the cost model, idempotency, persistence, protections, close-all."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from aitrade.brokers.base import Broker, OrderRequest, OrderStatus, OrderType, Protection, Side
from aitrade.brokers.simulated import SimulatedBroker
from aitrade.costs import CostModel
from aitrade.errors import SkipError

COSTS = CostModel(fee_rate=0.001, slippage=0.001, tick=0.01, lot=0.001, min_qty=0.001)


class Prices:
    def __init__(self) -> None:
        self.now = {"BTCUSDT": Decimal("100")}

    async def __call__(self, symbol: str) -> Decimal:
        return self.now[symbol]


async def broker(tmp_path: Path, prices: Prices, **kw) -> SimulatedBroker:
    b = SimulatedBroker("bitget_sim", tmp_path / "sim.json", prices, COSTS, **kw)
    await b.connect()
    return b


async def test_market_fill_with_fees_and_slippage(tmp_path: Path) -> None:
    prices = Prices()
    b = await broker(tmp_path, prices)
    assert isinstance(b, Broker)
    ack = await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("2"), "at-e1"))
    assert ack.status is OrderStatus.FILLED
    o = await b.get_order("BTCUSDT", "at-e1")
    assert (
        o is not None
        and o.avg_price == Decimal("100.1")
        and o.fee == Decimal("2") * Decimal("100.1") * Decimal("0.001")
    )
    prices.now["BTCUSDT"] = Decimal("110")
    acc = await b.account()
    assert acc.equity == Decimal(1000) - o.fee + (Decimal("110") - Decimal("100.1")) * 2


async def test_same_client_id_never_makes_a_second_order(tmp_path: Path) -> None:
    b = await broker(tmp_path, Prices())
    req = OrderRequest("BTCUSDT", Side.BUY, Decimal("1"), "at-dup")
    first, again = await b.place_order(req), await b.place_order(req)
    assert first == again
    assert (await b.positions())[0].quantity == Decimal("1")


async def test_limit_rests_fills_on_a_bar_and_cancels(tmp_path: Path) -> None:
    b = await broker(tmp_path, Prices())
    await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("1"), "at-l1", OrderType.LIMIT, Decimal("95.005")))
    assert [o.client_id for o in await b.open_orders()] == ["at-l1"]
    assert (await b.get_order("BTCUSDT", "at-l1")).price == Decimal("95.00")  # buy limit rounded down to the tick
    assert await b.on_bar("BTCUSDT", Decimal("99"), Decimal("96"), Decimal("97")) == []
    assert await b.on_bar("BTCUSDT", Decimal("97"), Decimal("94"), Decimal("95.5")) == ["at-l1"]
    await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("1"), "at-l2", OrderType.LIMIT, Decimal("50")))
    await b.cancel_order("BTCUSDT", "at-l2")
    assert (await b.get_order("BTCUSDT", "at-l2")).status is OrderStatus.CANCELLED
    assert await b.open_orders() == []


async def test_partial_reduce_keeps_the_average_and_state_survives_a_restart(tmp_path: Path) -> None:
    prices = Prices()
    b = await broker(tmp_path, prices)
    await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("2"), "at-a"))
    prices.now["BTCUSDT"] = Decimal("120")
    await b.place_order(OrderRequest("BTCUSDT", Side.SELL, Decimal("0.5"), "at-b"))
    pos = (await b.positions())[0]
    assert pos.quantity == Decimal("1.5") and pos.avg_price == Decimal("100.1")
    await b.close()  # a restart: the old process lets go of the paper account
    again = await broker(tmp_path, prices)
    assert (await again.positions())[0] == pos
    assert (await again.get_order("BTCUSDT", "at-b")).status is OrderStatus.FILLED


async def test_emulated_protections_fire_stop_first(tmp_path: Path) -> None:
    b = await broker(tmp_path, Prices())
    await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("1"), "at-e"))
    await b.place_protection(Protection("BTCUSDT", "stop_loss", Decimal("95"), Decimal("1"), "at-sl"))
    await b.place_protection(Protection("BTCUSDT", "take_profit", Decimal("110"), Decimal("1"), "at-tp"))
    assert len(await b.protections()) == 2
    fired = await b.on_bar("BTCUSDT", Decimal("111"), Decimal("94"), Decimal("100"))
    assert fired == ["at-sl"] and await b.positions() == []
    # 95 less 0.1% slippage is 94.905, rounded to the 0.01 tick against us (as the backtest's exits are)
    assert (await b.get_order("BTCUSDT", "at-sl")).avg_price == Decimal("94.90")


async def test_close_position_and_shorting_rules(tmp_path: Path) -> None:
    prices = Prices()
    b = await broker(tmp_path, prices, shorting=False)
    with pytest.raises(SkipError, match="cannot be sold short"):
        await b.place_order(OrderRequest("BTCUSDT", Side.SELL, Decimal("1"), "at-s"))
    await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("1.5"), "at-e"))
    await b.place_protection(Protection("BTCUSDT", "stop_loss", Decimal("90"), Decimal("1.5"), "at-sl"))
    ack = await b.close_position("BTCUSDT", "at-close")
    assert ack is not None and ack.status is OrderStatus.FILLED
    assert await b.positions() == [] and await b.protections() == []
    assert await b.close_position("BTCUSDT", "at-close2") is None
    with pytest.raises(SkipError, match="below the minimum"):
        await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("0.0001"), "at-tiny"))


async def test_short_round_trip_accounts_cash(tmp_path: Path) -> None:
    prices = Prices()
    b = await broker(tmp_path, prices)
    await b.place_order(OrderRequest("BTCUSDT", Side.SELL, Decimal("1"), "at-s1"))
    prices.now["BTCUSDT"] = Decimal("90")
    mid = await b.account()
    await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("1"), "at-s2"))
    end = await b.account()
    entry, exit_ = Decimal("100") * Decimal("0.999"), Decimal("90") * Decimal("1.001")
    fees = (entry + exit_) * Decimal("0.001")
    assert end.equity == Decimal(1000) + (entry - exit_) - fees
    assert mid.equity == Decimal(1000) + (entry - Decimal("90")) - entry * Decimal("0.001")


async def test_a_json_paper_account_is_imported_once_and_saves_do_not_grow_with_history(tmp_path: Path) -> None:
    legacy = tmp_path / "sim.json"
    legacy.write_text(
        '{"cash": "900", "currency": "USDT", "seq": 3, "positions": {"BTCUSDT": {"qty": "1", '
        '"avg": "100"}}, "orders": {}, "protections": {}, "fills": []}'
    )
    b = await broker(tmp_path, Prices())
    assert (await b.positions())[0].quantity == Decimal("1") and (await b.account()).cash == Decimal("900")
    assert not legacy.exists() and (tmp_path / "sim.json.imported").exists()
    for i in range(30):
        await b.place_order(OrderRequest("BTCUSDT", Side.BUY, Decimal("0.01"), f"at-h{i}"))
    before = b.store._db.total_changes  # type: ignore[union-attr]
    await b.place_order(OrderRequest("BTCUSDT", Side.SELL, Decimal("0.01"), "at-last"))
    written = b.store._db.total_changes - before  # type: ignore[union-attr]
    assert written <= 12  # the new order, its position, its fill and the scalars: not the 31 orders before it
    await b.close()
    again = await broker(tmp_path, Prices())
    assert (await again.get_order("BTCUSDT", "at-h7")).status is OrderStatus.FILLED
    assert (await again.positions())[0].quantity == Decimal("1.29")
