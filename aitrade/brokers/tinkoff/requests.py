"""Typed T-Invest request messages (orders.proto, stoporders.proto), checked before they become JSON.

A builder refuses what the contract forbids or would read differently from
what AiTrade means: a quantity that is not a positive whole number of lots, a
limit without a price or a price off ``minPriceIncrement`` (30078), a market
order with a price (ignored by the venue: never send one), an idempotency key
that is not a UUID of at most 36 characters (30028/30055). int64 fields go out
as JSON strings, prices as Quotations. The error is :class:`InvalidRequest`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aitrade.brokers.base import InstrumentRules, OrderType, Side
from aitrade.errors import InvalidRequest
from aitrade.money import decimal_to_quotation

DIRECTION = {Side.BUY: "ORDER_DIRECTION_BUY", Side.SELL: "ORDER_DIRECTION_SELL"}
STOP_DIRECTION = {Side.BUY: "STOP_ORDER_DIRECTION_BUY", Side.SELL: "STOP_ORDER_DIRECTION_SELL"}
ORDER_TYPE = {OrderType.MARKET: "ORDER_TYPE_MARKET", OrderType.LIMIT: "ORDER_TYPE_LIMIT"}
STOP_TYPE = {"stop_loss": "STOP_ORDER_TYPE_STOP_LOSS", "take_profit": "STOP_ORDER_TYPE_TAKE_PROFIT"}


def lots(quantity: Decimal, rules: InstrumentRules) -> int:
    """Whole lots in a quantity of shares (the request must already be normalised to the lot)."""
    n = quantity / rules.lot
    if n != n.to_integral_value() or n <= 0:
        raise InvalidRequest(
            f"{rules.symbol}: quantity {quantity} is not a positive whole number of lots of {rules.lot}"
        )
    return int(n)


def _key(key: str, what: str) -> None:
    try:
        uuid.UUID(key)
    except ValueError:
        raise InvalidRequest(f"{what}: idempotency key {key!r} is not a UUID") from None
    if len(key) > 36:
        raise InvalidRequest(f"{what}: idempotency key {key!r} is longer than 36 characters")


def _on_tick(rules: InstrumentRules, price: Decimal, what: str) -> None:
    if not rules.on_tick(price):
        raise InvalidRequest(f"{what}: price {price} is not a positive multiple of minPriceIncrement {rules.tick}")


@dataclass(frozen=True)
class PostOrder:
    """``OrdersService/PostOrder``: ``quantity`` in shares (sent as lots), ``price`` per share for a limit."""

    rules: InstrumentRules
    account_id: str
    instrument_id: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    key: str
    price: Decimal | None = None
    confirm_margin_trade: bool = False

    def __post_init__(self) -> None:
        what = f"T-Invest {self.side.value} {self.rules.symbol}"
        if not self.account_id or not self.instrument_id:
            raise InvalidRequest(f"{what}: an order needs an account and an instrument id")
        lots(self.quantity, self.rules)
        _key(self.key, what)
        if self.order_type is OrderType.MARKET and self.price is not None:
            raise InvalidRequest(f"{what}: a market order takes no price")
        if self.order_type is OrderType.LIMIT:
            if self.price is None:
                raise InvalidRequest(f"{what}: a limit order needs a price")
            _on_tick(self.rules, self.price, what)

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "instrumentId": self.instrument_id,
            "quantity": str(lots(self.quantity, self.rules)),
            "direction": DIRECTION[self.side],
            "accountId": self.account_id,
            "orderType": ORDER_TYPE[self.order_type],
            "orderId": self.key,
        }
        if self.price is not None:
            body["price"] = decimal_to_quotation(self.price)
        if self.confirm_margin_trade:
            body["confirmMarginTrade"] = True
        return body


@dataclass(frozen=True)
class PostStopOrder:
    """``PostStopOrder``: a stop-loss (market on trigger) or a take-profit (limit at the trigger), good till
    cancelled, closing a position of ``side``'s opposite."""

    rules: InstrumentRules
    account_id: str
    instrument_id: str
    kind: str
    side: Side  # the closing direction
    quantity: Decimal
    trigger: Decimal
    key: str

    def __post_init__(self) -> None:
        what = f"T-Invest {self.kind} {self.rules.symbol}"
        if self.kind not in STOP_TYPE:
            raise InvalidRequest(f"{what}: kind; allowed: {', '.join(STOP_TYPE)}")
        lots(self.quantity, self.rules)
        _key(self.key, what)
        _on_tick(self.rules, self.trigger, what)

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "instrumentId": self.instrument_id,
            "quantity": str(lots(self.quantity, self.rules)),
            "direction": STOP_DIRECTION[self.side],
            "accountId": self.account_id,
            "expirationType": "STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL",
            "stopOrderType": STOP_TYPE[self.kind],
            "stopPrice": decimal_to_quotation(self.trigger),
            "orderId": self.key,
        }
        if self.kind == "take_profit":
            body["price"] = decimal_to_quotation(self.trigger)
            body["exchangeOrderType"] = "EXCHANGE_ORDER_TYPE_LIMIT"
        return body
