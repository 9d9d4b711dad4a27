"""The execution router: symbol -> broker for one execution mode.

* Brokers are built by the router for its mode and die with it; nothing is
  cached across routers, so switching paper <-> live always builds a new set
  (the original reused live clients in paper).
* ``paper`` holds only :class:`SimulatedBroker` objects. Their prices come
  from a public, unsigned Bitget ticker and a T-Invest client that may call
  only the market-data and instrument services, or from the bars the runner
  feeds; nothing in a paper router can place a real order.
* ``live`` builds the venue brokers (Bitget demo and the T-Invest sandbox are
  venues too) and needs ``ALLOW_LIVE=1``. A ``read_only`` router may look at
  live accounts without it: every call that would trade raises :class:`HaltError`.
* Only the brokers the universe needs are built, and a needed broker without
  credentials is a :class:`ConfigError` when the router is made.
* Close-all and cancel-all touch only AiTrade's orders (client-id prefix) and
  positions (counted from AiTrade's own fills).
* The ``aiohttp.ClientSession`` belongs to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp

from aitrade.backtest.costs import costs_for
from aitrade.brokers.base import CLIENT_ID_PREFIX, Account, Broker, Order, OrderAck, OrderRequest, Position, Protection
from aitrade.brokers.bitget.broker import PRODUCT, BitgetBroker
from aitrade.brokers.bitget.http import BitgetHttp
from aitrade.brokers.ids import client_id
from aitrade.brokers.inventory import OwnedInventory
from aitrade.brokers.simulated import SimulatedBroker
from aitrade.brokers.tinkoff.broker import TinkoffBroker
from aitrade.config import Settings
from aitrade.data.sources.bitget import BitgetCandles
from aitrade.data.sources.http import request_json
from aitrade.data.sources.tinvest import TinvestCandles, TinvestInstruments, TinvestRest
from aitrade.errors import AiTradeError, ConfigError, HaltError, SkipError, UnknownSymbolError, UserError
from aitrade.money import quotation_to_decimal
from aitrade.universe import ROUTING, profile_for

log = logging.getLogger(__name__)
MODES = ("paper", "live")
VENUES = ("bitget", "tinkoff")
CURRENCY = {"bitget": "USDT", "tinkoff": "RUB"}
ASSET_CLASS = {"bitget": "crypto", "tinkoff": "stocks"}
QUOTE_SERVICES = frozenset({"MarketDataService", "InstrumentsService"})


def route(symbol: str, routing: Mapping[str, str] = ROUTING) -> str:
    """The broker name of a symbol; an unrouted symbol is an error, never a silent default."""
    try:
        return routing[symbol]
    except KeyError:
        raise UnknownSymbolError(
            f"{symbol!r} is not in the routing table (crypto -> bitget, MOEX -> tinkoff)"
        ) from None


# --- paper price feeds (cannot trade) --------------------------------------------------------
class BitgetQuotes:
    """Last prices from Bitget's public ticker: unsigned, no credentials."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, market: str) -> None:
        self.session, self.base_url, self.market = session, base_url.rstrip("/"), market

    async def last_price(self, symbol: str) -> Decimal:
        if self.market == "spot":
            url, params = "/api/v2/spot/market/tickers", {"symbol": symbol}
        else:
            url, params = "/api/v2/mix/market/ticker", {"symbol": symbol, "productType": PRODUCT}
        resp = await request_json(self.session, "GET", self.base_url + url, params=params,
                                  what=f"Bitget ticker {symbol}", timeout_s=10.0)  # fmt: skip
        rows = resp.body.get("data") if isinstance(resp.body, dict) else None
        if resp.status != 200 or not rows:
            raise SkipError(f"Bitget ticker {symbol}: HTTP {resp.status} {str(resp.body)[:200]}")
        return Decimal(str(rows[0]["lastPr"]))


