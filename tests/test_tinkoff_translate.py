"""T-Invest translation: lots vs units, request bodies, order states, visible portfolio positions."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from aitrade.brokers.base import OrderRequest, OrderStatus, OrderType, Protection, Side
from aitrade.brokers.ids import tinvest_order_id
from aitrade.brokers.tinkoff.translate import (
    account_from_portfolio,
    order_from_state,
    positions_from_portfolio,
    post_order_body,
    post_stop_body,
    rules_from_instrument,
)
from aitrade.errors import InvalidRequest, VenueProtocolError
from aitrade.money import decimal_to_quotation

SBER = rules_from_instrument(
    "SBER",
    {"lot": 10, "minPriceIncrement": {"units": "0", "nano": 10000000}, "currency": "rub", "shortEnabledFlag": True},
)
UID = "e6123145-9665-43e0-8413-cd61b8aa9b13"


def q(x: str) -> dict:
    return decimal_to_quotation(Decimal(x))


def test_rules_from_the_wire_and_from_the_cache() -> None:
    assert SBER.tick == Decimal("0.01") and SBER.step == 10 and SBER.lot == 10 and SBER.currency == "RUB"
    cached = rules_from_instrument("LKOH", {"lot": 1, "minPriceIncrement": "0.5", "currency": "RUB"})
    assert cached.tick == Decimal("0.5") and not cached.shortable


def test_post_order_body_uses_lots_quotations_and_a_uuid_key() -> None:
    req = OrderRequest("SBER", Side.BUY, Decimal("30"), "at-SBER-entry-abc", OrderType.LIMIT, Decimal("250.123"))
    body = post_order_body(req.normalized(SBER), SBER, "2000000001", UID)
    assert body["quantity"] == "3" and body["price"] == {"units": "250", "nano": 120000000}
    assert body["direction"] == "ORDER_DIRECTION_BUY" and body["orderType"] == "ORDER_TYPE_LIMIT"
    assert body["orderId"] == tinvest_order_id("at-SBER-entry-abc") and uuid.UUID(body["orderId"])
    with pytest.raises(InvalidRequest, match="whole number of lots"):
        post_order_body(OrderRequest("SBER", Side.SELL, Decimal("15"), "at-x"), SBER, "1", UID)


def test_stop_bodies() -> None:
    sl = post_stop_body(
        Protection("SBER", "stop_loss", Decimal("240.5"), Decimal("20"), "at-sl"), Side.SELL, SBER, "1", UID
    )
    assert sl["stopOrderType"] == "STOP_ORDER_TYPE_STOP_LOSS" and sl["quantity"] == "2" and "price" not in sl
    assert sl["stopPrice"] == {"units": "240", "nano": 500000000} and sl["direction"] == "STOP_ORDER_DIRECTION_SELL"
    tp = post_stop_body(
        Protection("SBER", "take_profit", Decimal("260"), Decimal("20"), "at-tp"), Side.SELL, SBER, "1", UID
    )
    assert tp["price"] == tp["stopPrice"] and tp["exchangeOrderType"] == "EXCHANGE_ORDER_TYPE_LIMIT"


def test_partial_fill_is_not_filled_and_quantities_are_units() -> None:
    state = {
        "orderId": "R123",
        "executionReportStatus": "EXECUTION_REPORT_STATUS_PARTIALLYFILL",
        "lotsRequested": "5",
        "lotsExecuted": "2",
        "executedOrderPrice": q("5010"),
        "averagePositionPrice": q("250.5"),
        "initialSecurityPrice": q("251"),
        "executedCommission": q("0.25"),
        "direction": "ORDER_DIRECTION_BUY",
        "orderType": "ORDER_TYPE_LIMIT",
        "orderRequestId": tinvest_order_id("at-1"),
        "orderDate": "2024-07-15T07:07:17.321267Z",
    }
    o = order_from_state(state, "at-1", "SBER", SBER)
    assert o.status is OrderStatus.PARTIALLY_FILLED and not o.status.final
    assert o.quantity == 50 and o.filled == 20 and o.avg_price == Decimal("250.5") and o.venue_order_id == "R123"
    assert o.updated is not None and o.updated.tzinfo is not None
    with pytest.raises(VenueProtocolError, match="SOMETHING_NEW"):  # never guessed
        order_from_state({"executionReportStatus": "SOMETHING_NEW"}, "at-2", "SBER", SBER)
    with pytest.raises(VenueProtocolError, match="direction"):  # an unknown side is not a SELL
        order_from_state(
            {"executionReportStatus": "EXECUTION_REPORT_STATUS_NEW", "direction": "SIDEWAYS"}, "at-3", "SBER", SBER
        )


def test_portfolio_positions_are_visible_and_cash_is_not_a_position() -> None:
    portfolio = {
        "totalAmountPortfolio": {"currency": "rub", **q("105000.5")},
        "totalAmountCurrencies": {"currency": "rub", **q("80000")},
        "positions": [
            {
                "figi": "BBG004730N88",
                "instrumentUid": UID,
                "ticker": "SBER",
                "instrumentType": "share",
                "quantity": q("20"),
                "quantityLots": q("2"),
                "averagePositionPrice": {"currency": "rub", **q("250")},
                "currentPrice": {"currency": "rub", **q("255.5")},
                "expectedYield": q("110"),
            },
            {"figi": "RUB000UTSTOM", "instrumentType": "currency", "quantity": q("80000")},
            {
                "figi": "BBG004731032",
                "ticker": "LKOH",
                "instrumentType": "share",
                "quantity": q("-1"),
                "averagePositionPrice": {"currency": "rub", **q("7000")},
                "currentPrice": {"currency": "rub", **q("6990")},
                "expectedYield": q("10"),
            },
        ],
    }
    pos = positions_from_portfolio(portfolio, {UID: "SBER"}, "tinkoff")
    assert [(p.symbol, p.quantity) for p in pos] == [("SBER", 20), ("LKOH", -1)]
    assert pos[0].last_price == Decimal("255.5") and pos[0].unrealized_pnl == 110 and pos[0].avg_price == 250
    acc = account_from_portfolio(portfolio, "tinkoff")
    assert (
        acc.equity == Decimal("105000.5") and acc.cash == 80000 and acc.currency == "RUB" and acc.unrealized_pnl == 120
    )


def test_request_builders_refuse_what_the_contract_forbids() -> None:
    from aitrade.brokers.tinkoff.requests import PostOrder, PostStopOrder  # noqa: PLC0415

    key = tinvest_order_id("at-1")
    ok = PostOrder(
        SBER, "1", UID, Side.SELL, OrderType.LIMIT, Decimal(20), key, Decimal("250.5"), confirm_margin_trade=True
    ).wire()
    assert ok["quantity"] == "2" and ok["confirmMarginTrade"] is True and ok["price"] == q("250.5")
    bad = [
        {"order_type": OrderType.MARKET, "price": Decimal(250)},  # a market order carries no price
        {"order_type": OrderType.LIMIT, "price": None},
        {"order_type": OrderType.LIMIT, "price": Decimal("250.005")},  # off the tick (30078)
        {"quantity": Decimal(15)},  # not whole lots
        {"key": "at-1"},  # not a UUID (30028)
        {"instrument_id": ""},
    ]
    base = {
        "rules": SBER,
        "account_id": "1",
        "instrument_id": UID,
        "side": Side.BUY,
        "order_type": OrderType.MARKET,
        "quantity": Decimal(20),
        "key": key,
    }
    for change in bad:
        with pytest.raises(InvalidRequest):
            PostOrder(**(base | change))
    with pytest.raises(InvalidRequest, match="minPriceIncrement"):
        PostStopOrder(SBER, "1", UID, "stop_loss", Side.SELL, Decimal(20), Decimal("240.001"), key)
    with pytest.raises(InvalidRequest, match="kind"):
        PostStopOrder(SBER, "1", UID, "trailing", Side.SELL, Decimal(20), Decimal("240"), key)
