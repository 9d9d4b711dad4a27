"""The execution router: symbol -> broker for one execution mode; aggregation; close-all of AiTrade's own.

* Brokers are built for the router's mode (:mod:`aitrade.factory`) and die
  with it; nothing is cached across routers, so switching paper <-> live always
  builds a new set (the original reused live clients in paper).
* ``live`` needs ``ALLOW_LIVE=1``. A ``read_only`` router may look at live
  accounts without it: every call that would trade raises :class:`HaltError`,
  and its brokers open nothing and write nothing.
* A trading router takes each venue account's lock when it starts: one
  process at a time places orders there; others read.
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

from aitrade.brokers.base import CLIENT_ID_PREFIX, Account, Broker, Order, OrderAck, OrderRequest, Position, Protection
from aitrade.brokers.ids import client_id
from aitrade.brokers.readonly import ReadOnly
from aitrade.config import Settings
from aitrade.errors import AiTradeError, ConfigError, UnknownSymbolError, UserError
from aitrade.factory import build_brokers
from aitrade.universe import ROUTING

log = logging.getLogger(__name__)
MODES = ("paper", "live")


def route(symbol: str, routing: Mapping[str, str] = ROUTING) -> str:
    """The broker name of a symbol; an unrouted symbol is an error, never a silent default."""
    try:
        return routing[symbol]
    except KeyError:
        raise UnknownSymbolError(
            f"{symbol!r} is not in the routing table (crypto -> bitget, MOEX -> tinkoff)"
        ) from None


# --- the router -------------------------------------------------------------------------------
@dataclass
class CloseAllReport:
    cancelled: list[str] = field(default_factory=list)  # client ids of our orders cancelled
    closed: list[OrderAck] = field(default_factory=list)
    protections_cancelled: list[str] = field(default_factory=list)
    open: list[str] = field(default_factory=list)  # symbols AiTrade still holds at the venues afterwards
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Flat as the venues say: nothing failed and nothing of ours is held any more."""
        return not self.errors and not self.open


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
        market_data: bool = True,
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
        built = (
            dict(brokers)
            if brokers is not None
            else build_brokers(settings, session, mode, self.venues, read_only=read_only, market_data=market_data)
        )
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
            raise UnknownSymbolError(
                f"{symbol} routes to {name}, which this router did not build (universe {self.settings.universe_mode})"
            )
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
    async def cancel_all_orders(
        self, report: CloseAllReport | None = None, *, only: str | None = None
    ) -> CloseAllReport:
        """Cancel every open order of ours (client-id prefix), of symbol ``only`` when given; nobody else's."""
        report = report or CloseAllReport()
        for name, broker in self.brokers.items():
            try:
                orders = await broker.open_orders()
            except AiTradeError as exc:
                report.errors.append(f"{name}: open orders: {exc}")
                continue
            for order in orders:
                if not order.ours or (only is not None and order.symbol != only):
                    continue
                try:
                    await broker.cancel_order(order.symbol, order.client_id)
                    report.cancelled.append(order.client_id)
                except AiTradeError as exc:
                    report.errors.append(f"{name}: cancel {order.client_id}: {exc}")
        return report

    async def close_all_positions(self, *, reason: str = "kill", only: str | None = None) -> CloseAllReport:
        """Cancel our orders, then close every position AiTrade holds (its protections first); report each step.

        ``only``: that symbol's orders and position alone (a force exit). Every broker and symbol is tried even
        when one fails; the report lists what failed.
        """
        report = await self.cancel_all_orders(only=only)
        stamp = datetime.now(UTC).replace(microsecond=0)
        for name, broker in self.brokers.items():
            try:
                positions = await broker.positions()
            except AiTradeError as exc:
                report.errors.append(f"{name}: positions: {exc}")
                continue
            for pos in positions:
                if only is not None and pos.symbol != only:
                    continue
                try:
                    before = {
                        p.client_id
                        for p in await broker.protections(pos.symbol)
                        if p.client_id.startswith(CLIENT_ID_PREFIX)
                    }
                    cid = client_id(f"{self.settings.strategy_id}|{reason}", pos.symbol, stamp, "kill")
                    ack = await broker.close_position(pos.symbol, cid)  # protections go once the position is gone
                    if ack is not None:
                        report.closed.append(ack)
                    left = {p.client_id for p in await broker.protections(pos.symbol)}
                    report.protections_cancelled += sorted(before - left)
                except AiTradeError as exc:
                    report.errors.append(f"{name}: close {pos.symbol}: {exc}")
            try:  # what the venue says now: positions of ours still there
                report.open += [p.symbol for p in await broker.positions() if only is None or p.symbol == only]
            except AiTradeError as exc:
                report.errors.append(f"{name}: positions after close-all: {exc}")
        log.log(
            logging.WARNING if report.errors else logging.INFO,
            "close-all (%s): %d orders cancelled, %d positions closed, %d errors",
            reason,
            len(report.cancelled),
            len(report.closed),
            len(report.errors),
        )
        return report
