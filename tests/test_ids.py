"""Deterministic client ids and T-Invest idempotency keys."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitrade.brokers.ids import (
    TINVEST_MARKER,
    client_id,
    is_our_tinvest_key,
    tinvest_legacy_order_id,
    tinvest_order_id,
)

BAR = datetime(2024, 1, 1, 4, tzinfo=UTC)


def test_same_decision_same_id_and_prefix() -> None:
    a = client_id("universal_live_v1", "BTCUSDT", BAR, "entry")
    assert a == client_id("universal_live_v1", "BTCUSDT", BAR, "entry")
    assert a.startswith("at-BTCUSDT-entry-") and len(a) <= 50
    assert a != client_id("universal_live_v1", "BTCUSDT", BAR + timedelta(hours=4), "entry")
    assert a != client_id("universal_live_v1", "BTCUSDT", BAR, "sl")
    assert a != client_id("universal_live_v1", "BTCUSDT", BAR, "entry", attempt=1)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown order leg"):
        client_id("s", "X", BAR, "moon")
    with pytest.raises(ValueError, match="timezone-aware"):
        client_id("s", "X", datetime(2024, 1, 1), "entry")


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_ids_fit_the_venues(strategy: str, symbol: str) -> None:
    cid = client_id(strategy, symbol, BAR, "exit")
    assert len(cid) <= 50 and cid.isascii() and " " not in cid
    key = tinvest_order_id(cid)
    assert len(key) == 36 and uuid.UUID(key).version == 8 and key == tinvest_order_id(cid)
    assert key.startswith(TINVEST_MARKER) and is_our_tinvest_key(key)
    assert not is_our_tinvest_key(str(uuid.uuid4())) and not is_our_tinvest_key(tinvest_legacy_order_id(cid))
    assert not is_our_tinvest_key("R700001") and tinvest_legacy_order_id(cid) != key
