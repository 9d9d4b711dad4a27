"""Deterministic order ids.

A client id is derived from the decision it carries out: (strategy, symbol,
bar time, leg). Re-deciding the same bar after a restart yields the same id,
so the ledger and the venues can refuse a second order. Ids start with
:data:`aitrade.brokers.base.CLIENT_ID_PREFIX` (close-all touches nothing else)
and fit Bitget's 50-character clientOid limit. T-Invest wants a UUID as its
idempotency key: :func:`tinvest_order_id` derives one from the client id, a
UUIDv8 (RFC 9562, vendor-defined) whose first 32 bits are AiTrade's marker, so
an order of ours is recognisable at the venue by its request id alone (as a
Bitget order is by its clientOid prefix): a lost ledger is rebuilt from the
account's operations. Keys sent before the marker existed were UUIDv5
(:func:`tinvest_legacy_order_id`); lookups try them too, so an order of an older
version is never sent twice.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime

from aitrade.brokers.base import CLIENT_ID_PREFIX

LEGS = frozenset({"entry", "exit", "sl", "tp", "trail", "time", "abort", "vol", "panic", "kill", "close"})
NAMESPACE = uuid.UUID("6f1d7c2e-3a4b-5c6d-8e9f-0a1b2c3d4e5f")
_SAFE = re.compile(r"[^A-Za-z0-9]")


def client_id(strategy: str, symbol: str, bar: datetime, leg: str, attempt: int = 0) -> str:
    """``at-<symbol>-<leg>-<hash>``: the same decision always gives the same id (at most 50 characters).

    ``attempt`` distinguishes deliberate re-placements of one leg (a trailing stop moved twice).
    """
    if leg not in LEGS:
        raise ValueError(f"unknown order leg {leg!r}; legs: {', '.join(sorted(LEGS))}")
    if bar.tzinfo is None:
        raise ValueError("bar time must be timezone-aware (UTC)")
    key = f"{strategy}|{symbol}|{bar.isoformat()}|{leg}|{attempt}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    sym = _SAFE.sub("", symbol)[:12]
    return f"{CLIENT_ID_PREFIX}-{sym}-{leg}-{digest}"


#: the first 32 bits of every T-Invest key AiTrade derives ("aitr")
TINVEST_MARKER = "61697472"


def tinvest_order_id(client: str) -> str:
    """The T-Invest ``orderId`` (a UUIDv8, 36 characters) of one of our client ids, always the same."""
    raw = bytearray(hashlib.sha256(NAMESPACE.bytes + client.encode()).digest()[:16])
    raw[0:4] = bytes.fromhex(TINVEST_MARKER)
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122/9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def tinvest_legacy_order_id(client: str) -> str:
    """The UUIDv5 key versions before the marker derived (looked up, never sent for a new order)."""
    return str(uuid.uuid5(NAMESPACE, client))


def is_our_tinvest_key(key: str) -> bool:
    """Whether a T-Invest request id is one AiTrade derived (marker and version 8)."""
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        return False
    return parsed.hex.startswith(TINVEST_MARKER) and parsed.version == 8
