"""The request messages of the T-Invest methods AiTrade calls, as the official ``.proto`` files define them.

Written from ``src/docs/contracts/{users,instruments,marketdata,orders,stoporders,operations,sandbox}.proto``
of ``RussianInvestments/investAPI``: field names (lowerCamelCase in JSON), the fields marked REQUIRED,
enum names, int64 fields (JSON strings of integers), Quotation fields ({units: int64, nano: int32}, one
sign, |nano| < 1e9) and timestamps (RFC 3339). protojson refuses an unknown field, so the fake does too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ORDER_DIRECTION = frozenset({"ORDER_DIRECTION_BUY", "ORDER_DIRECTION_SELL"})
ORDER_TYPE = frozenset({"ORDER_TYPE_LIMIT", "ORDER_TYPE_MARKET", "ORDER_TYPE_BESTPRICE"})
ORDER_ID_TYPE = frozenset({"ORDER_ID_TYPE_EXCHANGE", "ORDER_ID_TYPE_REQUEST"})
PRICE_TYPE = frozenset({"PRICE_TYPE_POINT", "PRICE_TYPE_CURRENCY"})
TIME_IN_FORCE = frozenset({"TIME_IN_FORCE_DAY", "TIME_IN_FORCE_FILL_AND_KILL", "TIME_IN_FORCE_FILL_OR_KILL"})
STOP_STATUS = frozenset(
    {
        "STOP_ORDER_STATUS_ALL",
        "STOP_ORDER_STATUS_ACTIVE",
        "STOP_ORDER_STATUS_EXECUTED",
        "STOP_ORDER_STATUS_CANCELED",
        "STOP_ORDER_STATUS_EXPIRED",
    }
)
OPERATION_TYPES = frozenset(
    {
        "OPERATION_TYPE_BUY",
        "OPERATION_TYPE_SELL",
        "OPERATION_TYPE_BROKER_FEE",
        "OPERATION_TYPE_INPUT",
        "OPERATION_TYPE_OUTPUT",
        "OPERATION_TYPE_DIVIDEND",
    }
)


@dataclass(frozen=True)
class Message:
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    enums: dict[str, frozenset[str]] = field(default_factory=dict)
    int64: frozenset[str] = frozenset()
    int32: frozenset[str] = frozenset()
    quotations: frozenset[str] = frozenset()
    timestamps: frozenset[str] = frozenset()
    bools: frozenset[str] = frozenset()
    repeated: dict[str, frozenset[str] | None] = field(default_factory=dict)  # list field -> allowed enum or None


def _s(*names: str) -> frozenset[str]:
    return frozenset(names)


POST_STOP = Message(
    _s("quantity", "direction", "accountId", "expirationType", "stopOrderType", "instrumentId", "orderId"),
    _s("figi", "price", "stopPrice", "expireDate", "exchangeOrderType", "takeProfitType", "trailingData", "priceType"),
    {
        "direction": _s("STOP_ORDER_DIRECTION_BUY", "STOP_ORDER_DIRECTION_SELL"),
        "expirationType": _s(
            "STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL", "STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_DATE"
        ),
        "stopOrderType": _s("STOP_ORDER_TYPE_TAKE_PROFIT", "STOP_ORDER_TYPE_STOP_LOSS", "STOP_ORDER_TYPE_STOP_LIMIT"),
        "exchangeOrderType": _s("EXCHANGE_ORDER_TYPE_MARKET", "EXCHANGE_ORDER_TYPE_LIMIT"),
        "takeProfitType": _s("TAKE_PROFIT_TYPE_REGULAR", "TAKE_PROFIT_TYPE_TRAILING"),
        "priceType": PRICE_TYPE,
    },
    int64=_s("quantity"),
    quotations=_s("price", "stopPrice"),
    timestamps=_s("expireDate"),
)
GET_STOPS = Message(_s("accountId"), _s("status", "from", "to"), {"status": STOP_STATUS}, timestamps=_s("from", "to"))
CANCEL_STOP = Message(_s("accountId", "stopOrderId"))

MESSAGES: dict[str, Message] = {
    "UsersService/GetAccounts": Message(
        optional=_s("status"),
        enums={
            "status": _s(
                "ACCOUNT_STATUS_UNSPECIFIED",
                "ACCOUNT_STATUS_NEW",
                "ACCOUNT_STATUS_OPEN",
                "ACCOUNT_STATUS_CLOSED",
                "ACCOUNT_STATUS_ALL",
            )
        },
    ),
    "SandboxService/OpenSandboxAccount": Message(optional=_s("name")),
    "InstrumentsService/GetInstrumentBy": Message(
        _s("idType", "id"),
        _s("classCode"),
        {
            "idType": _s(
                "INSTRUMENT_ID_TYPE_FIGI",
                "INSTRUMENT_ID_TYPE_TICKER",
                "INSTRUMENT_ID_TYPE_UID",
                "INSTRUMENT_ID_TYPE_POSITION_UID",
            )
        },
    ),
    "InstrumentsService/FindInstrument": Message(
        _s("query"), _s("instrumentKind", "apiTradeAvailableFlag"), bools=_s("apiTradeAvailableFlag")
    ),
    "MarketDataService/GetCandles": Message(
        _s("from", "to", "interval"),
        _s("instrumentId", "figi", "candleSourceType", "limit"),
        {"candleSourceType": _s("CANDLE_SOURCE_EXCHANGE", "CANDLE_SOURCE_INCLUDE_WEEKEND")},
        int32=_s("limit"),
        timestamps=_s("from", "to"),
    ),
    "MarketDataService/GetLastPrices": Message(
        optional=_s("figi", "instrumentId", "lastPriceType", "instrumentStatus"),
        repeated={"instrumentId": None, "figi": None},
    ),
    "OrdersService/PostOrder": Message(
        _s("quantity", "direction", "accountId", "orderType", "orderId", "instrumentId"),
        _s("figi", "price", "timeInForce", "priceType", "confirmMarginTrade"),
        {"direction": ORDER_DIRECTION, "orderType": ORDER_TYPE, "timeInForce": TIME_IN_FORCE, "priceType": PRICE_TYPE},
        int64=_s("quantity"),
        quotations=_s("price"),
        bools=_s("confirmMarginTrade"),
    ),
    "OrdersService/GetOrderState": Message(
        _s("accountId", "orderId"),
        _s("priceType", "orderIdType"),
        {"priceType": PRICE_TYPE, "orderIdType": ORDER_ID_TYPE},
    ),
    "OrdersService/GetOrders": Message(_s("accountId"), _s("advancedFilters")),
    "OrdersService/CancelOrder": Message(_s("accountId", "orderId"), _s("orderIdType"), {"orderIdType": ORDER_ID_TYPE}),
    "OperationsService/GetPortfolio": Message(_s("accountId"), _s("currency"), {"currency": _s("RUB", "USD", "EUR")}),
    "OperationsService/GetOperationsByCursor": Message(
        _s("accountId"),
        _s(
            "instrumentId",
            "from",
            "to",
            "cursor",
            "limit",
            "operationTypes",
            "state",
            "withoutCommissions",
            "withoutTrades",
            "withoutOvernights",
        ),
        {"state": _s("OPERATION_STATE_EXECUTED", "OPERATION_STATE_CANCELED", "OPERATION_STATE_PROGRESS")},
        int32=_s("limit"),
        timestamps=_s("from", "to"),
        bools=_s("withoutCommissions", "withoutTrades", "withoutOvernights"),
        repeated={"operationTypes": OPERATION_TYPES},
    ),
    "StopOrdersService/PostStopOrder": POST_STOP,
    "StopOrdersService/GetStopOrders": GET_STOPS,
    "StopOrdersService/CancelStopOrder": CANCEL_STOP,
    "SandboxService/PostSandboxStopOrder": POST_STOP,
    "SandboxService/GetSandboxStopOrders": GET_STOPS,
    "SandboxService/CancelSandboxStopOrder": CANCEL_STOP,
}


def _int64(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip("-").isdigit()


def _quotation(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) - {"units", "nano"}:
        return False
    units, nano = value.get("units", "0"), value.get("nano", 0)
    if not _int64(units) or not isinstance(nano, int) or isinstance(nano, bool) or abs(nano) >= 1_000_000_000:
        return False
    return not (int(units) and nano and (int(units) > 0) != (nano > 0))


def _timestamp(value: Any) -> bool:
    if not isinstance(value, str) or not value.endswith("Z"):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def violation(service: str, method: str, body: dict[str, Any]) -> tuple[str, str] | None:
    """``(code, message)`` of the first way a request breaks its message, or ``None`` when it is valid."""
    spec = MESSAGES.get(f"{service}/{method}")
    if spec is None:
        return "12001", f"{service}/{method} is not a method this gateway implements"
    unknown = sorted(set(body) - spec.required - spec.optional)
    if unknown:
        return "30102", f"unknown field {unknown[0]!r} in {method}"
    for name in sorted(spec.required):
        if body.get(name) in (None, "", [], {}):
            return "30102", f"missing required field {name!r}"
    for name, allowed in spec.enums.items():
        if name in body and body[name] not in allowed:
            return "30102", f"{name}={body[name]!r} is not a value of its enum"
    checks = (
        (spec.int64, _int64, "an int64 (a JSON string of digits)"),
        (spec.quotations, _quotation, "a Quotation"),
        (spec.timestamps, _timestamp, "an RFC 3339 UTC time"),
        (spec.bools, lambda v: isinstance(v, bool), "a boolean"),
        (spec.int32, lambda v: isinstance(v, int) and not isinstance(v, bool), "an int32 (a JSON number)"),
    )
    for names, ok, what in checks:
        for name in names:
            if name in body and not ok(body[name]):
                return "30102", f"{name}={body[name]!r} is not {what}"
    for name, allowed in spec.repeated.items():
        if name in body and (not isinstance(body[name], list) or (allowed and set(body[name]) - allowed)):
            return "30102", f"{name}={body[name]!r} is not a list of its values"
    return None