class TinvestQuotes:
    """Last prices from T-Invest through a client that may call only market data and instruments."""

    def __init__(self, rest: TinvestRest, instruments: TinvestInstruments) -> None:
        if rest.allowed_services is None or "OrdersService" in rest.allowed_services:
            raise HaltError("a paper quote client must not be able to reach OrdersService")
        self.rest, self.instruments = rest, instruments

    async def last_price(self, symbol: str) -> Decimal:
        inst = await self.instruments.resolve(symbol)
        answer = await self.rest.call("MarketDataService", "GetLastPrices", {"instrumentId": [inst["uid"]]},
                                      what=f"T-Invest last price {symbol}")  # fmt: skip
        prices = answer.get("lastPrices") or []
        if not prices:
            raise SkipError(f"T-Invest has no last price for {symbol}")
        return quotation_to_decimal(prices[0].get("price"))


class PaperPrices:
    """A simulated broker's price: the live quote when there is a feed, else the last bar fed to it."""

    def __init__(self, feed: Any | None) -> None:
        self.feed = feed
        self.broker: SimulatedBroker | None = None

    async def __call__(self, symbol: str) -> Decimal:
        if self.feed is not None:
            return await self.feed.last_price(symbol)
        last = self.broker._last.get(symbol) if self.broker is not None else None
        if last is None:
            raise SkipError(f"paper has no price for {symbol} yet: feed it bars (on_bar) or configure the venue's "
                            "market data")  # fmt: skip
        return last


# --- read-only guard --------------------------------------------------------------------------
TRADING_CALLS = frozenset({"place_order", "cancel_order", "place_protection", "cancel_protection", "close_position"})


