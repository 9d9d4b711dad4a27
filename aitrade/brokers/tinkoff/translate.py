"""T-Invest wire JSON <-> AiTrade domain types. Pure functions, no I/O.

Facts (reference/broker_apis.md B2, B3, B6): quantities on the wire are lots
and prices are per security; our quantities are units (``lots * lot``).
``orderId`` in a request is our idempotency key (a UUID derived from the
client id); in a response ``orderId`` is the exchange id and our key comes
back as ``orderRequestId``. A partially filled order is not filled. Cash lines
in a portfolio (instrumentType ``currency``) are balances, not positions.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aitrade.brokers.base import (
    Account,
    InstrumentRules,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Protection,
    Side,
)
from aitrade.brokers.ids import tinvest_order_id
from aitrade.errors import VenueProtocolError
from aitrade.money import decimal_to_quotation, quotation_to_decimal

STATUS = {
    "EXECUTION_REPORT_STATUS_NEW": OrderStatus.NEW,
    "EXECUTION_REPORT_STATUS_PARTIALLYFILL": OrderStatus.PARTIALLY_FILLED,
    "EXECUTION_REPORT_STATUS_FILL": OrderStatus.FILLED,
    "EXECUTION_REPORT_STATUS_CANCELLED": OrderStatus.CANCELLED,
    "EXECUTION_REPORT_STATUS_REJECTED": OrderStatus.REJECTED,
    "EXECUTION_REPORT_STATUS_UNSPECIFIED": OrderStatus.UNKNOWN,
}
DIRECTION = {Side.BUY: "ORDER_DIRECTION_BUY", Side.SELL: "ORDER_DIRECTION_SELL"}
ORDER_TYPE = {OrderType.MARKET: "ORDER_TYPE_MARKET", OrderType.LIMIT: "ORDER_TYPE_LIMIT"}


def rules_from_instrument(symbol: str, inst: dict[str, Any]) -> InstrumentRules:
    """Order rules from a cached/fetched instrument: the step is one lot in units."""
    lot = int(inst.get("lot", 1) or 1)
    raw = inst.get("minPriceIncrement")
    # the wire has a Quotation; the instrument cache (state/instruments.json) keeps the decimal as text
    tick = quotation_to_decimal(raw) if isinstance(raw, dict) else Decimal(str(raw or "0"))
    if tick <= 0:
        raise ValueError(f"T-Invest instrument {symbol} has no price increment")
    return InstrumentRules(
        symbol=symbol, tick=tick, step=Decimal(lot), min_qty=Decimal(lot), min_notional=Decimal(0),
        currency=str(inst.get("currency", "")).upper() or "RUB", shortable=bool(inst.get("shortEnabledFlag", False)),
        lot=lot,
    )  # fmt: skip


def lots(quantity: Decimal, rules: InstrumentRules) -> int:
    """Whole lots in a unit quantity (the request must already be normalised to the lot)."""
    n = quantity / rules.lot
    if n != n.to_integral_value() or n <= 0:
        raise ValueError(f"{rules.symbol}: quantity {quantity} is not a positive whole number of lots of {rules.lot}")
    return int(n)


def post_order_body(req: OrderRequest, rules: InstrumentRules, account_id: str, instrument_id: str) -> dict[str, Any]:
    """The ``OrdersService/PostOrder`` body of a normalised request."""
    body: dict[str, Any] = {
        "instrumentId": instrument_id,
        "quantity": str(lots(req.quantity, rules)),
        "direction": DIRECTION[req.side],
        "accountId": account_id,
        "orderType": ORDER_TYPE[req.order_type],
        "orderId": tinvest_order_id(req.client_id),
    }
    if req.order_type is OrderType.LIMIT:
        assert req.price is not None
        body["price"] = decimal_to_quotation(req.price)
    return body


def post_stop_body(
    p: Protection, side: Side, rules: InstrumentRules, account_id: str, instrument_id: str
) -> dict[str, Any]:
    """``StopOrdersService/PostStopOrder``: a stop-loss (market on trigger) or a take-profit, good till cancelled."""
    kind = "STOP_ORDER_TYPE_STOP_LOSS" if p.kind == "stop_loss" else "STOP_ORDER_TYPE_TAKE_PROFIT"
    body: dict[str, Any] = {
        "instrumentId": instrument_id,
        "quantity": str(lots(p.quantity, rules)),
        "direction": "STOP_ORDER_DIRECTION_SELL" if side is Side.SELL else "STOP_ORDER_DIRECTION_BUY",
        "accountId": account_id,
        "expirationType": "STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL",
        "stopOrderType": kind,
        "stopPrice": decimal_to_quotation(p.trigger),
        "orderId": tinvest_order_id(p.client_id),
    }
    if p.kind == "take_profit":
        body["price"] = decimal_to_quotation(p.trigger)
        body["exchangeOrderType"] = "EXCHANGE_ORDER_TYPE_LIMIT"
    return body


WIRE_DIRECTION = {"ORDER_DIRECTION_BUY": Side.BUY, "ORDER_DIRECTION_SELL": Side.SELL}
WIRE_ORDER_TYPE = {"ORDER_TYPE_MARKET": OrderType.MARKET, "ORDER_TYPE_LIMIT": OrderType.LIMIT,
              "ORDER_TYPE_BESTPRICE": OrderType.MARKET}  # fmt: skip


def _strict(table: dict[str, Any], value: Any, field: str) -> Any:
    """A wire enum value through its table; an unknown one is a protocol error, never a guess."""
    try:
        return table[str(value)]
    except KeyError:
        raise VenueProtocolError(f"T-Invest sent {field}={value!r}; expected one of {', '.join(table)}") from None


def order_from_state(state: dict[str, Any], client_id: str, symbol: str, rules: InstrumentRules) -> Order:
    """An ``OrderState`` (or ``PostOrderResponse``) as a domain order, quantities in units."""
    requested = Decimal(str(state.get("lotsRequested", "0") or "0")) * rules.lot
    executed = Decimal(str(state.get("lotsExecuted", "0") or "0")) * rules.lot
    raw_status = str(state.get("executionReportStatus", ""))
    if raw_status not in STATUS:
        raise VenueProtocolError(f"T-Invest sent executionReportStatus={raw_status!r}; expected one of "
                                 f"{', '.join(STATUS)}")  # fmt: skip
    status = STATUS[raw_status]
    side = _strict(WIRE_DIRECTION, state.get("direction"), "direction")
    order_type = _strict(WIRE_ORDER_TYPE, state.get("orderType") or "ORDER_TYPE_MARKET", "orderType")
    avg = quotation_to_decimal(state.get("executedOrderPrice")) if state.get("executedOrderPrice") else None
    price = quotation_to_decimal(state.get("initialSecurityPrice")) if state.get("initialSecurityPrice") else None
    fee = quotation_to_decimal(state.get("executedCommission")) if state.get("executedCommission") else Decimal(0)
    when = state.get("orderDate")
    return Order(
        client_id=client_id, venue_order_id=str(state.get("orderId", "")), symbol=symbol,
        side=side, order_type=order_type,
        quantity=requested, price=price, status=status, filled=executed, avg_price=avg if executed else None, fee=fee,
        updated=datetime.fromisoformat(when.replace("Z", "+00:00")) if isinstance(when, str) else None,
    )  # fmt: skip


def positions_from_portfolio(portfolio: dict[str, Any], by_uid: dict[str, str], broker: str) -> list[Position]:
    """Security positions of ``GetPortfolio`` (cash lines excluded), keyed by our ticker."""
    out = []
    for p in portfolio.get("positions", []) or []:
        if p.get("instrumentType") == "currency":
            continue
        qty = quotation_to_decimal(p.get("quantity"))
        if qty == 0:
            continue
        symbol = by_uid.get(p.get("instrumentUid", "")) or p.get("ticker") or p.get("figi", "?")
        out.append(
            Position(
                symbol=symbol, quantity=qty, avg_price=quotation_to_decimal(p.get("averagePositionPrice")),
                broker=broker, last_price=quotation_to_decimal(p.get("currentPrice")),
                unrealized_pnl=quotation_to_decimal(p.get("expectedYield")),
            )
        )  # fmt: skip
    return out


def account_from_portfolio(portfolio: dict[str, Any], broker: str) -> Account:
    total = portfolio.get("totalAmountPortfolio") or {}
    cash = portfolio.get("totalAmountCurrencies") or {}
    upnl = sum((quotation_to_decimal(p.get("expectedYield")) for p in portfolio.get("positions", []) or []
                if p.get("instrumentType") != "currency"), Decimal(0))  # fmt: skip
    currency = str(total.get("currency", "rub")).upper()
    equity, cash_value = quotation_to_decimal(total), quotation_to_decimal(cash)
    return Account(broker=broker, currency=currency, equity=equity, cash=cash_value, unrealized_pnl=upnl)
