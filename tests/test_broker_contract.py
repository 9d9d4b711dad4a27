"""One behavioural contract for every broker: simulated, Bitget (futures and spot) and T-Invest.

The venue brokers talk to the loopback fakes over real HTTP; nothing inside
them is patched. Transport faults (timeouts after the order was accepted, 5xx,
429, resets) only exist for the venues, so those tests run on the three venue
harnesses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aitrade.brokers.base import Broker, InstrumentRules, OrderRequest, OrderStatus, OrderType, Protection, Side
from aitrade.brokers.bitget.broker import BitgetBroker, bitget_broker
from aitrade.brokers.bitget.candles import BitgetCandles
from aitrade.brokers.bitget.http import BitgetHttp
from aitrade.brokers.inventory import OwnedInventory
from aitrade.brokers.simulated import SimulatedBroker
from aitrade.brokers.tinkoff.broker import TinkoffBroker
from aitrade.brokers.tinkoff.candles import TinvestCandles
from aitrade.brokers.tinkoff.http import TinvestRest
from aitrade.brokers.tinkoff.instruments import TinvestInstruments
from aitrade.costs import CostModel
from aitrade.errors import AuthError, OrderNotFound, ReconcileError, SkipError
from aitrade.net.retry import RetryPolicy
from tests.fakes.bitget import KEY, PASSPHRASE, SECRET, FakeBitget
from tests.fakes.tinvest import FakeTinvest

FAST = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05)
D = Decimal


@dataclass
class Harness:
    """A broker plus the levers of its venue."""

    kind: str
    broker: Any
    symbol: str
    qty: Decimal  # a valid order size
    odd: Decimal  # a size off the quantity step
    tiny: Decimal  # below the venue minimum
    price: Decimal  # the market now
    venue: Any = None
    make: Any = None  # () -> a fresh broker over the same state (a restart)
    extra: dict[str, Any] = field(default_factory=dict)

    async def set_price(self, price: Decimal) -> None:
        self.price = price
        if self.kind == "simulated":
            self.extra["prices"][self.symbol] = price
            await self.broker.on_bar(self.symbol, price, price, price)
        else:
            self.venue.set_price(self.symbol, price)

    def placed(self) -> int:
        """Orders the venue holds (all of them, ours or not)."""
        if self.kind == "simulated":
            return len(self.broker._state["orders"])
        if self.kind == "tinkoff":
            return len(self.venue.orders)
        return len(self.venue.spot_orders if self.kind == "bitget-spot" else self.venue.orders)

    def place_path(self) -> str:
        return {
            "bitget-futures": "/api/v2/mix/order/place-order",
            "bitget-spot": "/api/v2/spot/trade/place-order",
            "tinkoff": "PostOrder",
        }[self.kind]

    def venue_qty(self) -> Decimal:
        """What the whole account holds at the venue in the symbol (ours and not)."""
        if self.kind == "bitget-futures":
            return self.venue.positions.get(self.symbol, {}).get("qty", D(0))
        if self.kind == "bitget-spot":
            return self.venue.coins.get(self.symbol[:-4], D(0))
        return self.venue.holdings.get(self.symbol, {}).get("qty", D(0))

    def hold_foreign(self, qty: Decimal) -> None:
        """Holdings the user has that AiTrade did not buy."""
        if self.kind == "bitget-futures":
            self.venue.positions[self.symbol] = {"qty": qty, "avg": self.price}
        elif self.kind == "bitget-spot":
            self.venue.coins[self.symbol[:-4]] = qty
        else:
            self.venue.hold(self.symbol, int(qty), self.price)


class Prices(dict):
    async def __call__(self, symbol: str) -> Decimal:
        return self[symbol]


def simulated(tmp_path: Path) -> Harness:
    prices = Prices(BTCUSDT=D(100))
    rules = {"BTCUSDT": InstrumentRules("BTCUSDT", D("0.1"), D("0.001"), D("0.001"), D(5), "USDT", True)}
    costs = CostModel(fee_rate=0.0006, slippage=0.0005)

    def make() -> SimulatedBroker:
        return SimulatedBroker(
            "bitget-paper", tmp_path / "paper.json", prices, costs, starting_cash=D(10_000), rules=rules
        )

    return Harness(
        "simulated", make(), "BTCUSDT", D("0.5"), D("0.50049"), D("0.0004"), D(100), make=make, extra={"prices": prices}
    )


@pytest.fixture(params=["simulated", "bitget-futures", "bitget-spot", "tinkoff", "tinkoff-printed"])
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    yield await _harness(request.param, tmp_path)


@pytest.fixture(params=["bitget-futures", "bitget-spot", "tinkoff", "tinkoff-printed"])
async def venue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    yield await _harness(request.param, tmp_path)


_OPEN: list[Any] = []


@pytest.fixture(autouse=True)
async def _cleanup() -> AsyncIterator[None]:
    yield
    refused = [r for x in _OPEN for r in getattr(x, "refused", [])]
    while _OPEN:
        await _OPEN.pop().close() if isinstance(_OPEN[-1], aiohttp.ClientSession) else await _OPEN.pop().stop()
    assert not refused, f"AiTrade sent requests the venue's documents do not allow: {refused}"


async def _harness(kind: str, tmp_path: Path, **kw: Any) -> Harness:
    if kind == "simulated":
        harness = simulated(tmp_path)
    elif kind.startswith("bitget"):
        fake = FakeBitget()
        fake.url = await fake.start()  # type: ignore[attr-defined]
        fake.hang_s = 1.0
        _OPEN.append(fake)
        session = aiohttp.ClientSession()
        _OPEN.append(session)
        fake.set_price("BTCUSDT", D(100))
        market = kind.split("-")[1]
        inv_path = tmp_path / f"owned_{kind}.sqlite"

        def make() -> BitgetBroker:
            http = BitgetHttp(session, fake.url, kw.get("key", KEY), SECRET, PASSPHRASE, retry=FAST, timeout_s=0.4)
            candles = BitgetCandles(session, fake.url, market=market, retry=FAST).fetch
            return bitget_broker(
                http,
                OwnedInventory(inv_path),
                market=market,
                receive_window_ms=600,
                settle_margin_ms=150,
                candles=candles,
            )

        odd, tiny = (D("0.50049"), D("0.0004")) if market == "futures" else (D("0.50049"), D("0.001"))
        harness = Harness(kind, make(), "BTCUSDT", D("0.5"), odd, tiny, D(100), fake, make)
    else:  # T-Invest in both proto3 JSON encodings: defaults omitted (as grpc-gateway does) and printed
        fake = FakeTinvest(encoding="print" if kind == "tinkoff-printed" else "omit")
        fake.url = await fake.start()  # type: ignore[attr-defined]
        fake.hang_s = 1.0
        _OPEN.append(fake)
        session = aiohttp.ClientSession()
        _OPEN.append(session)
        fake.set_price("SBER", D("250.00"))
        inv_path = tmp_path / "owned_tinkoff.sqlite"

        def make() -> TinkoffBroker:
            rest = TinvestRest(session, fake.url, kw.get("token", fake.token), retry=FAST, timeout_s=0.4)
            instruments = TinvestInstruments(rest, tmp_path / "instruments.json")
            return TinkoffBroker(
                rest,
                instruments,
                OwnedInventory(inv_path),
                sandbox=True,
                candles=TinvestCandles(rest, instruments).fetch,
            )

        harness = Harness("tinkoff", make(), "SBER", D(20), D(25), D(5), D("250.00"), fake, make)
    if kw.get("connect", True):
        await harness.broker.connect()
    return harness


def cid(name: str) -> str:
    return f"at-test-{name}"


async def buy(h: Harness, name: str = "entry", qty: Decimal | None = None) -> None:
    ack = await h.broker.place_order(OrderRequest(h.symbol, Side.BUY, qty or h.qty, cid(name)))
    assert ack.client_id == cid(name) and ack.venue_order_id
    order = await h.broker.get_order(h.symbol, cid(name))
    assert order is not None and order.status is OrderStatus.FILLED


def held(positions: list, symbol: str) -> Decimal:
    return next((p.quantity for p in positions if p.symbol == symbol), D(0))


# --- the contract, every broker ---------------------------------------------------------------
async def test_is_a_broker_and_reports_an_account(h: Harness) -> None:
    assert isinstance(h.broker, Broker)
    acc = await h.broker.account()
    assert acc.equity > 0 and acc.cash > 0 and acc.currency in ("USDT", "RUB")
    assert await h.broker.positions() == []
    assert await h.broker.last_price(h.symbol) == h.price


async def test_market_order_fills_and_becomes_a_position(h: Harness) -> None:
    await buy(h)
    order = await h.broker.get_order(h.symbol, cid("entry"))
    assert order.filled == h.qty and order.side is Side.BUY and order.avg_price > 0 and order.fee > 0
    qty = held(await h.broker.positions(), h.symbol)
    fee_in_coin = order.fee if h.kind == "bitget-spot" else D(0)  # Bitget spot takes the buy fee in the coin
    assert qty == h.qty - fee_in_coin and qty > 0
    assert (await h.broker.account()).equity > 0


async def test_limit_order_rests_is_listed_and_cancels(h: Harness) -> None:
    low = (h.price * D("0.8")).quantize(D("0.1"))
    ack = await h.broker.place_order(OrderRequest(h.symbol, Side.BUY, h.qty, cid("lim"), OrderType.LIMIT, low))
    assert ack.status is OrderStatus.NEW
    listed = [o for o in await h.broker.open_orders(h.symbol) if o.client_id == cid("lim")]
    assert len(listed) == 1 and listed[0].price == low and listed[0].ours
    await h.broker.cancel_order(h.symbol, cid("lim"))
    assert (await h.broker.get_order(h.symbol, cid("lim"))).status is OrderStatus.CANCELLED
    assert [o for o in await h.broker.open_orders(h.symbol) if o.client_id == cid("lim")] == []
    await h.broker.cancel_order(h.symbol, cid("lim"))  # cancelling a final order changes nothing
    with pytest.raises(SkipError):
        await h.broker.cancel_order(h.symbol, cid("never-placed"))
    assert await h.broker.get_order(h.symbol, cid("never-placed")) is None


async def test_limit_order_fills_when_the_price_trades_through(h: Harness) -> None:
    limit = (h.price * D("0.9")).quantize(D("0.1"))
    await h.broker.place_order(OrderRequest(h.symbol, Side.BUY, h.qty, cid("dip"), OrderType.LIMIT, limit))
    await h.set_price((h.price * D("0.85")).quantize(D("0.1")))
    order = await h.broker.get_order(h.symbol, cid("dip"))
    assert order.status is OrderStatus.FILLED and order.avg_price == limit


async def test_a_duplicate_client_id_never_makes_a_second_order(h: Harness) -> None:
    req = OrderRequest(h.symbol, Side.BUY, h.qty, cid("dup"))
    first = await h.broker.place_order(req)
    again = await h.broker.place_order(req)
    assert again.venue_order_id == first.venue_order_id and h.placed() == 1
    await h.broker.close()  # a restart: the old process lets go of the account
    restarted = h.make()  # a new session over the same state: still one order
    await restarted.connect()
    assert (await restarted.place_order(req)).venue_order_id == first.venue_order_id and h.placed() == 1


async def test_rounding_down_to_the_step_and_minimum_rejects_send_nothing(h: Harness) -> None:
    rules = await h.broker.instrument(h.symbol)
    await h.broker.place_order(OrderRequest(h.symbol, Side.BUY, h.odd, cid("odd")))
    order = await h.broker.get_order(h.symbol, cid("odd"))
    assert order.filled == rules.quantity(h.odd) < h.odd
    before = h.placed()
    with pytest.raises(SkipError, match="minimum"):
        await h.broker.place_order(OrderRequest(h.symbol, Side.BUY, h.tiny, cid("tiny")))
    price = h.price + rules.tick / 3  # off the tick: a buy limit goes down to it
    await h.broker.place_order(OrderRequest(h.symbol, Side.BUY, h.qty, cid("tick"), OrderType.LIMIT, price * D("0.8")))
    resting = await h.broker.get_order(h.symbol, cid("tick"))
    assert resting.price == rules.price(price * D("0.8"), Side.BUY) and h.placed() == before + 1


async def test_protections_are_placed_listed_and_cancelled(h: Harness) -> None:
    await buy(h)
    sl = Protection(h.symbol, "stop_loss", h.price * D("0.9"), h.qty, cid("sl"))
    if not h.broker.capabilities.native_protections:
        with pytest.raises(SkipError, match="synthetic"):
            await h.broker.place_protection(sl)
        return
    with pytest.raises(SkipError, match="no position"):
        await h.broker.place_protection(
            Protection("ETHUSDT" if h.symbol != "SBER" else "GAZP", "stop_loss", D(1), D(1), cid("none"))
        )
    placed_sl = await h.broker.place_protection(sl)
    tp = await h.broker.place_protection(Protection(h.symbol, "take_profit", h.price * D("1.2"), h.qty, cid("tp")))
    assert placed_sl.venue_id and tp.venue_id
    listed = {p.client_id: p for p in await h.broker.protections(h.symbol)}
    assert set(listed) == {cid("sl"), cid("tp")} and listed[cid("sl")].trigger == placed_sl.trigger
    await h.broker.cancel_protection(placed_sl)
    assert [p.client_id for p in await h.broker.protections(h.symbol)] == [cid("tp")]
    await h.broker.cancel_protection(placed_sl)  # already gone: nothing to do
    await h.set_price(h.price * D("1.25"))  # the take-profit fires at the venue
    assert await h.broker.protections(h.symbol) == []
    assert held(await h.broker.positions(), h.symbol) == 0


async def test_close_position_closes_only_what_aitrade_bought(h: Harness) -> None:
    if h.kind != "simulated":
        h.hold_foreign(D(1) if h.kind.startswith("bitget") else D(100))
    foreign = h.venue_qty() if h.kind != "simulated" else D(0)
    assert await h.broker.positions() == []  # the user's own holdings are not AiTrade's
    await buy(h)
    ours = held(await h.broker.positions(), h.symbol)
    assert 0 < ours <= h.qty
    ack = await h.broker.close_position(h.symbol, cid("close"))
    assert ack is not None and (await h.broker.get_order(h.symbol, cid("close"))).status is OrderStatus.FILLED
    assert await h.broker.positions() == []
    if h.kind != "simulated":
        assert h.venue_qty() == foreign  # untouched
    assert await h.broker.close_position(h.symbol, cid("close-again")) is None


async def test_selling_short(h: Harness) -> None:
    req = OrderRequest(h.symbol, Side.SELL, h.qty, cid("short"))
    if not h.broker.capabilities.shorting:
        with pytest.raises(SkipError, match="long only"):
            await h.broker.place_order(req)
        return
    await h.broker.place_order(req)
    assert held(await h.broker.positions(), h.symbol) == -h.qty
    await h.broker.close_position(h.symbol, cid("cover"))
    assert await h.broker.positions() == []


# --- the venues: transport faults and partial fills -------------------------------------------
async def test_partial_fill_counts_only_what_filled(venue: Harness) -> None:
    venue.venue.faults.add("partial", path=venue.symbol)
    await venue.broker.place_order(OrderRequest(venue.symbol, Side.BUY, venue.qty, cid("part")))
    order = await venue.broker.get_order(venue.symbol, cid("part"))
    assert order.status is OrderStatus.PARTIALLY_FILLED and 0 < order.filled < venue.qty
    first = held(await venue.broker.positions(), venue.symbol)
    assert 0 < first < venue.qty
    venue.venue.complete(cid("part"))
    assert (await venue.broker.get_order(venue.symbol, cid("part"))).status is OrderStatus.FILLED
    assert first < held(await venue.broker.positions(), venue.symbol) <= venue.qty


async def test_timeout_after_send_is_reconciled_by_lookup(venue: Harness) -> None:
    venue.venue.faults.add("after", path=venue.place_path())
    ack = await venue.broker.place_order(OrderRequest(venue.symbol, Side.BUY, venue.qty, cid("slow")))
    assert ack.client_id == cid("slow") and venue.placed() == 1
    assert held(await venue.broker.positions(), venue.symbol) > 0


async def test_5xx_on_placement_is_looked_up_then_sent_once_more(venue: Harness) -> None:
    venue.venue.faults.add("500", path=venue.place_path())
    await venue.broker.place_order(OrderRequest(venue.symbol, Side.BUY, venue.qty, cid("five")))
    assert venue.placed() == 1 and "500" in venue.venue.faults.fired


async def test_5xx_after_the_venue_accepted_is_found_not_resent(venue: Harness) -> None:
    venue.venue.faults.add("after500", path=venue.place_path())
    ack = await venue.broker.place_order(OrderRequest(venue.symbol, Side.BUY, venue.qty, cid("ok500")))
    assert ack.venue_order_id and venue.placed() == 1 and "after500" in venue.venue.faults.fired


async def test_a_timeout_on_cancel_is_resolved_by_lookup(venue: Harness) -> None:
    low = (venue.price * D("0.8")).quantize(D("0.1"))
    await venue.broker.place_order(OrderRequest(venue.symbol, Side.BUY, venue.qty, cid("c"), OrderType.LIMIT, low))
    path = "CancelOrder" if venue.kind == "tinkoff" else "cancel-order"
    venue.venue.faults.add("after", path=path)
    await venue.broker.cancel_order(venue.symbol, cid("c"))  # cancelled at the venue, answer lost: looked up
    assert (await venue.broker.get_order(venue.symbol, cid("c"))).status is OrderStatus.CANCELLED
    assert "after" in venue.venue.faults.fired


async def test_a_timeout_on_a_protection_is_resolved_by_lookup(venue: Harness) -> None:
    if not venue.broker.capabilities.native_protections:
        pytest.skip("Bitget spot protects synthetically")
    await buy(venue)
    path = "PostSandboxStopOrder" if venue.kind == "tinkoff" else "place-tpsl-order"
    venue.venue.faults.add("after", path=path)
    placed = await venue.broker.place_protection(
        Protection(venue.symbol, "stop_loss", venue.price * D("0.9"), venue.qty, cid("p-sl"))
    )
    listed = [p for p in await venue.broker.protections(venue.symbol) if p.client_id == cid("p-sl")]
    assert placed.venue_id and len(listed) == 1 and "after" in venue.venue.faults.fired


async def test_unknown_outcome_that_stays_unknown_is_reconcile(venue: Harness) -> None:
    venue.venue.faults.add("500", path=venue.place_path(), times=2)
    with pytest.raises(ReconcileError, match="no order"):
        await venue.broker.place_order(OrderRequest(venue.symbol, Side.BUY, venue.qty, cid("lost")))
    assert venue.placed() == 0


async def test_429_and_resets_back_off_and_succeed(venue: Harness) -> None:
    venue.venue.faults.add("429", path=venue.place_path(), times=2)
    await venue.broker.place_order(OrderRequest(venue.symbol, Side.BUY, venue.qty, cid("busy")))
    venue.venue.faults.add("reset", times=1)
    assert held(await venue.broker.positions(), venue.symbol) > 0
    assert venue.venue.faults.fired == ["429", "429", "reset"] and venue.placed() == 1


async def test_auth_failure_halts_without_retrying(venue: Harness, tmp_path: Path) -> None:
    bad = await _harness(venue.kind, tmp_path / "bad", key="wrong", token="t.wrong", connect=False)
    with pytest.raises(AuthError):
        await bad.broker.connect()  # T-Invest checks the token here (GetAccounts)
        await bad.broker.account()  # Bitget's connect only reads the public server time
    refused = [r for r in bad.venue.requests if "service" in r or "/public/" not in r.get("path", "/public/")]
    assert len(refused) == 1  # refused once, never retried


async def test_tinkoff_duplicate_answer_30057_is_resolved_by_lookup(tmp_path: Path) -> None:
    h = await _harness("tinkoff", tmp_path)
    h.venue.duplicate_answer = "30057"
    req = OrderRequest("SBER", Side.BUY, D(20), cid("t-dup"))
    first = await h.broker.place_order(req)
    await h.broker.close()
    fresh = h.make()  # forgets nothing: the inventory is on disk, but force the venue path
    fresh.inventory.forget(cid("t-dup"))
    await fresh.connect()
    assert (await fresh.place_order(req)).venue_order_id == first.venue_order_id and h.placed() == 1


async def test_tinkoff_account_selection(tmp_path: Path) -> None:
    h = await _harness("tinkoff", tmp_path)
    assert h.broker.account_id == "2000000001"
    rest = h.broker.rest
    wrong = TinkoffBroker(rest, h.broker.instruments, OwnedInventory(tmp_path / "x.sqlite"), account_id="42")
    with pytest.raises(Exception, match="TINKOFF_ACCOUNT_ID=42"):
        await wrong.connect()
    h.venue.accounts.clear()
    empty = TinkoffBroker(rest, h.broker.instruments, OwnedInventory(tmp_path / "y.sqlite"), sandbox=True)
    await empty.connect()  # an empty sandbox gets an account
    assert empty.account_id and h.venue.accounts == [empty.account_id]
    h.venue.sandbox = False
    prod = TinkoffBroker(rest, h.broker.instruments, OwnedInventory(tmp_path / "z.sqlite"), sandbox=False)
    await prod.connect()
    await prod.place_order(OrderRequest("SBER", Side.BUY, D(20), cid("p")))
    placed = await prod.place_protection(Protection("SBER", "stop_loss", D(200), D(20), cid("p-sl")))
    assert placed.venue_id and any(r["service"] == "StopOrdersService" for r in h.venue.requests)


async def test_bitget_demo_header_and_unknown_symbol(tmp_path: Path) -> None:
    h = await _harness("bitget-futures", tmp_path)
    h.venue.demo = True
    with pytest.raises(AuthError, match="40099"):
        await h.broker.account()
    h.broker.http.demo = True
    assert (await h.broker.account()).currency == "USDT"
    with pytest.raises(OrderNotFound):
        await h.broker.cancel_order("BTCUSDT", cid("nothing"))


async def test_no_order_against_a_holding_aitrade_did_not_open(venue: Harness) -> None:
    venue.hold_foreign(D(1) if venue.kind.startswith("bitget") else D(100))
    with pytest.raises(SkipError, match="did not open|long only"):  # netting would sell the user's holding
        await venue.broker.place_order(OrderRequest(venue.symbol, Side.SELL, venue.qty, cid("against")))
    assert venue.placed() == 0


async def test_candles_from_the_venue(venue: Harness) -> None:
    import pandas as pd  # noqa: PLC0415

    end = pd.Timestamp.now(tz="UTC").floor("1h")
    bars = await venue.broker.candles(venue.symbol, "1h", end - pd.Timedelta(days=7), end)
    assert len(bars) > 5 and str(bars.index.tz) == "UTC" and bars.index.is_monotonic_increasing
    assert {"open", "high", "low", "close", "volume"} <= set(bars.columns) and bars.index[-1] < end
