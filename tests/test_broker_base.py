"""Broker domain types: the Bitget signer against the reference vectors, normalisation, the order state machine."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitrade.brokers.base import (
    InstrumentRules,
    InvalidTransition,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from aitrade.brokers.bitget.auth import body_text, prehash, query_string, sign, signed_headers
from aitrade.errors import SkipError

VECTORS = [  # reference/broker_apis.md A2.3
    (
        "test_secret",
        "1700000000000GET/api/v2/mix/market/candles?granularity=1H&limit=100&productType=USDT-FUTURES&symbol=BTCUSDT",
        "u94qJ0Kvi6577a+i2Xwle79YMdUsy5xRQsHsznv16aU=",
    ),
    ("test_secret", "1700000000000GET/api/v2/spot/account/assets", "Jqf52RLP2UuzLYx8D9TN3deGHkRlaw84EbcGzXZebGU="),
    (
        "test_secret",
        '1700000000000POST/api/v2/mix/order/place-order{"symbol":"BTCUSDT","productType":"USDT-FUTURES",'
        '"marginMode":"crossed","marginCoin":"USDT","size":"0.001","side":"buy","orderType":"market","clientOid":"abc-123"}',
        "RnvUPZxZK4xJnxSjdl5/iwS/iuHTPafAqHHgrumvnlU=",
    ),
    ("testSecretKey", "1640001112223GET/api/endpoint?one=1", "PkrcX9sNRrsVMILrMTqXa8wm3bqLE23p6Aokx9mSIfI="),
    (
        "test_secret",
        "16273667805456GET/api/mix/v2/market/depth?limit=20&symbol=BTCUSDT",
        "uNJ4l9BxA08kSximkm5p3LG3pXAf//kmEkDVe6Y1lbE=",
    ),
]


@pytest.mark.parametrize(("secret", "message", "expected"), VECTORS)
def test_signer_matches_the_reference_vectors(secret: str, message: str, expected: str) -> None:
    assert sign(secret, message) == expected


def test_prehash_query_and_body_are_built_as_signed() -> None:
    q = query_string({"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "limit": 100, "granularity": "1H"})
    assert prehash(1700000000000, "get", "/api/v2/mix/market/candles", q) == VECTORS[0][1]
    body = body_text(
        {
            "symbol": "BTCUSDT",
            "productType": "USDT-FUTURES",
            "marginMode": "crossed",
            "marginCoin": "USDT",
            "size": "0.001",
            "side": "buy",
            "orderType": "market",
            "clientOid": "abc-123",
        }
    )
    assert prehash(1700000000000, "POST", "/api/v2/mix/order/place-order", "", body) == VECTORS[2][1]
    h = signed_headers("k", "test_secret", "p", 1700000000000, "GET", "/api/v2/spot/account/assets", demo=True)
    assert h["ACCESS-SIGN"] == VECTORS[1][2] and h["ACCESS-TIMESTAMP"] == "1700000000000" and h["paptrading"] == "1"
    assert "paptrading" not in signed_headers("k", "s", "p", 1, "GET", "/x")


RULES = InstrumentRules(
    "SBER",
    tick=Decimal("0.01"),
    step=Decimal("10"),
    min_qty=Decimal("10"),
    min_notional=Decimal("0"),
    currency="RUB",
    shortable=True,
    lot=10,
)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=6)
ticks = st.sampled_from([Decimal("0.01"), Decimal("0.5"), Decimal("0.0005"), Decimal("1")])
steps = st.sampled_from([Decimal("0.001"), Decimal("1"), Decimal("10"), Decimal("0.0001")])


@given(prices, ticks, steps, st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e6"), places=4))
def test_normalisation_lands_on_the_grid_on_the_safe_side(price: Decimal, tick: Decimal, step: Decimal, qty: Decimal):
    r = InstrumentRules("X", tick, step, Decimal(0), Decimal(0), "USDT", True)
    buy, sell = r.price(price, Side.BUY), r.price(price, Side.SELL)
    assert buy <= price <= sell and buy % tick == 0 and sell % tick == 0 and sell - buy <= tick
    q = r.quantity(qty)
    assert q <= qty < q + step and q % step == 0


def test_below_minimum_is_rejected_before_sending() -> None:
    with pytest.raises(SkipError, match="below the minimum 10"):
        OrderRequest("SBER", Side.BUY, Decimal("9"), "at-1").normalized(RULES)
    btc = InstrumentRules("BTCUSDT", Decimal("0.1"), Decimal("0.0001"), Decimal("0.0001"), Decimal("5"), "USDT", False)
    with pytest.raises(SkipError, match="notional"):
        OrderRequest("BTCUSDT", Side.BUY, Decimal("0.0001"), "at-2", OrderType.LIMIT, Decimal("40000")).normalized(btc)
    ok = OrderRequest(
        "BTCUSDT", Side.SELL, Decimal("0.00123"), "at-3", OrderType.LIMIT, Decimal("40000.04")
    ).normalized(btc)
    assert ok.quantity == Decimal("0.0012") and ok.price == Decimal("40000.1")


def test_order_request_validation() -> None:
    with pytest.raises(ValueError, match="client id"):
        OrderRequest("X", Side.BUY, Decimal(1), "")
    with pytest.raises(ValueError, match="limit order needs a price"):
        OrderRequest("X", Side.BUY, Decimal(1), "at-1", OrderType.LIMIT)


def test_order_status_state_machine() -> None:
    o = Order("at-1", "v1", "X", Side.BUY, OrderType.LIMIT, Decimal(2), Decimal(10), OrderStatus.PENDING)
    o = o.advance(OrderStatus.NEW).advance(OrderStatus.PARTIALLY_FILLED, filled=Decimal(1))
    o = o.advance(OrderStatus.FILLED, filled=Decimal(2))
    assert o.status.final and o.filled == 2 and o.ours
    with pytest.raises(InvalidTransition, match="filled -> cancelled"):
        o.advance(OrderStatus.CANCELLED)
    u = Order("x-1", "", "X", Side.SELL, OrderType.MARKET, Decimal(1), None, OrderStatus.UNKNOWN)
    assert u.advance(OrderStatus.FILLED).status is OrderStatus.FILLED and not u.ours
    with pytest.raises(InvalidTransition):
        u.advance(OrderStatus.PENDING)
