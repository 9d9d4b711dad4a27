"""The Bitget HTTP seam against the fake venue: signatures, clock sync, and errors typed by what to do."""

from __future__ import annotations

import time

import aiohttp
import pytest

from aitrade.brokers.bitget import endpoints as ep
from aitrade.brokers.bitget.http import BitgetHttp, translate
from aitrade.errors import AuthError, DuplicateOrder, HaltError, OrderNotFound, ReconcileError, SkipError
from aitrade.net.retry import RetryPolicy
from tests.fakes.bitget import KEY, PASSPHRASE, SECRET, FakeBitget

FAST = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05)
ORDER = {
    "symbol": "BTCUSDT",
    "productType": "USDT-FUTURES",
    "marginMode": "crossed",
    "marginCoin": "USDT",
    "size": "0.5",
    "side": "buy",
    "orderType": "market",
    "clientOid": "at-BTCUSDT-entry-1",
}


def client(session, fake, **kw) -> BitgetHttp:
    args = {"key": KEY, "secret": SECRET, "passphrase": PASSPHRASE, **kw}
    return BitgetHttp(
        session, fake.url, args.pop("key"), args.pop("secret"), args.pop("passphrase"), retry=FAST, **args
    )


async def test_signed_get_and_post(bitget: FakeBitget) -> None:
    async with aiohttp.ClientSession() as s:
        http = client(s, bitget)
        assets = await http.call(ep.SPOT_ASSETS, params={"coin": "USDT"}, what="assets")
        assert assets[0]["coin"] == "USDT"
        ack = await http.call(ep.MIX_PLACE, body=ORDER, what="place")
        assert ack["clientOid"] == ORDER["clientOid"]


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"secret": "wrong"}, "40009"),
        ({"passphrase": "nope"}, "40012"),
        ({"key": "other"}, "40006"),
        ({"demo": True}, "40099"),
    ],
)
async def test_credentials_and_environment_errors_halt_without_retry(bitget: FakeBitget, kw, code: str) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(AuthError, match=code):
            await client(s, bitget, **kw).call(ep.SPOT_ASSETS, what="assets")
    assert len(bitget.requests) == 1


async def test_clock_drift_is_resynced_with_server_time(bitget: FakeBitget) -> None:
    async with aiohttp.ClientSession() as s:
        http = client(s, bitget, clock=lambda: time.time() - 120)  # our clock is two minutes slow
        await http.call(ep.SPOT_ASSETS, what="assets")
        assert abs(http.offset_ms - 120_000) < 5_000


async def test_duplicate_client_id_never_makes_a_second_order(bitget: FakeBitget) -> None:
    async with aiohttp.ClientSession() as s:
        http = client(s, bitget)
        await http.call(ep.MIX_PLACE, body=ORDER, what="place")
        with pytest.raises(DuplicateOrder, match="40786"):
            await http.call(ep.MIX_PLACE, body=ORDER, what="place")
    assert len(bitget.orders) == 1


async def test_timeout_after_send_becomes_reconcile_and_the_lookup_resolves_it(bitget: FakeBitget) -> None:
    bitget.hang_s = 2.0
    bitget.faults.add("after", path="place-order")
    async with aiohttp.ClientSession() as s:
        http = client(s, bitget, timeout_s=0.3)
        with pytest.raises(ReconcileError, match="look it up"):
            await http.call(ep.MIX_PLACE, body=ORDER, what="place")
        found = await http.call(
            ep.MIX_DETAIL,
            what="detail",
            params={"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "clientOid": ORDER["clientOid"]},
        )
        assert found["clientOid"] == ORDER["clientOid"] and found["state"] == "filled"
    assert len(bitget.orders) == 1  # nothing was re-sent


async def test_429_is_retried_and_5xx_on_a_post_is_reconcile(bitget: FakeBitget) -> None:
    bitget.faults.add("429", path="/api/v2/mix/order/place-order")
    async with aiohttp.ClientSession() as s:
        http = client(s, bitget)
        await http.call(ep.MIX_PLACE, body=ORDER, what="place")
        bitget.faults.add("500", path="/api/v2/mix/order/place-order")
        with pytest.raises(ReconcileError):
            await http.call(ep.MIX_PLACE, body={**ORDER, "clientOid": "at-2"}, what="place")


async def test_skip_and_not_found(bitget: FakeBitget) -> None:
    async with aiohttp.ClientSession() as s:
        http = client(s, bitget)
        with pytest.raises(SkipError, match="43012"):
            await http.call(ep.MIX_PLACE, body={**ORDER, "size": "1000", "clientOid": "at-3"}, what="place")
        with pytest.raises(OrderNotFound, match="40109"):
            await http.call(
                ep.MIX_DETAIL,
                what="detail",
                params={"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "clientOid": "nope"},
            )


def test_translation_table() -> None:
    assert isinstance(translate(400, {"code": "40085", "msg": "UTA"}, "x", {}), AuthError)
    assert isinstance(translate(400, {"code": "45110", "msg": "less than 5 USDT"}, "x", {}), SkipError)
    assert isinstance(translate(400, {"code": "43118", "msg": "clientOrderId duplicate"}, "x", {}), DuplicateOrder)
    assert isinstance(translate(400, {"code": "45034", "msg": "clientOid duplicate"}, "x", {}), DuplicateOrder)
    assert isinstance(translate(200, {"code": "99999", "msg": "?"}, "x", {}), HaltError)


def test_missing_credentials_halt() -> None:
    with pytest.raises(HaltError, match="BITGET_API_KEY"):
        BitgetHttp(None, "http://x", "", "s", "p")  # type: ignore[arg-type]
