"""Exact money and quantity conversions for the broker boundary.

T-Invest sends numbers as ``Quotation {units: int64-as-string, nano: int32}``
(and ``MoneyValue`` with a currency). value = units + nano / 1e9, with units
and nano of the same sign: -0.01 is ``{units: "0", nano: -10000000}``.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

NANO = Decimal(1_000_000_000)
_Q9 = Decimal("0.000000001")


def to_decimal(value: Any, *, what: str = "value") -> Decimal:
    """Exact Decimal of an int, str or Decimal (floats go through ``repr``)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{what}: a boolean is not a number")
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{what}: {value!r} is not a number") from exc


def quotation_to_decimal(q: dict[str, Any] | None) -> Decimal:
    """Decimal of a Quotation/MoneyValue; an absent one is 0 (protojson omits zeros)."""
    if not q:
        return Decimal(0)
    units = int(str(q.get("units", "0") or "0"))  # int("-0") == 0
    nano = int(q.get("nano", 0) or 0)
    if abs(nano) >= 1_000_000_000:
        raise ValueError(f"Quotation nano out of range: {q!r}")
    if units and nano and (units > 0) != (nano > 0):
        raise ValueError(f"Quotation units and nano have different signs: {q!r}")
    return Decimal(units) + Decimal(nano) / NANO


def decimal_to_quotation(value: Any) -> dict[str, Any]:
    """Quotation of a number, rounded to 9 places; units truncate toward zero."""
    d = to_decimal(value).quantize(_Q9, rounding=ROUND_HALF_EVEN)
    units = int(d)  # int() of a Decimal truncates toward zero
    nano = int((d - units) * NANO)
    return {"units": str(units), "nano": nano}


def round_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_DOWN) -> Decimal:
    """``value`` rounded to a multiple of ``step`` (down by default)."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return (value / step).quantize(Decimal(1), rounding=rounding) * step
