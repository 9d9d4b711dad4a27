"""Bitget v2 request signing: pure functions, no I/O.

``ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + path [+ "?" + query] + body))``
with the timestamp in epoch milliseconds (reference/broker_apis.md A2). Query
parameters are sorted and not URL-encoded; the JSON body is serialised once,
compactly, and the same bytes are signed and sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def prehash(timestamp_ms: int | str, method: str, path: str, query: str = "", body: str = "") -> str:
    """The exact string Bitget signs."""
    return f"{timestamp_ms}{method.upper()}{path}{'?' + query if query else ''}{body}"


def sign(secret: str, message: str) -> str:
    """base64 of the raw HMAC-SHA256 digest (not hex)."""
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def query_string(params: dict[str, Any] | None) -> str:
    """Parameters sorted by key, ``k=v`` joined with ``&``, not percent-encoded (ASCII values)."""
    if not params:
        return ""
    return "&".join(f"{k}={params[k]}" for k in sorted(params))


def body_text(body: dict[str, Any] | None) -> str:
    return "" if body is None else json.dumps(body, separators=(",", ":"))


def signed_headers(
    key: str,
    secret: str,
    passphrase: str,
    timestamp_ms: int,
    method: str,
    path: str,
    query: str = "",
    body: str = "",
    *,
    demo: bool = False,
) -> dict[str, str]:
    """Headers of a private request (``paptrading: 1`` for demo trading)."""
    headers = {
        "ACCESS-KEY": key,
        "ACCESS-SIGN": sign(secret, prehash(timestamp_ms, method, path, query, body)),
        "ACCESS-TIMESTAMP": str(timestamp_ms),
        "ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
        "locale": "en-US",
    }
    if demo:
        headers["paptrading"] = "1"
    return headers
