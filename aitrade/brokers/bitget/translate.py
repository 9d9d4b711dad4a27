"""Bitget v2 wire JSON <-> AiTrade domain types. Pure functions, no I/O.

Facts (reference/broker_apis.md A5-A8): every number is a string and optional
fields may be ``""`` or ``null``; spot statuses spell ``cancelled``, futures
``canceled``; futures detail has ``state`` where lists have ``status``; a spot
order's ``feeDetail`` may be a JSON-encoded string or an object; spot market
buys are sized in the quote coin, so the filled base quantity is ``baseVolume``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from aitrade.brokers.base import InstrumentRules, Order, OrderStatus, OrderType, Side
from aitrade.errors import VenueProtocolError

E = TypeVar("E", bound=Enum)

STATUS = {
    "live": OrderStatus.NEW,
    "new": OrderStatus.NEW,
    "init": OrderStatus.NEW,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "partial_fill": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "full_fill": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
}


def dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    """A wire number (string) as Decimal; ``""``/``null``/garbage -> ``default``."""
    if value is None or value == "":
        return default
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return default


def _power(places: Any) -> Decimal:
    return Decimal(1).scaleb(-int(places or 0))


def rules_from_contract(c: dict[str, Any]) -> InstrumentRules:
    """USDT-M futures contract -> rules: tick = priceEndStep x 10^-pricePlace, step = sizeMultiplier."""
    tick = Decimal(str(c.get("priceEndStep") or "1")) * _power(c.get("pricePlace"))
    step = dec(c.get("sizeMultiplier")) or _power(c.get("volumePlace"))
    return InstrumentRules(
        symbol=c["symbol"],
        tick=tick,
        step=step,
        min_qty=dec(c.get("minTradeNum"), step) or step,
        min_notional=dec(c.get("minTradeUSDT"), Decimal(0)) or Decimal(0),
        currency=c.get("quoteCoin", "USDT"),
        shortable=True,
    )


def rules_from_symbol(s: dict[str, Any]) -> InstrumentRules:
    """Spot symbol -> rules: tick 10^-pricePrecision, step 10^-quantityPrecision, long only."""
    step = _power(s.get("quantityPrecision"))
    return InstrumentRules(
        symbol=s["symbol"],
        tick=_power(s.get("pricePrecision")),
        step=step,
        min_qty=max(step, dec(s.get("minTradeAmount"), Decimal(0)) or Decimal(0)),
        min_notional=dec(s.get("minTradeUSDT"), Decimal(0)) or Decimal(0),
        currency=s.get("quoteCoin", "USDT"),
        shortable=False,
    )


def fee_detail(raw: Any) -> tuple[Decimal, str]:
    """Total fee (positive) and its coin from a spot ``feeDetail`` (string or object)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            return Decimal(0), ""
    if not isinstance(raw, dict):
        return Decimal(0), ""
    for key, value in raw.items():
        if key != "newFees" and isinstance(value, dict) and "totalFee" in value:
            return abs(dec(value.get("totalFee"), Decimal(0)) or Decimal(0)), str(value.get("feeCoinCode") or key)
    new = raw.get("newFees")
    if isinstance(new, dict):
        return abs(dec(new.get("t"), Decimal(0)) or Decimal(0)), ""
    return Decimal(0), ""


def _time(ms: Any) -> datetime | None:
    value = dec(ms)
    return None if value is None else datetime.fromtimestamp(float(value) / 1000, tz=UTC)


def wire_enum(kind: type[E], value: Any, field: str) -> E:
    """A wire string as one of our enums; an unknown value is a protocol error, never a guess."""
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise VenueProtocolError(f"Bitget sent {field}={value!r}; expected one of {allowed}") from None


def order_from_wire(o: dict[str, Any], *, spot: bool) -> Order:
    """A spot orderInfo / unfilled row or a futures detail / pending row as a domain order (base quantities)."""
    raw_status = str(o.get("state") or o.get("status") or "")
    if raw_status not in STATUS:
        raise VenueProtocolError(f"Bitget sent order status {raw_status!r}; expected one of {', '.join(STATUS)}")
    status = STATUS[raw_status]
    order_type = wire_enum(OrderType, o.get("orderType"), "orderType")
    side = wire_enum(Side, o.get("side"), "side")
    filled = dec(o.get("baseVolume"), Decimal(0)) or Decimal(0)
    size = dec(o.get("size"), Decimal(0)) or Decimal(0)
    avg = dec(o.get("priceAvg"))
    if spot and order_type is OrderType.MARKET and side is Side.BUY:
        size = filled if status.final or avg is None else size / avg  # size was the quote amount
    if spot:
        fee, _ = fee_detail(o.get("feeDetail"))
    else:
        fee = abs(dec(o.get("fee"), Decimal(0)) or Decimal(0))
    return Order(
        client_id=str(o.get("clientOid") or ""),
        venue_order_id=str(o.get("orderId") or ""),
        symbol=str(o["symbol"]),
        side=side,
        order_type=order_type,
        quantity=size,
        price=dec(o.get("price")) if order_type is OrderType.LIMIT else None,
        status=status,
        filled=filled,
        avg_price=avg if avg else None,
        fee=fee,
        updated=_time(o.get("uTime") or o.get("cTime")),
    )


def spot_order(o: dict[str, Any]) -> Order:
    """A spot orderInfo / unfilled / history row (a market buy's ``size`` is the quote amount)."""
    return order_from_wire(o, spot=True)


def futures_order(o: dict[str, Any]) -> Order:
    """A futures detail / pending / history row."""
    return order_from_wire(o, spot=False)
