"""T-Invest wire JSON <-> AiTrade domain types. Pure functions, no I/O.

Facts (reference/broker_apis.md B2, B3, B6): quantities on the wire are lots
and prices are per security; our quantities are units (``lots * lot``).
``orderId`` in a request is our idempotency key (a UUID derived from the
client id); in a response ``orderId`` is the exchange id and our key comes
back as ``orderRequestId``. A partially filled order is not filled. Cash lines
in a portfolio (instrumentType ``currency``) are balances, not positions.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
from aitrade.brokers.tinkoff.requests import PostOrder, PostStopOrder
from aitrade.errors import VenueProtocolError
from aitrade.money import quotation_to_decimal

STATUS = {
    "EXECUTION_REPORT_STATUS_NEW": OrderStatus.NEW,
    "EXECUTION_REPORT_STATUS_PARTIALLYFILL": OrderStatus.PARTIALLY_FILLED,
    "EXECUTION_REPORT_STATUS_FILL": OrderStatus.FILLED,
    "EXECUTION_REPORT_STATUS_CANCELLED": OrderStatus.CANCELLED,
    "EXECUTION_REPORT_STATUS_REJECTED": OrderStatus.REJECTED,
    "EXECUTION_REPORT_STATUS_UNSPECIFIED": OrderStatus.UNKNOWN,
}


def rules_from_instrument(symbol: str, inst: dict[str, Any]) -> InstrumentRules:
    """Order rules from a cached/fetched instrument: the step is one lot in units."""
    lot = int(inst.get("lot", 1) or 1)
    raw = inst.get("minPriceIncrement")
    # the wire has a Quotation; the instrument cache (state/instruments.json) keeps the decimal as text
    tick = quotation_to_decimal(raw) if isinstance(raw, dict) else Decimal(str(raw or "0"))
    if tick <= 0:
        raise ValueError(f"T-Invest instrument {symbol} has no price increment")
    return InstrumentRules(
        symbol=symbol,
        tick=tick,
        step=Decimal(lot),
        min_qty=Decimal(lot),
        min_notional=Decimal(0),
        currency=str(inst.get("currency", "")).upper() or "RUB",
        shortable=bool(inst.get("shortEnabledFlag", False)),
        lot=lot,
    )


def post_order_body(
    req: OrderRequest, rules: InstrumentRules, account_id: str, instrument_id: str, key: str | None = None
) -> dict[str, Any]:
    """The ``OrdersService/PostOrder`` body of a normalised request (``key``: its idempotency key, else derived)."""
    return PostOrder(
        rules,
        account_id,
        instrument_id,
        req.side,
        req.order_type,
        req.quantity,
        key or tinvest_order_id(req.client_id),
        req.price,
    ).wire()


def post_stop_body(
    p: Protection, side: Side, rules: InstrumentRules, account_id: str, instrument_id: str
) -> dict[str, Any]:
    """``StopOrdersService/PostStopOrder``: a stop-loss (market on trigger) or a take-profit, good till cancelled."""
    return PostStopOrder(
        rules, account_id, instrument_id, p.kind, side, p.quantity, p.trigger, tinvest_order_id(p.client_id)
    ).wire()


WIRE_DIRECTION = {"ORDER_DIRECTION_BUY": Side.BUY, "ORDER_DIRECTION_SELL": Side.SELL}
#: UNSPECIFIED is the proto3 default a gateway may omit; it decides nothing about money (only the limit price shown)
WIRE_ORDER_TYPE = {
    "ORDER_TYPE_MARKET": OrderType.MARKET,
    "ORDER_TYPE_LIMIT": OrderType.LIMIT,
    "ORDER_TYPE_BESTPRICE": OrderType.MARKET,
    "ORDER_TYPE_UNSPECIFIED": OrderType.MARKET,
}


def _strict(table: dict[str, Any], value: Any, field: str) -> Any:
    """A wire enum value through its table; an unknown one is a protocol error, never a guess."""
    try:
        return table[str(value)]
    except KeyError:
        raise VenueProtocolError(f"T-Invest sent {field}={value!r}; expected one of {', '.join(table)}") from None


def p3(msg: dict[str, Any], key: str, default: Any) -> Any:
    """A proto3 JSON field: absent (or null) means its default (false, 0, "", [], ``..._UNSPECIFIED``)."""
    value = msg.get(key)
    return default if value is None else value


def p3_int(msg: dict[str, Any], key: str) -> int:
    """An int64 (a JSON string) or int32 field; absent is 0."""
    try:
        return int(str(p3(msg, key, "0")) or "0")
    except ValueError:
        raise VenueProtocolError(f"T-Invest sent {key}={msg.get(key)!r}; expected an integer") from None


def p3_money(msg: dict[str, Any], key: str) -> Decimal:
    """A Quotation/MoneyValue field; absent is 0."""
    try:
        return quotation_to_decimal(p3(msg, key, None))
    except ValueError as exc:
        raise VenueProtocolError(f"T-Invest sent {key}={msg.get(key)!r}: {exc}") from None


def stages_average(state: dict[str, Any]) -> tuple[Decimal, int] | None:
    """Volume-weighted price per instrument of an ``OrderState``'s stages and the lots they cover."""
    total, lots = Decimal(0), 0
    for stage in p3(state, "stages", []):
        qty = p3_int(stage, "quantity")  # lots (orders.proto OrderStage)
        price = p3_money(stage, "price")  # per instrument
        if qty > 0 and price > 0:
            total += price * qty
            lots += qty
    return (total / lots, lots) if lots else None


