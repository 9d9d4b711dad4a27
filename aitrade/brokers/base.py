"""Broker domain: instrument rules, orders and their state machine, fills, positions, accounts, the protocol.

Money and quantities are ``Decimal`` here (the broker boundary); research code
stays in float64. Errors come from :mod:`aitrade.errors`, typed by what the
caller must do: retry, reconcile, skip or halt.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aitrade.errors import SkipError

if TYPE_CHECKING:
    import pandas as pd

CLIENT_ID_PREFIX = "at"  # every AiTrade order id starts with this; close-all touches nothing else


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    PENDING = "pending"  # written to the ledger, not yet acknowledged
    NEW = "new"  # acknowledged by the venue, resting
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # sent, outcome not known: reconcile before anything else

    @property
    def final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


#: Allowed status transitions. A final status never changes; UNKNOWN resolves to anything.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset(OrderStatus) - {OrderStatus.PENDING},
    OrderStatus.UNKNOWN: frozenset(OrderStatus) - {OrderStatus.PENDING, OrderStatus.UNKNOWN},
    OrderStatus.NEW: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.REJECTED,
            OrderStatus.UNKNOWN,
        }
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.UNKNOWN}
    ),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
}


class InvalidTransition(ValueError):
    """An order status change the state machine does not allow."""


@dataclass(frozen=True)
class InstrumentRules:
    """How a venue accepts orders for one instrument."""

    symbol: str
    tick: Decimal
    step: Decimal  # quantity step (lot size in units for T-Invest, size step for Bitget)
    min_qty: Decimal
    min_notional: Decimal
    currency: str
    shortable: bool
    lot: int = 1  # T-Invest: units per lot; quantities on the wire are lots

    def price(self, value: Decimal, side: Side | None = None) -> Decimal:
        """``value`` on the tick: to the nearest tick, or away from the market for a side's limit."""
        if side is Side.BUY:
            return (value / self.tick).to_integral_value(rounding=ROUND_DOWN) * self.tick
        if side is Side.SELL:
            q = (value / self.tick).to_integral_value(rounding=ROUND_DOWN)
            q = q if q * self.tick == value else q + 1
            return q * self.tick
        return (value / self.tick).to_integral_value(rounding=ROUND_HALF_UP) * self.tick

    def on_tick(self, price: Decimal) -> bool:
        """Whether ``price`` is a positive multiple of the tick (what a venue accepts as a price)."""
        return price > 0 and price % self.tick == 0

    def quantity(self, value: Decimal) -> Decimal:
        """``value`` rounded down to the quantity step."""
        return (value / self.step).to_integral_value(rounding=ROUND_DOWN) * self.step

    def check(self, qty: Decimal, price: Decimal | None, *, what: str = "order") -> None:
        """Raise :class:`SkipError` when an order is below the venue's minimums (nothing is sent)."""
        if qty <= 0 or qty < self.min_qty:
            raise SkipError(f"{what}: {self.symbol} quantity {qty} is below the minimum {self.min_qty}")
        if price is not None and qty * price < self.min_notional:
            raise SkipError(
                f"{what}: {self.symbol} notional {qty * price} {self.currency} is below the minimum {self.min_notional}"
            )


@dataclass(frozen=True)
class Bracket:
    """Protections armed by the venue the moment an entry fills, at distances from its fill price.

    Only brokers with ``capabilities.brackets`` take one; the others refuse it
    and the runner places the protections itself once it sees the fill.
    """

    stop_distance: Decimal
    stop_id: str
    target_distance: Decimal | None = None
    target_id: str | None = None

    def __post_init__(self) -> None:
        if not self.stop_distance > 0 or (self.target_distance is not None and not self.target_distance > 0):
            raise ValueError("bracket distances must be positive")
        if (self.target_distance is None) != (self.target_id is None):
            raise ValueError("a bracket target needs both a distance and a client id")


