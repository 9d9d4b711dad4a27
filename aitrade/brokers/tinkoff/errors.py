"""T-Invest error answers typed by what the caller must do, from the official code table.

``errors.json`` beside this module is written from the venue's own list
(``src/docs/errors/api_errors.json`` of ``RussianInvestments/investAPI``): every
official code with its gRPC type, message and the action AiTrade takes:

* ``retry`` -> :class:`RetryableError` (``80002`` -> :class:`RateLimited`);
* ``reconcile`` -> :class:`DuplicateOrder` (look the order up by its request id);
* ``skip`` -> :class:`SkipError` (this order is refused, trading goes on);
* ``not_found`` -> :class:`OrderNotFound`;
* ``unknown_instrument`` -> :class:`UnknownSymbolError` (on a trading call the
  instrument id AiTrade sent is wrong: :class:`HaltError`);
* ``halt`` -> :class:`AuthError` for credentials, :class:`HaltError` otherwise:
  account closed or blocked, unimplemented methods, and requests AiTrade built
  wrong (every retry would fail the same way).

A data call (``trading=False``) reads a ``halt`` or ``skip`` code of type
INVALID_ARGUMENT as bad input (:class:`DataError`). A code missing from the
table falls back on the gRPC status the answer carries: never a silent skip.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from aitrade.errors import (
    AuthError,
    ConfigError,
    DataError,
    DuplicateOrder,
    HaltError,
    OrderNotFound,
    RateLimited,
    RetryableError,
    SkipError,
    UnknownSymbolError,
)
from aitrade.net.http import retry_after_s

ACTIONS = frozenset({"retry", "reconcile", "skip", "not_found", "unknown_instrument", "halt"})
AUTH_CODES = frozenset({"40002", "40003", "40004"})
ACCOUNT_CODES = frozenset({"30022", "50004"})  # the configured account id is wrong: a setting to fix
#: gRPC status (the numeric ``code`` of an error body) -> action, for codes the table does not list
GRPC_FALLBACK = {4: "retry", 8: "retry", 13: "retry", 14: "retry", 16: "halt", 7: "halt", 12: "halt", 5: "halt"}
HTTP_FALLBACK = {
    401: "halt",
    403: "halt",
    429: "retry",
    408: "retry",
    500: "retry",
    502: "retry",
    503: "retry",
    504: "retry",
}


@cache
def table() -> dict[str, dict[str, str]]:
    """Code -> ``{type, message, action, why}`` (loaded once)."""
    raw = json.loads(files("aitrade.brokers.tinkoff").joinpath("errors.json").read_text(encoding="utf-8"))
    codes: dict[str, dict[str, str]] = raw["codes"]
    bad = {c: e["action"] for c, e in codes.items() if e.get("action") not in ACTIONS}
    if bad:
        raise ValueError(f"T-Invest error table: unknown actions {bad}")
    return codes


def action_of(code: str, status: int, grpc: Any = None) -> str:
    """What the caller must do for one error answer."""
    entry = table().get(code)
    if entry is not None:
        return entry["action"]
    if status in HTTP_FALLBACK:
        return HTTP_FALLBACK[status]
    if isinstance(grpc, int) and grpc in GRPC_FALLBACK:
        return GRPC_FALLBACK[grpc]
    return "retry" if status >= 500 else "halt"


def translate(status: int, body: Any, headers: dict[str, str], what: str, *, trading: bool = False) -> Exception:
    """An AiTrade error for a T-Invest error answer ``{code, message, description}``."""
    body = body if isinstance(body, dict) else {}
    code = str(body.get("description") or "")
    message = body.get("message") or "no message"
    detail = f"{what}: T-Invest HTTP {status}" + (f", code {code}" if code else "") + f": {message}"
    entry = table().get(code)
    if entry is not None and entry["message"].lower() not in str(message).lower():
        detail += f" ({entry['message']})"
    if headers.get("x-tracking-id"):
        detail += f" (tracking id {headers['x-tracking-id']})"
    action = action_of(code, status, body.get("code"))
    if action == "retry":
        if status == 429 or code == "80002":
            return RateLimited(detail, retry_after=retry_after_s(headers))
        return RetryableError(detail, retry_after=retry_after_s(headers))
    if action == "reconcile":
        return DuplicateOrder(detail)
    if action == "not_found":
        return OrderNotFound(detail)
    if action == "unknown_instrument" or (status == 404 and not code):
        return HaltError(detail) if trading else UnknownSymbolError(detail)
    if code in AUTH_CODES or status in (401, 403):
        return AuthError(detail)
    if code in ACCOUNT_CODES:
        return (HaltError if trading else ConfigError)(f"{detail}; check TINKOFF_ACCOUNT_ID")
    invalid_input = entry is not None and entry["type"] == "INVALID_ARGUMENT"
    if not trading and invalid_input:
        return DataError(detail)
    if action == "skip":
        return SkipError(detail)
    return HaltError(detail)