def fill_price(state: dict[str, Any], rules: InstrumentRules, *, source: str) -> Decimal | None:
    """The average price per instrument of what an order executed, as the contract defines it, or ``None``.

    ``source="post"``: ``PostOrderResponse.executedOrderPrice`` is that average
    (it may come back 0: unknown, never a price). ``source="state"``:
    ``OrderState.executedOrderPrice`` is a total (average times lots), so the
    average comes from ``averagePositionPrice``, else the stages, else (one-share
    lots only, where total / lots is the average whichever way the total is
    counted) the total divided by the lots. Anything else is unknown: look it up.
    """
    executed = p3_int(state, "lotsExecuted")
    if executed <= 0:
        return None
    if source == "post":
        avg = p3_money(state, "executedOrderPrice")
        return avg if avg > 0 else None
    if source != "state":
        raise ValueError(f"unknown T-Invest order message {source!r}")
    avg = p3_money(state, "averagePositionPrice")
    if avg > 0:
        return avg
    staged = stages_average(state)
    if staged is not None and staged[1] == executed:
        return staged[0]
    total = p3_money(state, "executedOrderPrice")
    if rules.lot == 1 and total > 0:
        return total / executed
    return None


def operation_price(item: dict[str, Any], filled: Decimal) -> Decimal | None:
    """Price per share of an executed ``OperationItem`` whose executed quantity (shares) is ``filled``."""
    trades = p3(p3(item, "tradesInfo", {}), "trades", [])
    qty = sum((Decimal(p3_int(t, "quantity")) for t in trades), Decimal(0))
    if trades and qty == filled:
        total = sum((p3_money(t, "price") * p3_int(t, "quantity") for t in trades), Decimal(0))
        return total / qty if total > 0 else None
    if Decimal(p3_int(item, "quantityDone")) == filled:
        price = p3_money(item, "price")
        return price if price > 0 else None
    return None


def rfc3339(when: datetime) -> str:
    """A UTC timestamp as the gateway takes it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def order_from_state(
    state: dict[str, Any], client_id: str, symbol: str, rules: InstrumentRules, *, source: str = "state"
) -> Order:
    """An ``OrderState`` (``source="state"``) or ``PostOrderResponse`` (``"post"``) as a domain order, in units.

    Absent fields read as their proto3 defaults. A fill whose price the message
    does not define comes back with ``avg_price=None``: the caller looks it up.
    """
    requested = Decimal(p3_int(state, "lotsRequested")) * rules.lot
    executed = Decimal(p3_int(state, "lotsExecuted")) * rules.lot
    status = _strict(
        STATUS, p3(state, "executionReportStatus", "EXECUTION_REPORT_STATUS_UNSPECIFIED"), "executionReportStatus"
    )
    side = _strict(WIRE_DIRECTION, p3(state, "direction", "ORDER_DIRECTION_UNSPECIFIED"), "direction")
    order_type = _strict(WIRE_ORDER_TYPE, p3(state, "orderType", "ORDER_TYPE_UNSPECIFIED"), "orderType")
    price = p3_money(state, "initialSecurityPrice") or None
    fee = p3_money(state, "executedCommission")
    when = p3(state, "orderDate", "")
    return Order(
        client_id=client_id,
        venue_order_id=str(p3(state, "orderId", "")),
        symbol=symbol,
        side=side,
        order_type=order_type,
        quantity=requested,
        price=price if order_type is OrderType.LIMIT else None,
        status=status,
        filled=executed,
        avg_price=fill_price(state, rules, source=source),
        fee=fee,
        updated=datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None,
    )


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
                symbol=symbol,
                quantity=qty,
                avg_price=quotation_to_decimal(p.get("averagePositionPrice")),
                broker=broker,
                last_price=quotation_to_decimal(p.get("currentPrice")),
                unrealized_pnl=quotation_to_decimal(p.get("expectedYield")),
            )
        )
    return out


def account_from_portfolio(portfolio: dict[str, Any], broker: str) -> Account:
    total = portfolio.get("totalAmountPortfolio") or {}
    cash = portfolio.get("totalAmountCurrencies") or {}
    upnl = sum(
        (
            quotation_to_decimal(p.get("expectedYield"))
            for p in portfolio.get("positions", []) or []
            if p.get("instrumentType") != "currency"
        ),
        Decimal(0),
    )
    currency = str(total.get("currency", "rub")).upper()
    equity, cash_value = quotation_to_decimal(total), quotation_to_decimal(cash)
    return Account(broker=broker, currency=currency, equity=equity, cash=cash_value, unrealized_pnl=upnl)
