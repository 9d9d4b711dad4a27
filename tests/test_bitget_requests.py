"""Bitget request builders refuse what the v2 place-order pages forbid, before anything is sent; and the
documents' own response examples are read right (written here as facts from the Get-Order-Info page)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aitrade.brokers.base import InstrumentRules, OrderStatus, OrderType, Side
from aitrade.brokers.bitget.requests import CancelOrder, CancelPlan, PlaceOrder, PlaceTpsl, num
from aitrade.brokers.bitget.translate import fee_detail, futures_order, spot_order
from aitrade.errors import HaltError, InvalidRequest

D = Decimal
BTC = InstrumentRules("BTCUSDT", D("0.1"), D("0.001"), D("0.001"), D(5), "USDT", True)


def test_a_valid_futures_limit_goes_on_the_wire_as_strings() -> None:
    body = PlaceOrder("futures", BTC, Side.BUY, OrderType.LIMIT, D("0.500"), "at-BTC-entry-1", D("100.0")).wire()
    assert body == {
        "symbol": "BTCUSDT",
        "side": "buy",
        "orderType": "limit",
        "size": "0.5",
        "clientOid": "at-BTC-entry-1",
        "force": "gtc",
        "price": "100",
        "productType": "USDT-FUTURES",
        "marginMode": "crossed",
        "marginCoin": "USDT",
        "reduceOnly": "NO",
    }
    assert all(isinstance(v, str) for v in body.values())
    assert num(D("1E+2")) == "100" and num(D("0.00000100")) == "0.000001"


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"order_type": OrderType.MARKET, "price": D(100)}, "market order takes no price"),
        ({"order_type": OrderType.LIMIT, "price": None}, "limit order needs a price"),
        ({"order_type": OrderType.LIMIT, "price": D("100.05")}, "tick"),
        ({"size": D("0.0005")}, "step"),
        ({"size": D("0.5005")}, "step"),
        ({"client_oid": "x" * 51}, "50"),
        ({"client_oid": "bad id"}, "50"),
        ({"market": "margin"}, "unknown market"),
        ({"margin_mode": "cross"}, "margin mode"),
        ({"quote_sized": True}, "only a spot market buy"),
        ({"request_time_ms": 1}, "requestTime and receiveWindow"),
    ],
)
def test_invalid_combinations_are_refused_before_sending(kwargs: dict, why: str) -> None:
    args = {
        "market": "futures",
        "rules": BTC,
        "side": Side.BUY,
        "order_type": OrderType.MARKET,
        "size": D("0.5"),
        "client_oid": "at-1",
    } | kwargs
    with pytest.raises(InvalidRequest, match=why):
        PlaceOrder(**args)
    assert issubclass(InvalidRequest, HaltError)  # AiTrade built it: halt, never skip and retry


def test_spot_specifics() -> None:
    buy = PlaceOrder(
        "spot",
        BTC,
        Side.BUY,
        OrderType.MARKET,
        D("50.123456"),
        "at-1",
        quote_sized=True,
        request_time_ms=1_700_000_000_000,
        receive_window_ms=5000,
    )
    assert (
        buy.wire()["size"] == "50.123456" and buy.wire()["receiveWindow"] == "5000" and "reduceOnly" not in buy.wire()
    )
    with pytest.raises(InvalidRequest, match="no reduceOnly"):
        PlaceOrder("spot", BTC, Side.SELL, OrderType.MARKET, D("0.5"), "at-2", reduce_only=True)
    assert CancelOrder("spot", "BTCUSDT", "at-2").wire() == {"symbol": "BTCUSDT", "clientOid": "at-2"}


def test_tpsl_and_plan_cancels() -> None:
    tp = PlaceTpsl(BTC, "loss_plan", D("95.0"), Side.BUY, D("0.5"), "at-sl").wire()
    assert tp["triggerPrice"] == "95" and tp["holdSide"] == "buy" and tp["triggerType"] == "mark_price"
    with pytest.raises(InvalidRequest, match="tick"):
        PlaceTpsl(BTC, "loss_plan", D("95.05"), Side.BUY, D("0.5"), "at-sl")
    with pytest.raises(InvalidRequest, match="plan type"):
        PlaceTpsl(BTC, "moving_plan", D("95"), Side.BUY, D("0.5"), "at-sl")
    with pytest.raises(InvalidRequest, match="orderId or a clientOid"):
        CancelPlan("BTCUSDT", "loss_plan")
    assert CancelPlan("BTCUSDT", "loss_plan", "123").wire()["orderIdList"] == [{"orderId": "123"}]


def test_the_get_order_info_page_example_is_read_right() -> None:
    """The page's example: a market buy of 10 USDT (size is the quote amount), 142.9015 TRX filled at 0.06998,
    status ``full_fill``, fee 0.0171 BGB deducted (a fee not in the bought coin)."""
    row = {
        "userId": "1",
        "symbol": "TRXUSDT",
        "orderId": "121211212122",
        "clientOid": "1-2-1-2-1",
        "price": "0",
        "size": "10.0000000000000000",
        "orderType": "market",
        "side": "buy",
        "status": "full_fill",
        "priceAvg": "0.0699782527055350",
        "baseVolume": "142.9015000000000000",
        "quoteVolume": "9.9999972790000000",
        "enterPointSource": "API",
        "feeDetail": '{"BGB":{"deduction":true,"feeCoinCode":"BGB","totalDeductionFee":-0.017118519726,'
        '"totalFee":-0.017118519726}}',
        "orderSource": "market",
        "cTime": "1690196141868",
        "uTime": "1690196141868",
    }
    order = spot_order(row)
    assert order.status is OrderStatus.FILLED and order.filled == D("142.9015") and order.quantity == D("142.9015")
    assert order.avg_price == D("0.0699782527055350") and order.price is None
    assert fee_detail(row["feeDetail"]) == (D("0.017118519726"), "BGB")


def test_a_futures_detail_row_reads_state_and_canceled() -> None:
    row = {
        "symbol": "BTCUSDT",
        "size": "0.5",
        "orderId": "1",
        "clientOid": "at-1",
        "baseVolume": "0.2",
        "fee": "-0.0012",
        "price": "100",
        "priceAvg": "100",
        "state": "canceled",
        "side": "buy",
        "orderType": "limit",
        "cTime": "1690196141868",
        "uTime": "1690196141869",
    }
    order = futures_order(row)
    assert order.status is OrderStatus.CANCELLED and order.filled == D("0.2") and order.fee == D("0.0012")


def test_the_fake_venues_refuse_what_the_documents_refuse() -> None:
    """The fakes are as strict as the pages and protos: a fake that accepts anything proves nothing."""
    from tests.fakes.bitget_contract import violation as bitget_violation  # noqa: PLC0415
    from tests.fakes.tinvest_contract import violation as tinvest_violation  # noqa: PLC0415

    place = {
        "symbol": "BTCUSDT",
        "productType": "USDT-FUTURES",
        "marginMode": "crossed",
        "marginCoin": "USDT",
        "size": "0.5",
        "side": "buy",
        "orderType": "market",
        "clientOid": "at-1",
        "reduceOnly": "NO",
    }
    path = "/api/v2/mix/order/place-order"
    assert bitget_violation("POST", path, place) is None
    assert bitget_violation("POST", path, {**place, "size": 0.5})[0] == "40020"  # a number, not a string
    assert bitget_violation("POST", path, {**place, "side": "long"})[0] == "40020"
    assert bitget_violation("POST", path, {**place, "reduceonly": "NO"})[0] == "40020"  # a misspelt name
    assert bitget_violation("POST", path, {**place, "orderType": "limit"})[0] == "40019"  # a limit without price
    del place["marginCoin"]
    assert bitget_violation("POST", path, place)[0] == "40019"
    assert bitget_violation("GET", "/api/v2/spot/trade/orderInfo", {})[0] == "40019"
    post = {
        "instrumentId": "uid",
        "quantity": "2",
        "direction": "ORDER_DIRECTION_BUY",
        "accountId": "1",
        "orderType": "ORDER_TYPE_LIMIT",
        "orderId": "61697472-0000-8000-8000-000000000000",
        "price": {"units": "250", "nano": 500000000},
    }
    assert tinvest_violation("OrdersService", "PostOrder", post) is None
    assert tinvest_violation("OrdersService", "PostOrder", {**post, "quantity": 2})  # int64 is a JSON string
    assert tinvest_violation("OrdersService", "PostOrder", {**post, "price": {"units": "-1", "nano": 5}})
    assert tinvest_violation("OrdersService", "PostOrder", {**post, "direction": "BUY"})
    assert tinvest_violation("OrdersService", "PostOrder", {**post, "order_id": "x"})  # an unknown field
    assert tinvest_violation("OperationsService", "GetOperationsByCursor", {"accountId": "1", "from": "2024-01-01"})
