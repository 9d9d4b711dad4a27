"""What Bitget's v2 API pages define for each request AiTrade sends: names, required fields, enumerations,
numbers as strings. The fake venue checks every request against this before handling it.

Written from the pages (spot: Place-Order, Cancel-Order, Get-Order-Info, Get-Unfilled-Orders,
Get-History-Orders, Get-Account-Assets, Get-Symbols, Get-Tickers; futures: Place-Order, Cancel-Order,
Get-Order-Details, Get-Orders-Pending, Get-History-Orders, Get-All-Positions, Get-Account-List,
Change-Leverage, Place-Tpsl-Order, Cancel-Plan-Order, Get-Plan-Orders-Pending, orders-plan-history,
Get-Contracts, Get-Ticker). An unknown parameter name is refused too: a misspelt field is a request
the venue would read differently from what AiTrade meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

PRODUCT_TYPES = frozenset(
    {"USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES", "SUSDT-FUTURES", "SCOIN-FUTURES", "SUSDC-FUTURES"}
)
SIDE = frozenset({"buy", "sell"})
ORDER_TYPE = frozenset({"limit", "market"})
FORCE = frozenset({"gtc", "post_only", "fok", "ioc"})


@dataclass(frozen=True)
class Spec:
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    enums: dict[str, frozenset[str]] = field(default_factory=dict)
    numbers: frozenset[str] = frozenset()  # decimal numbers, sent as JSON strings
    one_of: tuple[str, ...] = ()  # at least one of these


def _s(*names: str) -> frozenset[str]:
    return frozenset(names)


PAGING = _s("idLessThan", "startTime", "endTime", "limit")
SPECS: dict[tuple[str, str], Spec] = {
    ("POST", "/api/v2/spot/trade/place-order"): Spec(
        _s("symbol", "side", "orderType", "size"),
        _s("price", "force", "clientOid", "requestTime", "receiveWindow", "triggerPrice", "tpslType", "stpMode"),
        {"side": SIDE, "orderType": ORDER_TYPE, "force": FORCE},
        _s("size", "price", "requestTime", "receiveWindow", "triggerPrice"),
    ),
    ("POST", "/api/v2/spot/trade/cancel-order"): Spec(
        _s("symbol"), _s("orderId", "clientOid", "tpslType"), one_of=("orderId", "clientOid")
    ),
    ("GET", "/api/v2/spot/trade/orderInfo"): Spec(
        optional=_s("orderId", "clientOid", "requestTime", "receiveWindow"), one_of=("orderId", "clientOid")
    ),
    ("GET", "/api/v2/spot/trade/unfilled-orders"): Spec(optional=_s("symbol", "orderId", "tpslType") | PAGING),
    ("GET", "/api/v2/spot/trade/history-orders"): Spec(optional=_s("symbol", "orderId", "tpslType") | PAGING),
    ("GET", "/api/v2/spot/account/assets"): Spec(optional=_s("coin", "assetType")),
    ("GET", "/api/v2/spot/public/symbols"): Spec(optional=_s("symbol")),
    ("GET", "/api/v2/spot/market/tickers"): Spec(optional=_s("symbol")),
    ("POST", "/api/v2/mix/order/place-order"): Spec(
        _s("symbol", "productType", "marginMode", "marginCoin", "size", "side", "orderType"),
        _s(
            "price",
            "tradeSide",
            "force",
            "clientOid",
            "reduceOnly",
            "presetStopSurplusPrice",
            "presetStopLossPrice",
            "stpMode",
        ),
        {
            "side": SIDE,
            "orderType": ORDER_TYPE,
            "force": FORCE,
            "marginMode": _s("isolated", "crossed"),
            "reduceOnly": _s("YES", "NO"),
            "productType": PRODUCT_TYPES,
            "tradeSide": _s("open", "close"),
        },
        _s("size", "price", "presetStopSurplusPrice", "presetStopLossPrice"),
    ),
    ("POST", "/api/v2/mix/order/cancel-order"): Spec(
        _s("symbol", "productType"),
        _s("marginCoin", "orderId", "clientOid"),
        {"productType": PRODUCT_TYPES},
        one_of=("orderId", "clientOid"),
    ),
    ("GET", "/api/v2/mix/order/detail"): Spec(
        _s("symbol", "productType"),
        _s("orderId", "clientOid"),
        {"productType": PRODUCT_TYPES},
        one_of=("orderId", "clientOid"),
    ),
    ("GET", "/api/v2/mix/order/orders-pending"): Spec(
        _s("productType"), _s("orderId", "clientOid", "symbol", "status") | PAGING, {"productType": PRODUCT_TYPES}
    ),
    ("GET", "/api/v2/mix/order/orders-history"): Spec(
        _s("productType"), _s("orderId", "clientOid", "symbol", "orderSource") | PAGING, {"productType": PRODUCT_TYPES}
    ),
    ("GET", "/api/v2/mix/position/all-position"): Spec(
        _s("productType", "marginCoin"), enums={"productType": PRODUCT_TYPES}
    ),
    ("GET", "/api/v2/mix/account/accounts"): Spec(_s("productType"), enums={"productType": PRODUCT_TYPES}),
    ("POST", "/api/v2/mix/account/set-leverage"): Spec(
        _s("symbol", "productType", "marginCoin", "leverage"),
        _s("holdSide"),
        {"productType": PRODUCT_TYPES},
        _s("leverage"),
    ),
    ("POST", "/api/v2/mix/order/place-tpsl-order"): Spec(
        _s("marginCoin", "productType", "symbol", "planType", "triggerPrice", "holdSide"),
        _s("triggerType", "executePrice", "size", "rangeRate", "clientOid", "stpMode"),
        {
            "productType": PRODUCT_TYPES,
            "planType": _s("profit_plan", "loss_plan", "moving_plan", "pos_profit", "pos_loss"),
            "triggerType": _s("fill_price", "mark_price"),
            "holdSide": _s("long", "short", "buy", "sell"),
        },
        _s("triggerPrice", "executePrice", "size", "rangeRate"),
    ),
    ("POST", "/api/v2/mix/order/cancel-plan-order"): Spec(
        _s("productType"), _s("orderIdList", "symbol", "marginCoin", "planType"), {"productType": PRODUCT_TYPES}
    ),
    ("GET", "/api/v2/mix/order/orders-plan-pending"): Spec(
        _s("productType", "planType"),
        _s("orderId", "clientOid", "symbol") | PAGING,
        {"productType": PRODUCT_TYPES, "planType": _s("normal_plan", "track_plan", "profit_loss")},
    ),
    ("GET", "/api/v2/mix/order/orders-plan-history"): Spec(
        _s("productType", "planType"),
        _s("orderId", "clientOid", "symbol", "planStatus") | PAGING,
        {
            "productType": PRODUCT_TYPES,
            "planType": _s("normal_plan", "track_plan", "profit_loss"),
            "planStatus": _s("executed", "fail_trigger", "cancelled"),
        },
        one_of=("orderId", "clientOid"),
    ),
    ("GET", "/api/v2/mix/market/contracts"): Spec(_s("productType"), _s("symbol"), {"productType": PRODUCT_TYPES}),
    ("GET", "/api/v2/mix/market/ticker"): Spec(_s("symbol", "productType"), enums={"productType": PRODUCT_TYPES}),
}


def _number(value: Any) -> bool:
    if not isinstance(value, str) or not value or value.strip() != value:
        return False
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


def violation(method: str, path: str, args: dict[str, Any]) -> tuple[str, str] | None:
    """``(code, message)`` of the first way a request breaks its page, or ``None`` when it is valid."""
    spec = SPECS.get((method, path))
    if spec is None:
        return None  # candles and server time are checked by their own handlers
    for name in sorted(spec.required):
        if args.get(name) in (None, ""):
            return "40019", f"Parameter {name} cannot be empty"
    unknown = sorted(set(args) - spec.required - spec.optional)
    if unknown:
        return "40020", f"Parameter {unknown[0]} error (not a parameter of {path})"
    if spec.one_of and not any(args.get(n) for n in spec.one_of):
        return "40019", f"Parameter {' or '.join(spec.one_of)} cannot be empty"
    for name, allowed in spec.enums.items():
        if name in args and args[name] not in allowed:
            return "40020", f"Parameter {name} error: {args[name]!r} is not one of {sorted(allowed)}"
    for name in spec.numbers:
        if name in args and not _number(args[name]):
            return "40020", f"Parameter {name} error: {args[name]!r} is not a number in a string"
    if path.endswith("place-order") and args.get("orderType") == "limit" and not args.get("price"):
        return "40019", "Parameter price cannot be empty"
    return None
