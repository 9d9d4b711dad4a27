"""A second process for the multi-process tests: ``python -m tests.proc ACTION HOME [ARGS]``.

Settings come from HOME and the environment (the fakes' URLs and credentials),
exactly as for the CLI. Actions:

* ``hold HOME``: start a trading (live) router, print ``ready``, keep its account locks until stdin closes.
* ``place HOME SYMBOL SIDE QTY CLIENT_ID``: start a trading router and place one market order; print the
  outcome as JSON. A held account lock prints ``{"locked": "..."}`` and exits 3.
* ``fills LEDGER N TAG``: record and fill N buy orders of 1 unit of ``X`` in an ownership ledger.
"""

from __future__ import annotations

import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path

import aiohttp

from aitrade.brokers.base import OrderRequest, Side
from aitrade.brokers.inventory import OwnedInventory
from aitrade.config import load_settings
from aitrade.errors import LockHeld
from aitrade.router import Router


async def hold(home: str) -> int:
    settings = load_settings(home)
    async with aiohttp.ClientSession() as session, Router(settings, session, mode="live") as router:
        await router.positions()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    return 0


async def place(home: str, symbol: str, side: str, qty: str, client_id: str) -> int:
    settings = load_settings(home)
    async with aiohttp.ClientSession() as session:
        try:
            async with Router(settings, session, mode="live", symbols=[symbol]) as router:
                ack = await router.place_order(OrderRequest(symbol, Side(side), Decimal(qty), client_id))
        except LockHeld as exc:
            print(json.dumps({"locked": str(exc)}), flush=True)
            return 3
    print(json.dumps({"venue_order_id": ack.venue_order_id}), flush=True)
    return 0


def fills(ledger: str, n: str, tag: str) -> int:
    inv = OwnedInventory(Path(ledger))
    for i in range(int(n)):
        cid = f"at-{tag}-{i}"
        assert inv.claim(cid, "X", Side.BUY, Decimal(1))
        inv.apply(cid, Decimal(1), Decimal(100), final=True)
    inv.close()
    return 0


def main(argv: list[str]) -> int:
    action, *args = argv
    if action == "fills":
        return fills(*args)
    return asyncio.run({"hold": hold, "place": place}[action](*args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
