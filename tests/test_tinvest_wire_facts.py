"""T-Invest readings as the official contract defines them (orders.proto, operations.proto, instruments).

Facts written from ``RussianInvestments/investAPI`` (``src/docs/contracts``) and
answers quoted in its issue tracker, not from our fake:

* ``OrderState.executed_order_price`` is the executed total (average price times
  lots); ``OrderState.average_position_price`` the average per instrument;
  ``PostOrderResponse.executed_order_price`` the average per instrument.
* investAPI issue 322, a real ``OrderState``: 30 lots executed,
  ``executed_order_price`` 421232, ``average_position_price`` 14041.07.
* investAPI issue 372: PostOrder may answer an executed price of 0.
* proto3 JSON: a field at its default (false, 0, "", [], ``_UNSPECIFIED``) may be omitted.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from aitrade.brokers.base import InstrumentRules, OrderStatus
from aitrade.brokers.tinkoff.translate import fill_price, operation_price, order_from_state, rules_from_instrument
from aitrade.errors import VenueProtocolError
from aitrade.money import decimal_to_quotation

D = Decimal


def money(x: str) -> dict:
    return {"currency": "rub", **decimal_to_quotation(D(x))}


LOT1 = rules_from_instrument("X", {"lot": 1, "minPriceIncrement": "0.01", "currency": "RUB"})
LOT10 = rules_from_instrument("SBER", {"lot": 10, "minPriceIncrement": "0.01", "currency": "RUB"})


def test_issue_322_order_state_books_the_average_not_the_total() -> None:
    state = {
        "orderId": "R1",
        "executionReportStatus": "EXECUTION_REPORT_STATUS_FILL",
        "lotsRequested": "30",
        "lotsExecuted": "30",
        "executedOrderPrice": money("421232"),
        "averagePositionPrice": money("14041.07"),
        "direction": "ORDER_DIRECTION_BUY",
        "orderType": "ORDER_TYPE_MARKET",
    }
    order = order_from_state(state, "at-1", "X", LOT1)
    assert order.avg_price == D("14041.07") and order.filled == 30 and order.status is OrderStatus.FILLED


def test_a_20_share_fill_at_250_is_booked_at_250() -> None:
    """The issue's example: 2 lots of 10 at 250; the total 5000 is never a price."""
    state = {
        "executionReportStatus": "EXECUTION_REPORT_STATUS_FILL",
        "lotsRequested": "2",
        "lotsExecuted": "2",
        "executedOrderPrice": money("5000"),
        "averagePositionPrice": money("250"),
        "direction": "ORDER_DIRECTION_BUY",
    }
    assert order_from_state(state, "at-1", "SBER", LOT10).avg_price == 250


def test_order_state_price_from_stages_then_one_share_lots_then_unknown() -> None:
    base = {
        "executionReportStatus": "EXECUTION_REPORT_STATUS_FILL",
        "lotsRequested": "3",
        "lotsExecuted": "3",
        "direction": "ORDER_DIRECTION_SELL",
        "executedOrderPrice": money("7530"),
    }
    staged = {
        **base,
        "stages": [
            {"price": money("250"), "quantity": "1", "tradeId": "a"},
            {"price": money("251"), "quantity": "2", "tradeId": "b"},
        ],
    }
    assert fill_price(staged, LOT10, source="state") == (D(250) + 2 * D(251)) / 3
    assert fill_price(base, LOT1, source="state") == D(2510)  # lot 1: total / lots is the average either way
    assert fill_price(base, LOT10, source="state") is None  # lot 10: the total alone is not a price
    partial_stages = {**base, "stages": [{"price": money("250"), "quantity": "1"}]}
    assert fill_price(partial_stages, LOT10, source="state") is None  # stages that do not cover the fill


def test_post_order_response_average_and_its_zero() -> None:
    post = {
        "executionReportStatus": "EXECUTION_REPORT_STATUS_FILL",
        "lotsRequested": "2",
        "lotsExecuted": "2",
        "executedOrderPrice": money("250.5"),
        "direction": "ORDER_DIRECTION_BUY",
    }
    assert order_from_state(post, "at-1", "SBER", LOT10, source="post").avg_price == D("250.5")
    zero = {**post, "executedOrderPrice": money("0")}
    assert order_from_state(zero, "at-1", "SBER", LOT10, source="post").avg_price is None  # issue 372: never 0
    assert order_from_state({**post, "executedOrderPrice": {}}, "at", "SBER", LOT10, source="post").avg_price is None


def test_proto3_omitted_defaults_read_as_defaults() -> None:
    # a new order as grpc-gateway prints it: lotsExecuted "0", zero money and empty stages left out
    new = {
        "orderId": "R9",
        "executionReportStatus": "EXECUTION_REPORT_STATUS_NEW",
        "lotsRequested": "2",
        "direction": "ORDER_DIRECTION_BUY",
        "orderType": "ORDER_TYPE_LIMIT",
        "initialSecurityPrice": money("249"),
    }
    order = order_from_state(new, "at-1", "SBER", LOT10)
    assert order.filled == 0 and order.avg_price is None and order.fee == 0 and order.price == 249
    unspecified = order_from_state({"direction": "ORDER_DIRECTION_SELL"}, "at-2", "SBER", LOT10)
    assert unspecified.status is OrderStatus.UNKNOWN and unspecified.quantity == 0  # looked up, never guessed
    with pytest.raises(VenueProtocolError, match="direction"):
        order_from_state({"executionReportStatus": "EXECUTION_REPORT_STATUS_NEW"}, "at-3", "SBER", LOT10)
    assert not rules_from_instrument("X", {"lot": 1, "minPriceIncrement": "0.1"}).shortable  # absent flag: false


def test_operation_price_is_per_share_and_must_cover_the_fill() -> None:
    item = {
        "id": "R1",
        "type": "OPERATION_TYPE_BUY",
        "state": "OPERATION_STATE_EXECUTED",
        "quantity": "20",
        "quantityDone": "20",
        "price": money("250"),
        "tradesInfo": {
            "trades": [
                {"num": "1", "quantity": "10", "price": money("249")},
                {"num": "2", "quantity": "10", "price": money("251")},
            ]
        },
    }
    assert operation_price(item, D(20)) == 250
    assert operation_price(item, D(30)) is None
    assert operation_price({"quantityDone": "20", "price": money("250")}, D(20)) == 250
    assert operation_price({"quantityDone": "20"}, D(20)) is None  # no price: unknown, never 0


def test_rules_need_a_price_increment() -> None:
    with pytest.raises(ValueError, match="price increment"):
        rules_from_instrument("X", {"lot": 1})
    assert isinstance(LOT10, InstrumentRules) and LOT10.lot == 10
