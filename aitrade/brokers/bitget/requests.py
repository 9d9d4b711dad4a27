"""Typed Bitget v2 request bodies: frozen dataclasses checked against the documented contract, then wire dicts.

A builder refuses, before anything is sent, a combination the place-order
pages forbid or that would not mean what AiTrade intends: a market order with
a price, a limit without one, a price off the tick, a size off the step or
below the minimum, ``reduceOnly`` on spot, a clientOid over 50 characters.
Every number goes on the wire as a plain decimal string (Bitget reads numbers
as strings). The error is :class:`InvalidRequest` (a halt: AiTrade built it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from aitrade.brokers.base import InstrumentRules, OrderType, Side
from aitrade.brokers.bitget.endpoints import MARGIN_COIN, PRODUCT
from aitrade.errors import InvalidRequest

MARKETS = ("futures", "spot")
MARGIN_MODES = ("crossed", "isolated")
PLAN_TYPES = ("loss_plan", "profit_plan")
_CLIENT_OID = re.compile(r"^[A-Za-z0-9_\-]{1,50}$")


def num(value: Decimal) -> str:
    """A decimal as Bitget reads it: plain notation, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def _check_oid(client_oid: str) -> None:
    if not _CLIENT_OID.match(client_oid):
        raise InvalidRequest(f"Bitget clientOid {client_oid!r}: at most 50 letters, digits, '-' or '_'")


def _on_tick(rules: InstrumentRules, price: Decimal, what: str) -> None:
    if not rules.on_tick(price):
        raise InvalidRequest(f"{what}: price {price} is not a positive multiple of the tick {rules.tick}")


def _on_step(rules: InstrumentRules, size: Decimal, what: str) -> None:
    if size <= 0 or size % rules.step != 0 or size < rules.min_qty:
        raise InvalidRequest(f"{what}: size {size} is not a multiple of the step {rules.step} at least {rules.min_qty}")


@dataclass(frozen=True)
class PlaceOrder:
    """``spot/trade/place-order`` or ``mix/order/place-order`` (one-way position mode).

    ``size`` is the base quantity, except a spot market buy (``quote_sized``):
    the place-order page sizes it in the quote coin.
    """

    market: str
    rules: InstrumentRules
    side: Side
    order_type: OrderType
    size: Decimal
    client_oid: str
    price: Decimal | None = None
    reduce_only: bool = False
    margin_mode: str = "crossed"
    quote_sized: bool = False
    request_time_ms: int | None = None  # spot: with receive_window_ms, a send the venue refuses when late
    receive_window_ms: int | None = None

    def __post_init__(self) -> None:
        what = f"Bitget {self.market} {self.side.value} {self.rules.symbol}"
        if self.market not in MARKETS:
            raise InvalidRequest(f"{what}: unknown market; allowed: {', '.join(MARKETS)}")
        _check_oid(self.client_oid)
        if self.order_type is OrderType.MARKET and self.price is not None:
            raise InvalidRequest(f"{what}: a market order takes no price")
        if self.order_type is OrderType.LIMIT:
            if self.price is None:
                raise InvalidRequest(f"{what}: a limit order needs a price")
            _on_tick(self.rules, self.price, what)
        if self.quote_sized:
            if not (self.market == "spot" and self.order_type is OrderType.MARKET and self.side is Side.BUY):
                raise InvalidRequest(f"{what}: only a spot market buy is sized in the quote coin")
            if self.size <= 0:
                raise InvalidRequest(f"{what}: quote size {self.size} must be positive")
        else:
            _on_step(self.rules, self.size, what)
        if self.market == "spot" and self.reduce_only:
            raise InvalidRequest(f"{what}: spot has no reduceOnly (a sell of coins held is the close)")
        if self.margin_mode not in MARGIN_MODES:
            raise InvalidRequest(f"{what}: margin mode {self.margin_mode!r}; allowed: {', '.join(MARGIN_MODES)}")
        if (self.request_time_ms is None) != (self.receive_window_ms is None) or (
            self.market == "futures" and self.request_time_ms is not None
        ):
            raise InvalidRequest(f"{what}: requestTime and receiveWindow go together, on spot only")

    def wire(self) -> dict[str, str]:
        body = {
            "symbol": self.rules.symbol,
            "side": self.side.value,
            "orderType": self.order_type.value,
            "size": num(self.size),
            "clientOid": self.client_oid,
            "force": "gtc",
        }
        if self.price is not None:
            body["price"] = num(self.price)
        if self.market == "futures":
            body.update(
                productType=PRODUCT,
                marginMode=self.margin_mode,
                marginCoin=MARGIN_COIN,
                reduceOnly="YES" if self.reduce_only else "NO",
            )
        elif self.request_time_ms is not None:
            body.update(requestTime=str(self.request_time_ms), receiveWindow=str(self.receive_window_ms))
        return body


@dataclass(frozen=True)
class CancelOrder:
    """``spot/trade/cancel-order`` or ``mix/order/cancel-order`` by our clientOid."""

    market: str
    symbol: str
    client_oid: str

    def __post_init__(self) -> None:
        if self.market not in MARKETS:
            raise InvalidRequest(f"Bitget cancel: unknown market {self.market!r}")
        _check_oid(self.client_oid)

    def wire(self) -> dict[str, str]:
        body = {"symbol": self.symbol, "clientOid": self.client_oid}
        if self.market == "futures":
            body.update(productType=PRODUCT, marginCoin=MARGIN_COIN)
        return body


@dataclass(frozen=True)
class PlaceTpsl:
    """``mix/order/place-tpsl-order``: a stop-loss or take-profit plan for exactly ``size`` of a position."""

    rules: InstrumentRules
    plan_type: str
    trigger_price: Decimal
    hold_side: Side  # the position's side: buy for a long, sell for a short
    size: Decimal
    client_oid: str

    def __post_init__(self) -> None:
        what = f"Bitget {self.plan_type} {self.rules.symbol}"
        if self.plan_type not in PLAN_TYPES:
            raise InvalidRequest(f"{what}: plan type; allowed: {', '.join(PLAN_TYPES)}")
        _check_oid(self.client_oid)
        _on_tick(self.rules, self.trigger_price, what)
        _on_step(self.rules, self.size, what)

    def wire(self) -> dict[str, str]:
        return {
            "marginCoin": MARGIN_COIN,
            "productType": PRODUCT,
            "symbol": self.rules.symbol,
            "planType": self.plan_type,
            "triggerPrice": num(self.trigger_price),
            "triggerType": "mark_price",
            "holdSide": self.hold_side.value,
            "size": num(self.size),
            "clientOid": self.client_oid,
        }


@dataclass(frozen=True)
class CancelPlan:
    """``mix/order/cancel-plan-order`` of one TP/SL plan, by its orderId or our clientOid."""

    symbol: str
    plan_type: str
    order_id: str = ""
    client_oid: str = ""

    def __post_init__(self) -> None:
        if self.plan_type not in PLAN_TYPES:
            raise InvalidRequest(f"Bitget cancel plan {self.symbol}: plan type {self.plan_type!r}")
        if not (self.order_id or self.client_oid):
            raise InvalidRequest(f"Bitget cancel plan {self.symbol}: needs an orderId or a clientOid")

    def wire(self) -> dict[str, object]:
        ref = {"orderId": self.order_id} if self.order_id else {"clientOid": self.client_oid}
        return {
            "productType": PRODUCT,
            "symbol": self.symbol,
            "marginCoin": MARGIN_COIN,
            "planType": self.plan_type,
            "orderIdList": [ref],
        }