class ReadOnly:
    """A broker that may be looked at but not traded through."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        if name in TRADING_CALLS:

            async def refuse(*args: Any, **kwargs: Any) -> Any:
                raise HaltError(f"{self._broker.name}: this router is read-only; {name} refused")

            return refuse
        return getattr(self._broker, name)


# --- building ---------------------------------------------------------------------------------
def _missing_credentials(settings: Settings, venue: str) -> list[str]:
    if venue == "bitget":
        names = {"BITGET_API_KEY": settings.bitget_api_key, "BITGET_API_SECRET": settings.bitget_api_secret,
                 "BITGET_API_PASSPHRASE": settings.bitget_api_passphrase}  # fmt: skip
    else:
        names = {"TINKOFF_API_TOKEN": settings.tinkoff_api_token}
    return [n for n, v in names.items() if not v]


def _tinvest_rest(settings: Settings, session: aiohttp.ClientSession, *, quotes_only: bool) -> TinvestRest:
    return TinvestRest(session, settings.tinkoff_base_url, settings.tinkoff_api_token.get(),
                       allowed_services=QUOTE_SERVICES if quotes_only else None)  # fmt: skip


def build_brokers(
    settings: Settings, session: aiohttp.ClientSession, mode: str, venues: Iterable[str], *, read_only: bool = False
) -> dict[str, Any]:
    """Fresh broker objects for ``mode``; a needed live broker without credentials is a ConfigError.

    ``read_only`` brokers open their ledgers and paper state for reading only,
    take no account lock and open no venue account.
    """
    venues = sorted(set(venues))
    unknown = [v for v in venues if v not in VENUES]
    if unknown:
        raise ConfigError(f"unknown broker {unknown[0]!r}; known: {', '.join(VENUES)}")
    state = settings.state_dir
    out: dict[str, Any] = {}
    if mode == "live":
        missing = [n for v in venues for n in _missing_credentials(settings, v)]
        if missing:
            raise ConfigError(f"live trading on {', '.join(venues)} needs {', '.join(missing)}")
        for venue in venues:
            if venue == "bitget":
                http = BitgetHttp(session, settings.bitget_base_url, settings.bitget_api_key.get(),
                                  settings.bitget_api_secret.get(), settings.bitget_api_passphrase.get(),
                                  demo=settings.bitget_demo)  # fmt: skip
                env = "demo" if settings.bitget_demo else "live"
                inv = OwnedInventory(state / f"owned_bitget_{settings.bitget_market}_{env}.sqlite",
                                     read_only=read_only)  # fmt: skip
                out[venue] = BitgetBroker(
                    http, inv, market=settings.bitget_market, margin_mode=settings.bitget_margin_mode,
                    leverage=settings.bitget_leverage,
                )  # fmt: skip
            else:
                rest = _tinvest_rest(settings, session, quotes_only=False)
                env = "sandbox" if settings.tinkoff_sandbox else "live"
                inv = OwnedInventory(state / f"owned_tinkoff_{env}.sqlite", read_only=read_only)
                out[venue] = TinkoffBroker(
                    rest, TinvestInstruments(rest, settings.instruments_path), inv, sandbox=settings.tinkoff_sandbox,
                    account_id=settings.tinkoff_account_id,
                )  # fmt: skip
        return out
    for venue in venues:
        feed: Any = None
        if venue == "bitget":
            feed = BitgetQuotes(session, settings.bitget_base_url, settings.bitget_market)
        elif settings.tinkoff_api_token:
            rest = _tinvest_rest(settings, session, quotes_only=True)
            feed = TinvestQuotes(rest, TinvestInstruments(rest, settings.instruments_path))
        prices = PaperPrices(feed)
        candles: Any = None
        if venue == "bitget":
            candles = BitgetCandles(session, settings.bitget_base_url, market=settings.bitget_market).fetch
        elif settings.tinkoff_api_token:
            candles = TinvestCandles(feed.rest, feed.instruments).fetch
        profile = profile_for(ASSET_CLASS[venue])
        shorting = venue == "tinkoff" or settings.bitget_market == "futures"
        sim = SimulatedBroker(
            f"{venue}-paper", state / f"paper_{venue}.json", prices, costs_for(ASSET_CLASS[venue]),
            currency=CURRENCY[venue], starting_cash=Decimal(str(profile.deposit)), shorting=shorting, candles=candles,
            read_only=read_only,
        )  # fmt: skip
        prices.broker = sim
        out[venue] = sim
    return out


# --- the router -------------------------------------------------------------------------------
@dataclass
class CloseAllReport:
    cancelled: list[str] = field(default_factory=list)  # client ids of our orders cancelled
    closed: list[OrderAck] = field(default_factory=list)
    protections_cancelled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class Router:
    """Routes orders by symbol and aggregates accounts, positions and orders over its brokers."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        *,
        mode: str | None = None,
        symbols: Iterable[str] | None = None,
        read_only: bool = False,
        routing: Mapping[str, str] = ROUTING,
        brokers: Mapping[str, Any] | None = None,
    ) -> None:
        mode = mode or settings.execution_mode
        if mode == "backtest":
            raise UserError("EXECUTION_MODE=backtest routes no orders; use paper or live")
        if mode not in MODES:
            raise ConfigError(f"unknown execution mode {mode!r}; allowed: {', '.join(MODES)}")
        if mode == "live" and not read_only and not settings.allow_live:
            raise ConfigError("live trading needs ALLOW_LIVE=1 (environment or .env)")
        if not read_only:
            settings.require_runtime_intact(f"trading ({mode})")
        self.settings = settings
        self.mode = mode
        self.read_only = read_only
        self.routing = routing
        self.symbols = tuple(symbols if symbols is not None else settings.assets)
        self.venues = sorted({route(s, routing) for s in self.symbols})
        built = (dict(brokers) if brokers is not None
                 else build_brokers(settings, session, mode, self.venues, read_only=read_only))  # fmt: skip
        self.brokers: dict[str, Any] = {k: ReadOnly(b) if read_only else b for k, b in built.items()}
        self._started = False

    async def start(self) -> None:
        """Connect every broker; a trading router takes each account's lock. On failure nothing stays held."""
        try:
            for broker in self.brokers.values():
                await broker.connect()
        except BaseException:
            await self.close()
            raise
        self._started = True

    async def close(self) -> None:
        for broker in self.brokers.values():
            await broker.close()

    async def __aenter__(self) -> Router:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def broker_for(self, symbol: str) -> Broker:
        name = route(symbol, self.routing)
        if name not in self.brokers:
            raise UnknownSymbolError(f"{symbol} routes to {name}, which this router did not build (universe "
                                     f"{self.settings.universe_mode})")  # fmt: skip
        return self.brokers[name]

    # --- orders ------------------------------------------------------------------------------
    async def place_order(self, request: OrderRequest) -> OrderAck:
        return await self.broker_for(request.symbol).place_order(request)

    async def get_order(self, symbol: str, client: str) -> Order | None:
        return await self.broker_for(symbol).get_order(symbol, client)

    async def cancel_order(self, symbol: str, client: str) -> None:
        await self.broker_for(symbol).cancel_order(symbol, client)

    async def place_protection(self, protection: Protection) -> Protection:
        return await self.broker_for(protection.symbol).place_protection(protection)

    async def cancel_protection(self, protection: Protection) -> None:
        await self.broker_for(protection.symbol).cancel_protection(protection)

    # --- aggregation -------------------------------------------------------------------------
    async def accounts(self) -> dict[str, Account]:
        """One account per broker; currencies differ (USDT, RUB) and are never added together."""
        return {name: await b.account() for name, b in self.brokers.items()}

    async def totals(self) -> dict[str, Decimal]:
        """Equity per currency."""
        out: dict[str, Decimal] = {}
        for acc in (await self.accounts()).values():
            out[acc.currency] = out.get(acc.currency, Decimal(0)) + acc.equity
        return out

    async def positions(self) -> list[Position]:
        return [p for b in self.brokers.values() for p in await b.positions()]

    async def open_orders(self, *, ours_only: bool = False) -> list[Order]:
        out = [o for b in self.brokers.values() for o in await b.open_orders()]
        return [o for o in out if o.ours] if ours_only else out

    async def protections(self) -> list[Protection]:
        return [p for b in self.brokers.values() for p in await b.protections()]

    # --- emergency ---------------------------------------------------------------------------
    async def cancel_all_orders(self, report: CloseAllReport | None = None) -> CloseAllReport:
        """Cancel every open order of ours (client-id prefix); nobody else's."""
        report = report or CloseAllReport()
        for name, broker in self.brokers.items():
            try:
                orders = await broker.open_orders()
            except AiTradeError as exc:
                report.errors.append(f"{name}: open orders: {exc}")
                continue
            for order in orders:
                if not order.ours:
                    continue
                try:
                    await broker.cancel_order(order.symbol, order.client_id)
                    report.cancelled.append(order.client_id)
                except AiTradeError as exc:
                    report.errors.append(f"{name}: cancel {order.client_id}: {exc}")
        return report

    async def close_all_positions(self, *, reason: str = "kill") -> CloseAllReport:
        """Cancel our orders, then close every position AiTrade holds (its protections first); report each step.

        Every broker and symbol is tried even when one fails; the report lists what failed.
        """
        report = await self.cancel_all_orders()
        stamp = datetime.now(UTC).replace(microsecond=0)
        for name, broker in self.brokers.items():
            try:
                positions = await broker.positions()
            except AiTradeError as exc:
                report.errors.append(f"{name}: positions: {exc}")
                continue
            for pos in positions:
                try:
                    for p in await broker.protections(pos.symbol):
                        if p.client_id.startswith(CLIENT_ID_PREFIX):
                            await broker.cancel_protection(p)
                            report.protections_cancelled.append(p.client_id)
                    cid = client_id(f"{self.settings.strategy_id}|{reason}", pos.symbol, stamp, "kill")
                    ack = await broker.close_position(pos.symbol, cid)
                    if ack is not None:
                        report.closed.append(ack)
                except AiTradeError as exc:
                    report.errors.append(f"{name}: close {pos.symbol}: {exc}")
        log.warning("close-all (%s): %d orders cancelled, %d positions closed, %d errors", reason,
                    len(report.cancelled), len(report.closed), len(report.errors))  # fmt: skip
        return report