@dataclass(frozen=True)
class OrderRequest:
    """What we ask a broker to do. ``client_id`` is required: it is the idempotency key."""

    symbol: str
    side: Side
    quantity: Decimal
    client_id: str
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    reduce_only: bool = False
    bracket: Bracket | None = None

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("an order needs a client id")
        if self.quantity <= 0:
            raise ValueError(f"order quantity must be positive, got {self.quantity}")
        if self.order_type is OrderType.LIMIT and self.price is None:
            raise ValueError("a limit order needs a price")
        if self.price is not None and self.price <= 0:
            raise ValueError(f"order price must be positive, got {self.price}")
        if self.bracket is not None and self.reduce_only:
            raise ValueError("a reduce-only order cannot carry a bracket")

    def normalized(self, rules: InstrumentRules) -> OrderRequest:
        """Price to the tick (away from the market), quantity down to the step, minimums checked."""
        qty = rules.quantity(self.quantity)
        price = rules.price(self.price, self.side) if self.price is not None else None
        rules.check(qty, price, what=f"{self.side.value} {self.symbol}")
        return replace(self, quantity=qty, price=price)


@dataclass(frozen=True)
class OrderAck:
    client_id: str
    venue_order_id: str
    status: OrderStatus


@dataclass(frozen=True)
class Fill:
    client_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    time: datetime


@dataclass(frozen=True)
class Order:
    """An order as the venue reports it."""

    client_id: str
    venue_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    status: OrderStatus
    filled: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    updated: datetime | None = None

    def advance(self, status: OrderStatus, **changes: object) -> Order:
        """The order in a new status; raises :class:`InvalidTransition` when the state machine forbids it."""
        if status is not self.status and status not in TRANSITIONS[self.status]:
            raise InvalidTransition(f"order {self.client_id}: {self.status.value} -> {status.value} is not allowed")
        if status is self.status and self.status.final:
            return self
        return replace(self, status=status, **changes)  # type: ignore[arg-type]

    @property
    def ours(self) -> bool:
        return self.client_id.startswith(CLIENT_ID_PREFIX)


@dataclass(frozen=True)
class Position:
    """What AiTrade holds in one symbol (signed quantity: > 0 long, < 0 short)."""

    symbol: str
    quantity: Decimal
    avg_price: Decimal
    broker: str
    last_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None


@dataclass(frozen=True)
class Account:
    broker: str
    currency: str
    equity: Decimal
    cash: Decimal
    unrealized_pnl: Decimal = Decimal(0)
    details: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    native_protections: bool
    shorting: bool
    brackets: bool = False  # takes OrderRequest.bracket (protections armed at the fill)


class ProtectionKind(StrEnum):
    """What a protection closes a position at: its stop (a loss) or its target (a profit)."""

    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"


@dataclass(frozen=True)
class Protection:
    """A native stop-loss or take-profit held at the venue for one position."""

    symbol: str
    kind: ProtectionKind
    trigger: Decimal
    quantity: Decimal
    client_id: str
    venue_id: str = ""


@runtime_checkable
class Broker(Protocol):
    """What every broker (simulated, Bitget, T-Invest) offers. All calls are coroutines."""

    name: str
    capabilities: Capabilities

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def instrument(self, symbol: str) -> InstrumentRules: ...

    async def last_price(self, symbol: str) -> Decimal: ...

    async def account(self) -> Account: ...

    async def positions(self) -> list[Position]: ...

    async def open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def place_order(self, request: OrderRequest) -> OrderAck: ...

    async def get_order(self, symbol: str, client_id: str) -> Order | None: ...

    async def cancel_order(self, symbol: str, client_id: str) -> None: ...

    async def place_protection(self, protection: Protection) -> Protection: ...

    async def cancel_protection(self, protection: Protection) -> None: ...

    async def protections(self, symbol: str | None = None) -> list[Protection]: ...

    async def protection_fill(self, protection: Protection) -> Order | None:
        """The order the venue executed for a fired protection, at the venue's fill price and fees.

        ``None`` while it has not fired, or while the venue does not know its
        fill yet (never a price made up from the trigger level).
        """
        ...

    async def close_position(self, symbol: str, client_id: str) -> OrderAck | None: ...

    async def candles(self, symbol: str, interval: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame: ...
