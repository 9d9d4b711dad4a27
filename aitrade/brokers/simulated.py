"""The simulated broker: fills from live or replayed prices through the shared cost model.

It keeps cash, positions, orders (by client id), fills and emulated native
protections, and persists what each call changed in one SQLite transaction
(:mod:`aitrade.brokers.paperstore`), so a restarted paper session carries on
where it stopped. Market orders fill at the
current price with slippage against us (rounded to the tick against us);
limit orders fill at once when marketable against a live quote, else rest
until a bar trades through them (a bars-only broker, priced by a replay,
always lets them rest: the rules decide at a close and fill from the next bar); protections are
stop/target triggers watched on every bar. A client id is never filled twice:
a repeated request returns the first order. Fees are charged on every fill.

Bars are judged by the trading rules themselves (:mod:`aitrade.rules`), so a
paper replay matches the backtest: a limit fills at its price, or at the open
when the bar opens through it; a triggered stop or target fills at its level,
or at the open on a gap, with slippage; the stop is checked before the target.
An entry may carry a :class:`Bracket`: its stop and target are armed at the
fill, and on the fill bar only the stop is checked. A bar is applied once:
``on_bar`` with a time at or before the symbol's last applied bar does nothing.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from aitrade import rules as trade_rules
from aitrade.brokers.base import (
    Account,
    Capabilities,
    InstrumentRules,
    Order,
    OrderAck,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Protection,
    ProtectionKind,
    Side,
)
from aitrade.brokers.paperstore import TABLES, PaperStore
from aitrade.costs import CostModel
from aitrade.errors import HaltError, SkipError
from aitrade.locks import ProcessLock

PriceFn = Callable[[str], Awaitable[Decimal]]
CandleFn = Callable[[str, str, pd.Timestamp, pd.Timestamp], Awaitable[pd.DataFrame]]
D0 = Decimal(0)
FINE = Decimal("1E-24")  # tick and step of a cost model without rounding (tick or lot 0): below a float's digits


def _now() -> datetime:
    return datetime.now(UTC)


def _open_at(open: Decimal | None, level: Decimal, high: Decimal, low: Decimal) -> Decimal:
    """The bar's open; with none known at all, the level's nearest price in the bar (a level inside it fills at
    itself)."""
    return open if open is not None else min(max(level, low), high)


class SimulatedBroker:
    """Paper trading against a price source; state in ``state_path``."""

    def __init__(
        self,
        name: str,
        state_path: Path,
        price: PriceFn,
        costs: CostModel,
        *,
        currency: str = "USDT",
        starting_cash: Decimal = Decimal(1000),
        shorting: bool = True,
        rules: dict[str, InstrumentRules] | None = None,
        candles: CandleFn | None = None,
        read_only: bool = False,
        bars_only: bool = False,
        native_protections: bool = True,
    ) -> None:
        self.name = name
        self.bars_only = bars_only  # priced by bars alone (a replay): a limit never fills when placed
        self.read_only = read_only
        self.lock = ProcessLock(Path(state_path).with_suffix(".lock"), f"the paper account {name}")
        self.state_path = Path(state_path).with_suffix(".sqlite")
        self.store = PaperStore(self.state_path, read_only=read_only)
        self._dirty: dict[str, set[str]] = {t: set() for t in TABLES}
        # per symbol (a bar's work is its own symbol's, not the account's): open orders oldest first, protections
        self._resting: dict[str, dict[str, None]] = {}
        self._protected: dict[str, dict[str, None]] = {}
        self._price = price
        self.costs = costs
        self.currency = currency
        # without native protections it plays a venue that holds no stops (Bitget spot): the runner watches them
        self.capabilities = Capabilities(
            native_protections=native_protections, shorting=shorting, brackets=native_protections
        )
        self._rules = dict(rules or {})
        self._candles = candles
        self._starting_cash = Decimal(starting_cash)
        self._state: dict[str, Any] = {}
        self._last: dict[str, Decimal] = {}
        self._holding = False  # changes kept in memory until write_held (a runner's tick)
        self._unsaved = False

    # --- persistence -------------------------------------------------------------------------
    async def connect(self) -> None:
        """Load the state; a trading broker first takes the paper account's lock (one trading process)."""
        if not self.read_only:
            self.lock.acquire(self.name)
        data = self.store.load(legacy_json=self.state_path.with_suffix(".json"))
        self._state = {
            "cash": str(data.get("cash", self._starting_cash)),
            "currency": data.get("currency", self.currency),
            "positions": data.get("positions", {}),
            "orders": data.get("orders", {}),
            "protections": data.get("protections", {}),
            "fills": data.get("fills", []),
            "seq": int(data.get("seq", 0)),
            "bars": data.get("bars", {}),  # symbol -> time of the last bar applied
            "last": data.get("last", {}),  # symbol -> its last close (a bars-only broker's price after a restart)
        }
        self._last = {s: Decimal(p) for s, p in self._state["last"].items()} | self._last
        self._resting, self._protected = {}, {}
        for cid, raw in self._state["orders"].items():
            if raw["status"] == OrderStatus.NEW.value:
                self._resting.setdefault(raw["symbol"], {})[cid] = None
        for cid, prot in self._state["protections"].items():
            self._protected.setdefault(prot["symbol"], {})[cid] = None
        self._save()

    async def close(self) -> None:
        if self._state:
            self._save()
        self.store.close()
        self.lock.release()

    def hold_writes(self) -> None:
        """Keep changes in memory until :meth:`write_held`: a runner's tick commits the account once, before its
        books. A crash before that re-processes the tick's bars, which makes the same changes again (the bars
        applied are part of what is held)."""
        self._holding = True

    def write_held(self) -> None:
        self._holding = False
        if self._unsaved:
            self._save()

    def _save(self) -> None:
        if self._holding:
            self._unsaved = True
            return
        self._unsaved = False
        if self._state:
            for symbol in self._dirty["marks"]:
                if symbol in self._last:
                    self._state["last"][symbol] = str(self._last[symbol])
        self.store.save(self._state, self._dirty)
        self._dirty = {t: set() for t in TABLES}

    def _mark(self, symbol: str, price: Decimal) -> None:
        if self._last.get(symbol) != price:
            self._last[symbol] = price
            if self._state:
                self._dirty["marks"].add(symbol)

    def _touch(self, table: str, key: str) -> None:
        self._dirty[table].add(key)
        if table == "orders":
            raw = self._state["orders"][key]
            if raw["status"] == OrderStatus.NEW.value:
                self._resting.setdefault(raw["symbol"], {})[key] = None
            else:
                self._resting.get(raw["symbol"], {}).pop(key, None)

    def _arm(self, cid: str, protection: dict[str, str]) -> None:
        self._state["protections"][cid] = protection
        self._protected.setdefault(protection["symbol"], {})[cid] = None
        self._touch("protections", cid)

    def _drop_protection(self, cid: str) -> None:
        prot = self._state["protections"].pop(cid, None)
        if prot is not None:
            self._protected.get(prot["symbol"], {}).pop(cid, None)
        self._touch("protections", cid)

    def _owner(self) -> None:
        if not self.lock.held:
            raise HaltError(
                f"{self.name}: this process does not hold the paper account's lock (read-only, or not "
                "connected); nothing is done"
            )

    # --- reference data ----------------------------------------------------------------------
    async def instrument(self, symbol: str) -> InstrumentRules:
        if symbol in self._rules:
            return self._rules[symbol]
        tick = Decimal(str(self.costs.tick)) if self.costs.tick else FINE
        step = Decimal(str(self.costs.lot)) if self.costs.lot else FINE
        return InstrumentRules(
            symbol, tick, step, Decimal(str(self.costs.min_qty)), D0, self.currency, self.capabilities.shorting
        )

    async def candles(self, symbol: str, interval: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Bars from the market-data source paper was given (the venue's public data)."""
        if self._candles is None:
            raise SkipError(f"{self.name}: no market-data source for candles of {symbol}")
        return await self._candles(symbol, interval, pd.Timestamp(start), pd.Timestamp(end))

    def last_seen(self, symbol: str) -> Decimal | None:
        """The last price this broker saw for ``symbol`` (a fill or a bar), if any."""
        return self._last.get(symbol)

    async def _px(self, symbol: str) -> Decimal:
        price = Decimal(await self._price(symbol))
        self._mark(symbol, price)
        return price

    # --- account -----------------------------------------------------------------------------
    async def positions(self) -> list[Position]:
        out = []
        for sym, p in sorted(self._state["positions"].items()):
            qty, avg = Decimal(p["qty"]), Decimal(p["avg"])
            if qty == 0:
                continue
            last = await self._px(sym)
            out.append(Position(sym, qty, avg, self.name, last, (last - avg) * qty))
        return out

    async def account(self) -> Account:
        upnl = sum((p.unrealized_pnl or D0 for p in await self.positions()), D0)
        cash = Decimal(self._state["cash"])
        # opening a position of either side posts its notional from cash; equity adds it back
        held = sum((abs(Decimal(p["qty"])) * Decimal(p["avg"]) for p in self._state["positions"].values()), D0)
        return Account(self.name, self._state["currency"], cash + held + upnl, cash, upnl)

    # --- orders ------------------------------------------------------------------------------
    def _order(self, raw: dict[str, Any]) -> Order:
        return Order(
            client_id=raw["client_id"],
            venue_order_id=raw["venue_order_id"],
            symbol=raw["symbol"],
            side=Side(raw["side"]),
            order_type=OrderType(raw["order_type"]),
            quantity=Decimal(raw["quantity"]),
            price=None if raw["price"] is None else Decimal(raw["price"]),
            status=OrderStatus(raw["status"]),
            filled=Decimal(raw["filled"]),
            avg_price=None if raw["avg_price"] is None else Decimal(raw["avg_price"]),
            fee=Decimal(raw["fee"]),
        )

    async def place_order(self, request: OrderRequest) -> OrderAck:
        self._owner()
        existing = self._state["orders"].get(request.client_id)
        if existing is not None:  # idempotent: the same client id is never a second order
            return OrderAck(request.client_id, existing["venue_order_id"], OrderStatus(existing["status"]))
        rules = await self.instrument(request.symbol)
        price = await self._px(request.symbol)
        req = request.normalized(rules) if request.price is not None else request
        if request.price is None:
            qty = rules.quantity(request.quantity)
            rules.check(qty, price, what=f"{request.side.value} {request.symbol}")
            req = OrderRequest(
                request.symbol,
                request.side,
                qty,
                request.client_id,
                request.order_type,
                None,
                request.reduce_only,
                request.bracket,
            )
        pos = Decimal(self._state["positions"].get(req.symbol, {}).get("qty", "0"))
        after = pos + (req.quantity if req.side is Side.BUY else -req.quantity)
        if after < 0 and pos >= 0 and not self.capabilities.shorting:
            raise SkipError(f"{self.name}: {req.symbol} cannot be sold short (have {pos}, selling {req.quantity})")
        if req.reduce_only and (pos == 0 or (pos > 0) == (req.side is Side.BUY) or abs(req.quantity) > abs(pos)):
            raise SkipError(
                f"{self.name}: reduce-only {req.side.value} {req.quantity} {req.symbol} would not reduce {pos}"
            )
        self._state["seq"] += 1
        raw: dict[str, Any] = {
            "client_id": req.client_id,
            "venue_order_id": f"{self.name}-{self._state['seq']}",
            "symbol": req.symbol,
            "side": req.side.value,
            "order_type": req.order_type.value,
            "quantity": str(req.quantity),
            "price": None if req.price is None else str(req.price),
            "status": OrderStatus.NEW.value,
            "filled": "0",
            "avg_price": None,
            "fee": "0",
            "created": _now().isoformat(),
        }
        if req.bracket is not None:
            b = req.bracket
            raw["bracket"] = {
                "stop_distance": str(b.stop_distance),
                "stop_id": b.stop_id,
                "target_distance": None if b.target_distance is None else str(b.target_distance),
                "target_id": b.target_id,
            }
        self._state["orders"][req.client_id] = raw
        self._touch("orders", req.client_id)
        if req.order_type is OrderType.MARKET:
            self._fill(raw, await self._slipped(req.symbol, req.side, price))
        elif (
            not self.bars_only
            and req.price is not None
            and ((req.side is Side.BUY and price <= req.price) or (req.side is Side.SELL and price >= req.price))
        ):
            self._fill(raw, req.price)  # a marketable limit fills at its limit
        self._save()
        return OrderAck(req.client_id, str(raw["venue_order_id"]), OrderStatus(str(raw["status"])))

    async def _slipped(self, symbol: str, side: Side, price: Decimal) -> Decimal:
        """A market fill's price: slippage against us, then the tick against us."""
        slip = Decimal(str(self.costs.slippage))
        direction = 1 if side is Side.BUY else -1
        return (await self.instrument(symbol)).price(trade_rules.slipped(direction, price, slip), side.opposite)

    def _fill(self, raw: dict[str, Any], price: Decimal) -> None:
        qty = Decimal(raw["quantity"])
        side = Side(raw["side"])
        fee = qty * price * Decimal(str(self.costs.fee_rate))
        signed = qty if side is Side.BUY else -qty
        pos = self._state["positions"].setdefault(raw["symbol"], {"qty": "0", "avg": "0"})
        old_q, old_avg = Decimal(pos["qty"]), Decimal(pos["avg"])
        new_q = old_q + signed
        cash = Decimal(self._state["cash"]) - fee
        if old_q == 0 or (old_q > 0) == (signed > 0):  # open or add: weighted average
            avg = (old_q * old_avg + signed * price) / new_q
            cash -= abs(signed) * price
        else:  # reduce, close or reverse: realise on the closed part; a partial reduce keeps the average
            closed = min(abs(signed), abs(old_q))
            sign = 1 if old_q > 0 else -1
            cash += closed * old_avg + sign * closed * (price - old_avg)
            rest = abs(signed) - closed
            avg = old_avg if new_q != 0 and (new_q > 0) == (old_q > 0) else price
            cash -= rest * price
            if new_q == 0:
                avg = D0
        pos["qty"], pos["avg"] = str(new_q), str(avg)
        self._state["cash"] = str(cash)
        raw.update(status=OrderStatus.FILLED.value, filled=str(qty), avg_price=str(price), fee=str(fee))
        self._touch("positions", raw["symbol"])
        self._touch("orders", raw["client_id"])
        bracket = raw.get("bracket")
        if bracket:
            sign = 1 if side is Side.BUY else -1
            arms = [("stop_loss", bracket["stop_id"], price - sign * Decimal(bracket["stop_distance"]))]
            if bracket.get("target_id"):
                arms.append(("take_profit", bracket["target_id"], price + sign * Decimal(bracket["target_distance"])))
            for kind, cid, trigger in arms:
                self._arm(
                    cid,
                    {
                        "symbol": raw["symbol"],
                        "kind": kind,
                        "trigger": str(trigger),
                        "quantity": str(qty),
                        "client_id": cid,
                        "venue_id": f"{self.name}-p-{cid}",
                        "armed_by": raw["client_id"],
                    },
                )
        self._state["fills"].append(
            {
                "client_id": raw["client_id"],
                "symbol": raw["symbol"],
                "side": side.value,
                "quantity": str(qty),
                "price": str(price),
                "fee": str(fee),
                "time": _now().isoformat(),
            }
        )

    async def get_order(self, symbol: str, client_id: str) -> Order | None:
        raw = self._state["orders"].get(client_id)
        return None if raw is None else self._order(raw)

    async def open_orders(self, symbol: str | None = None) -> list[Order]:
        symbols = list(self._resting) if symbol is None else [symbol]
        return [self._order(self._state["orders"][c]) for s in symbols for c in self._resting.get(s, {})]

    async def cancel_order(self, symbol: str, client_id: str) -> None:
        self._owner()
        raw = self._state["orders"].get(client_id)
        if raw is None:
            raise SkipError(f"{self.name}: no order {client_id} to cancel")
        if raw["status"] == OrderStatus.NEW.value:
            raw["status"] = OrderStatus.CANCELLED.value
            self._touch("orders", client_id)
            self._save()

    # --- protections and price updates -------------------------------------------------------
    async def place_protection(self, protection: Protection) -> Protection:
        self._owner()
        if not self.capabilities.native_protections:
            raise SkipError(f"{self.name} holds no protections (a venue without native stops)")
        held = Decimal(self._state["positions"].get(protection.symbol, {}).get("qty", "0"))
        if held == 0:
            raise SkipError(f"{self.name} {protection.kind} {protection.symbol}: no position to protect")
        rules = await self.instrument(protection.symbol)
        placed = Protection(
            protection.symbol,
            protection.kind,
            rules.price(protection.trigger),
            rules.quantity(min(protection.quantity, abs(held))),
            protection.client_id,
            f"{self.name}-p-{protection.client_id}",
        )
        self._arm(protection.client_id, {k: str(v) for k, v in asdict(placed).items()})
        self._save()
        return placed

    async def cancel_protection(self, protection: Protection) -> None:
        self._owner()
        self._drop_protection(protection.client_id)
        self._save()

    async def protections(self, symbol: str | None = None) -> list[Protection]:
        symbols = list(self._protected) if symbol is None else [symbol]
        held = (self._state["protections"][cid] for s in symbols for cid in self._protected.get(s, {}))
        return [
            Protection(
                p["symbol"],
                ProtectionKind(p["kind"]),
                Decimal(p["trigger"]),
                Decimal(p["quantity"]),
                p["client_id"],
                p["venue_id"],
            )
            for p in held
        ]

    async def protection_fill(self, protection: Protection) -> Order | None:
        """A fired protection fills here under its own client id."""
        order = await self.get_order(protection.symbol, protection.client_id)
        return order if order is not None and order.status is OrderStatus.FILLED else None

    async def last_price(self, symbol: str) -> Decimal:
        return await self._px(symbol)

    async def on_bar(
        self,
        symbol: str,
        high: Decimal,
        low: Decimal,
        close: Decimal,
        *,
        open: Decimal | None = None,
        time: datetime | None = None,
    ) -> list[str]:
        """Apply one bar: fill resting limits it trades through and fire protections it touches.

        Returns the client ids of the orders filled. Without ``open`` the bar
        opens at the last price seen (a live price path has no gaps between
        ticks), so a level it moved through fills at itself. With ``time``, a bar at or before the
        symbol's last applied bar is ignored, so replaying it twice is harmless.
        """
        if time is not None:
            stamp = pd.Timestamp(time).isoformat()
            seen = self._state["bars"].get(symbol)
            if seen is not None and pd.Timestamp(seen) >= pd.Timestamp(stamp):
                return []
            self._state["bars"][symbol] = stamp
            self._dirty["marks"].add(symbol)
        if open is None:  # a price path is continuous: without an open, the bar opens at the last price seen
            open = self._last.get(symbol)
        self._mark(symbol, close)
        done: list[str] = []
        armed_now: set[str] = set()
        for cid in list(self._resting.get(symbol, {})):
            raw = self._state["orders"][cid]
            limit = Decimal(raw["price"])
            side = 1 if raw["side"] == "buy" else -1
            at = trade_rules.limit_fill(side, limit, _open_at(open, limit, high, low), high, low)
            if not math.isnan(at):
                before = set(self._protected.get(symbol, {}))
                self._fill(raw, Decimal(at))
                armed_now |= set(self._protected.get(symbol, {})) - before
                done.append(cid)
        pos = Decimal(self._state["positions"].get(symbol, {}).get("qty", "0"))
        for kind in ("stop_loss", "take_profit"):
            for cid in list(self._protected.get(symbol, {})):
                p = self._state["protections"][cid]
                if p["kind"] != kind or pos == 0:
                    continue
                trig, side = Decimal(p["trigger"]), (1 if pos > 0 else -1)
                if cid in armed_now:  # the fill bar: only the stop, at its level
                    if kind == "take_profit" or not trade_rules.stop_touched(side, trig, high, low):
                        continue
                    at = trig
                else:
                    hit = trade_rules.stop_fill if kind == "stop_loss" else trade_rules.target_fill
                    at = hit(side, trig, _open_at(open, trig, high, low), high, low)
                    if math.isnan(at):
                        continue
                order_side = Side.SELL if side > 0 else Side.BUY
                qty = min(Decimal(p["quantity"]), abs(pos))
                self._state["seq"] += 1
                raw = {
                    "client_id": cid,
                    "venue_order_id": f"{self.name}-{self._state['seq']}",
                    "symbol": symbol,
                    "side": order_side.value,
                    "order_type": "market",
                    "quantity": str(qty),
                    "price": None,
                    "status": "new",
                    "filled": "0",
                    "avg_price": None,
                    "fee": "0",
                    "created": _now().isoformat(),
                }
                self._state["orders"][cid] = raw
                self._touch("orders", cid)
                self._fill(raw, await self._slipped(symbol, order_side, Decimal(at)))
                self._drop_protection(cid)
                done.append(cid)
                pos = Decimal(self._state["positions"][symbol]["qty"])
        if pos == 0:  # a flat book keeps no protection (the other leg of a fired bracket)
            for cid in list(self._protected.get(symbol, {})):
                self._drop_protection(cid)
        if done:  # a bar that changed nothing changes nothing when applied again: no write needed
            self._save()
        return done

    async def close_position(self, symbol: str, client_id: str) -> OrderAck | None:
        """Close the position, then drop its protections (a refused close keeps them)."""
        pos = Decimal(self._state["positions"].get(symbol, {}).get("qty", "0"))
        ack = None
        if pos != 0:
            side = Side.SELL if pos > 0 else Side.BUY
            ack = await self.place_order(OrderRequest(symbol, side, abs(pos), client_id))
        if Decimal(self._state["positions"].get(symbol, {}).get("qty", "0")) == 0:
            for cid in list(self._protected.get(symbol, {})):
                self._drop_protection(cid)
            self._save()
        return ack
