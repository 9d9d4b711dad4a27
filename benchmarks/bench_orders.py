"""Order round trip through router + broker client vs a bare aiohttp request, both against the loopback fakes.

The peer is the least any client must do: sign (Bitget) or authorise
(T-Invest), POST the order, read and parse the JSON answer. The router path
adds routing, normalisation to the instrument rules, the ownership ledger
(the client id recorded durably before the order is sent: one SQLite commit
with ``synchronous=FULL``, so one fsync) and error typing. The client's own
rate limiter is opened up for both: it models the venue's quota, which is not
overhead. Rounds alternate between the two paths so drift hits both alike.

The ledger's own cost is printed beside it: one claim (insert + commit) at
``FULL`` and at ``NORMAL`` on the same disk, so the fsync's share is visible.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import aiohttp
import numpy as np

from aitrade.brokers.base import OrderRequest, Side
from aitrade.brokers.bitget.auth import body_text, signed_headers
from aitrade.brokers.inventory import OwnedInventory
from aitrade.config import load_settings
from aitrade.net.ratelimit import RateLimiter
from aitrade.router import Router
from tests.fakes.bitget import KEY, PASSPHRASE, SECRET, FakeBitget
from tests.fakes.tinvest import FakeTinvest

N, WARMUP, ROUNDS = 300, 20, 6


async def _bare_bitget(session: aiohttp.ClientSession, url: str) -> None:
    path = "/api/v2/mix/order/place-order"
    body = body_text(
        {
            "symbol": "BTCUSDT",
            "productType": "USDT-FUTURES",
            "marginMode": "crossed",
            "marginCoin": "USDT",
            "size": "0.1",
            "side": "buy",
            "orderType": "market",
            "clientOid": uuid.uuid4().hex,
        }
    )
    headers = signed_headers(KEY, SECRET, PASSPHRASE, int(time.time() * 1000), "POST", path, "", body)
    async with session.post(url + path, data=body, headers=headers) as resp:
        data = json.loads(await resp.text())
    assert data["code"] == "00000", data


async def _bare_tinvest(session: aiohttp.ClientSession, url: str, token: str, account: str, uid: str) -> None:
    body = {
        "instrumentId": uid,
        "quantity": "1",
        "direction": "ORDER_DIRECTION_BUY",
        "accountId": account,
        "orderType": "ORDER_TYPE_MARKET",
        "orderId": str(uuid.uuid4()),
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with session.post(
        url + "/tinkoff.public.invest.api.contract.v1.OrdersService/PostOrder", data=json.dumps(body), headers=headers
    ) as resp:
        data = json.loads(await resp.text())
    assert "orderId" in data, data


def _stats(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99))}


async def _run() -> dict[str, dict[str, float]]:
    bitget, tinvest = FakeBitget(), FakeTinvest()
    bitget.rate_limit = tinvest.rate_per_s = 1e9
    burl, turl = await bitget.start(), await tinvest.start()
    bitget.set_price("BTCUSDT", Decimal(100))
    tinvest.set_price("SBER", Decimal("250.00"))
    bitget.margin = tinvest.cash = Decimal(10) ** 12
    home = Path(tempfile.mkdtemp(prefix="aitrade-bench-"))
    env = {
        "EXECUTION_MODE": "live",
        "ALLOW_LIVE": "1",
        "BITGET_API_KEY": KEY,
        "BITGET_API_SECRET": SECRET,
        "BITGET_API_PASSPHRASE": PASSPHRASE,
        "BITGET_BASE_URL": burl,
        "TINKOFF_API_TOKEN": tinvest.token,
        "TINKOFF_BASE_URL": turl,
    }
    out: dict[str, dict[str, float]] = {}
    try:
        async with aiohttp.ClientSession() as session:
            router = Router(load_settings(home, env), session, symbols=("BTCUSDT", "SBER"))
            await router.start()
            router.brokers["bitget"].http.limiter = RateLimiter({})
            router.brokers["tinkoff"].rest.limiter = RateLimiter({})
            uid = (await router.brokers["tinkoff"].instruments.resolve("SBER"))["uid"]
            account = router.brokers["tinkoff"].account_id
            seq = 0

            async def ours(symbol: str, qty: str) -> None:
                nonlocal seq
                seq += 1
                await router.place_order(OrderRequest(symbol, Side.BUY, Decimal(qty), f"at-bench-{seq}"))

            cases = {
                "bitget": (lambda: ours("BTCUSDT", "0.1"), lambda: _bare_bitget(session, burl)),
                "tinkoff": (
                    lambda: ours("SBER", "10"),
                    lambda: _bare_tinvest(session, turl, tinvest.token, account, uid),
                ),
            }
            for name, (routed, bare) in cases.items():
                times: dict[str, list[float]] = {"router": [], "bare": []}
                for _ in range(WARMUP):
                    await routed()
                    await bare()
                for _ in range(ROUNDS):
                    for label, fn in (("router", routed), ("bare", bare)):
                        for _ in range(N // ROUNDS):
                            t0 = time.perf_counter()
                            await fn()
                            times[label].append((time.perf_counter() - t0) * 1000)
                r, b = _stats(times["router"]), _stats(times["bare"])
                out[name] = {
                    "router_p50_ms": r["p50_ms"],
                    "router_p99_ms": r["p99_ms"],
                    "bare_p50_ms": b["p50_ms"],
                    "bare_p99_ms": b["p99_ms"],
                    "p50_ratio": r["p50_ms"] / b["p50_ms"],
                    "p99_ratio": r["p99_ms"] / b["p99_ms"],
                }
            await router.close()
    finally:
        await bitget.stop()
        await tinvest.stop()
    return out


def _ledger_claims() -> dict[str, float]:
    """p50 of one durable client-id record (the write-ahead step of every order), per synchronous level."""
    out = {}
    for level in ("FULL", "NORMAL"):
        inv = OwnedInventory(Path(tempfile.mkdtemp(prefix="aitrade-ledger-")) / "owned.sqlite")
        inv._db.execute(f"PRAGMA synchronous={level}")
        times = []
        for i in range(N):
            t0 = time.perf_counter()
            inv.claim(f"at-claim-{i}", "BTCUSDT", Side.BUY, Decimal(1))
            times.append((time.perf_counter() - t0) * 1000)
        inv.close()
        out[f"claim_{level.lower()}_p50_ms"] = float(np.percentile(times, 50))
    return out


def main() -> dict[str, dict[str, float]]:
    print(
        f"order round trip, {N} market orders per path against the loopback fakes (strict: every request "
        "checked against the venue's documents); added latency = router+client minus bare aiohttp"
    )
    out = asyncio.run(_run())
    out["ledger"] = _ledger_claims()
    led = out["ledger"]
    print(
        f"  ledger   one client-id record p50 {led['claim_full_p50_ms']:.3f} ms (synchronous=FULL, the shipped "
        f"setting) vs {led['claim_normal_p50_ms']:.3f} ms (NORMAL): the fsync is the difference"
    )
    for name, r in out.items():
        if name == "ledger":
            continue
        r["added_p50_ms"] = r["router_p50_ms"] - r["bare_p50_ms"]
        r["added_p99_ms"] = r["router_p99_ms"] - r["bare_p99_ms"]
        print(
            f"  {name:8s} router+client p50 {r['router_p50_ms']:.2f} ms  p99 {r['router_p99_ms']:.2f} ms | "
            f"bare aiohttp p50 {r['bare_p50_ms']:.2f} ms  p99 {r['bare_p99_ms']:.2f} ms | "
            f"added latency p50 {r['added_p50_ms']:+.2f} ms  p99 {r['added_p99_ms']:+.2f} ms | "
            f"ratio p50 {r['p50_ratio']:.2f}x  p99 {r['p99_ratio']:.2f}x"
        )
    return out


if __name__ == "__main__":
    main()
