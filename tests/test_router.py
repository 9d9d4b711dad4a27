"""The router: brokers per mode, credentials at start, aggregation, close-all that touches only ours; the CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from aitrade.brokers.base import OrderRequest, OrderType, Protection, Side
from aitrade.brokers.bitget.broker import BitgetBroker
from aitrade.brokers.bitget.endpoints import MIX_PLACE
from aitrade.brokers.simulated import SimulatedBroker
from aitrade.brokers.tinkoff.broker import TinkoffBroker
from aitrade.brokers.tinkoff.quotes import TinvestQuotes
from aitrade.config import load_settings
from aitrade.errors import ConfigError, HaltError, SkipError, UnknownSymbolError, UserError
from aitrade.router import Router, route
from tests.fakes.bitget import KEY, PASSPHRASE, SECRET, FakeBitget
from tests.fakes.tinvest import FakeTinvest
from tests.test_cli import _cli

D = Decimal
SYMBOLS = ("BTCUSDT", "SBER")


def live_env(bitget: FakeBitget, tinvest: FakeTinvest, **extra: str) -> dict[str, str]:
    return {
        "EXECUTION_MODE": "live",
        "ALLOW_LIVE": "1",
        "BITGET_API_KEY": KEY,
        "BITGET_API_SECRET": SECRET,
        "BITGET_API_PASSPHRASE": PASSPHRASE,
        "BITGET_BASE_URL": bitget.url,
        "TINKOFF_API_TOKEN": tinvest.token,
        "TINKOFF_BASE_URL": tinvest.url,
        **extra,
    }


def test_routing_table_has_no_silent_default() -> None:
    assert route("BTCUSDT") == "bitget" and route("SBER") == "tinkoff"
    with pytest.raises(UnknownSymbolError, match="DOGEUSDT"):
        route("DOGEUSDT")


async def test_modes_are_guarded(home: Path) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(UserError, match="backtest"):
            Router(load_settings(home, {}), s)
        with pytest.raises(ConfigError, match="ALLOW_LIVE"):
            Router(load_settings(home, {"EXECUTION_MODE": "live"}), s, mode="live")
        settings = load_settings(home, {"EXECUTION_MODE": "live", "ALLOW_LIVE": "1", "TINKOFF_API_TOKEN": "t"})
        with pytest.raises(ConfigError, match="BITGET_API_KEY, BITGET_API_SECRET, BITGET_API_PASSPHRASE"):
            Router(settings, s)  # the universe needs Bitget: missing keys fail at start, not at the first order
        stocks = load_settings(
            home, {"EXECUTION_MODE": "live", "ALLOW_LIVE": "1", "UNIVERSE_MODE": "stocks", "TINKOFF_API_TOKEN": "t"}
        )
        router = Router(stocks, s)  # only the brokers the universe needs are built
        assert list(router.brokers) == ["tinkoff"] and isinstance(router.brokers["tinkoff"], TinkoffBroker)
        with pytest.raises(UnknownSymbolError, match="did not build"):
            router.broker_for("BTCUSDT")


async def test_paper_never_holds_a_client_that_can_trade(home: Path, bitget: FakeBitget, tinvest: FakeTinvest) -> None:
    env = {
        "EXECUTION_MODE": "paper",
        "BITGET_API_KEY": KEY,
        "BITGET_API_SECRET": SECRET,
        "BITGET_API_PASSPHRASE": PASSPHRASE,
        "BITGET_BASE_URL": bitget.url,
        "TINKOFF_API_TOKEN": tinvest.token,
        "TINKOFF_BASE_URL": tinvest.url,
    }
    async with aiohttp.ClientSession() as s:
        router = Router(load_settings(home, env), s)
        assert all(isinstance(b, SimulatedBroker) for b in router.brokers.values())
        await router.start()
        bitget.set_price("BTCUSDT", D(100))
        tinvest.set_price("SBER", D("250.00"))
        await router.place_order(OrderRequest("BTCUSDT", Side.BUY, D("0.5"), "at-paper-1"))
        await router.place_order(OrderRequest("SBER", Side.BUY, D(10), "at-paper-2"))
        assert {p.symbol: p.quantity for p in await router.positions()} == {"BTCUSDT": D("0.5"), "SBER": D(10)}
        assert bitget.orders == {} and tinvest.orders == {}  # nothing reached a venue
        assert not [r for r in bitget.requests if "ACCESS-KEY" in str(r)]
        quotes = router.brokers["tinkoff"]._price.feed
        assert isinstance(quotes, TinvestQuotes)
        with pytest.raises(HaltError, match="may call only"):
            await quotes.rest.call("OrdersService", "PostOrder", {}, what="an order from paper")
        assert {r["service"] for r in tinvest.requests} <= {"MarketDataService", "InstrumentsService"}
        import pandas as pd  # noqa: PLC0415

        end = pd.Timestamp.now(tz="UTC").floor("1h")
        bars = await router.brokers["bitget"].candles("BTCUSDT", "1h", end - pd.Timedelta(days=2), end)
        assert len(bars) == 48  # paper reads the venue's public candles
        again = Router(load_settings(home, env), s)  # a new router builds new brokers, never reuses
        assert all(again.brokers[k] is not router.brokers[k] for k in router.brokers)
        live = Router(load_settings(home, {**env, "EXECUTION_MODE": "live", "ALLOW_LIVE": "1"}), s)
        assert isinstance(live.brokers["bitget"], BitgetBroker)
        assert all(isinstance(b, SimulatedBroker) for b in router.brokers.values())  # paper is still paper


async def test_paper_without_a_feed_prices_from_the_bars_it_is_fed(home: Path) -> None:
    settings = load_settings(home, {"EXECUTION_MODE": "paper", "UNIVERSE_MODE": "stocks"})
    async with aiohttp.ClientSession() as s, Router(settings, s) as router:
        sim = router.brokers["tinkoff"]
        with pytest.raises(SkipError, match="no price for SBER"):
            await router.place_order(OrderRequest("SBER", Side.BUY, D(10), "at-x"))
        await sim.on_bar("SBER", D(251), D(249), D(250))
        await router.place_order(OrderRequest("SBER", Side.BUY, D(10), "at-x"))
        acc = (await router.accounts())["tinkoff"]
        assert acc.currency == "RUB" and acc.broker == "tinkoff-paper"


async def test_live_router_aggregates_and_close_all_touches_only_ours(
    home: Path, bitget: FakeBitget, tinvest: FakeTinvest
) -> None:
    bitget.set_price("BTCUSDT", D(100))
    tinvest.set_price("SBER", D("250.00"))
    bitget.positions["BTCUSDT"] = {"qty": D(1), "avg": D(90)}  # the user's own futures position
    tinvest.hold("SBER", 100, D(200))  # the user's own shares
    settings = load_settings(home, live_env(bitget, tinvest))
    async with aiohttp.ClientSession() as s, Router(settings, s, symbols=SYMBOLS) as router:
        # the user's own resting order, placed by hand (not our prefix)
        user = router.brokers["bitget"]
        await user.http.call(
            MIX_PLACE,
            what="a manual order",
            body={
                "symbol": "BTCUSDT",
                "productType": "USDT-FUTURES",
                "marginMode": "crossed",
                "marginCoin": "USDT",
                "size": "0.1",
                "side": "buy",
                "orderType": "limit",
                "price": "50.0",
                "clientOid": "manual-1",
            },
        )
        await router.place_order(OrderRequest("BTCUSDT", Side.BUY, D("0.5"), "at-e-1"))
        with pytest.raises(SkipError, match="did not open"):  # a short would sell the user's shares
            await router.place_order(OrderRequest("SBER", Side.SELL, D(20), "at-e-2"))
        await router.place_order(OrderRequest("SBER", Side.BUY, D(20), "at-e-2"))
        await router.place_order(OrderRequest("BTCUSDT", Side.BUY, D("0.5"), "at-l-1", OrderType.LIMIT, D(60)))
        await router.place_protection(Protection("BTCUSDT", "stop_loss", D(80), D("0.5"), "at-sl-1"))
        accounts = await router.accounts()
        assert {a.currency for a in accounts.values()} == {"USDT", "RUB"}
        assert set(await router.totals()) == {"USDT", "RUB"}  # never added across currencies
        assert {p.symbol: p.quantity for p in await router.positions()} == {"BTCUSDT": D("0.5"), "SBER": D(20)}
        assert [o.client_id for o in await router.open_orders(ours_only=True)] == ["at-l-1"]
        report = await router.close_all_positions()
        assert report.ok, report.errors
        assert report.cancelled == ["at-l-1"] and report.protections_cancelled == ["at-sl-1"]
        assert len(report.closed) == 2 and await router.positions() == []
        assert [o.client_id for o in await router.open_orders()] == ["manual-1"]  # the user's order stays
    assert bitget.positions["BTCUSDT"]["qty"] == D(1) and tinvest.holdings["SBER"]["qty"] == D(100)


async def test_read_only_router_refuses_to_trade(home: Path, bitget: FakeBitget, tinvest: FakeTinvest) -> None:
    settings = load_settings(home, {**live_env(bitget, tinvest), "ALLOW_LIVE": "0"})
    async with (
        aiohttp.ClientSession() as s,
        Router(settings, s, mode="live", read_only=True, symbols=SYMBOLS) as router,
    ):
        assert (await router.accounts())["bitget"].currency == "USDT"
        with pytest.raises(HaltError, match="read-only"):
            await router.place_order(OrderRequest("BTCUSDT", Side.BUY, D("0.5"), "at-ro"))
        report = await router.close_all_positions()
    assert bitget.orders == {} and report.ok


async def test_cli_broker_status_instruments_and_close_all(
    home: Path, bitget: FakeBitget, tinvest: FakeTinvest
) -> None:
    bitget.set_price("BTCUSDT", D(100))
    env = live_env(bitget, tinvest, UNIVERSE_MODE="both")
    code, out, err = await _cli("--home", str(home), "broker", "status", "--mode", "live", "--json", env=env)
    assert code == 0, out + err
    status = json.loads(out)
    assert status["brokers"]["bitget"]["account"]["currency"] == "USDT"
    assert status["brokers"]["tinkoff"]["account_id"] == "2000000001"
    assert SECRET not in out + err and tinvest.token not in out + err and KEY not in out + err
    code, out, err = await _cli("--home", str(home), "broker", "status", "--mode", "live", env=env)
    assert code == 0 and "[bitget]" in out and "no positions" in out, out + err
    code, out, err = await _cli("--home", str(home), "broker", "instruments", "BTCUSDT", "SBER", env=env)
    assert code == 0 and "0.1" in out and "RUB" in out, out + err
    code, out, err = await _cli("--home", str(home), "close-all", env=env)
    assert code == 2 and "--confirm" in err
    code, out, err = await _cli("--home", str(home), "close-all", "--confirm", env=env)
    assert code == 0 and "closed 0 positions" in out, out + err
    code, out, err = await _cli("--home", str(home), "close-all", "--confirm", env={**env, "ALLOW_LIVE": "0"})
    assert code == 0 and "mode paper" in out, out + err  # live without ALLOW_LIVE runs as paper
