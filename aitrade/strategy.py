"""The trading rules: one state machine, used bar by bar by the runner and mirrored by the backtest kernel.

``step(state, bar, signal, genome, rules, cash)`` returns the new state and the
trades closed on that bar. Free of pandas and I/O.

Timing and intrabar conventions (the same in the backtest kernel and the runner):

* A signal is known at the close of its bar. A new entry is decided at that
  close and becomes a limit order ``pullback * ATR`` away from the close (below
  for a long, above for a short), rounded to the tick away from the market.
* The order lives for the next ``fill_wait`` bars. It fills on the first bar
  that trades through its price: a long fills when the low reaches the limit,
  at the limit, or at the open when the bar opens beyond it (a gap). A limit
  fill pays no slippage.
* Stop and target are ``sl`` and ``tp`` ATR multiples of the signal bar's ATR,
  measured from the fill price. On the fill bar only the stop is checked (we do
  not know whether the bar's extreme came before or after the fill, so the
  pessimistic case is taken); the target counts from the next bar.
* On later bars the stop is checked before the target: when one bar touches
  both, **the stop wins**. A bar that opens beyond a level exits at the open.
  Stop, target and market exits pay slippage and are rounded to the tick
  against us.
* Trailing: once the best price since entry is ``trail_act`` ATR in profit,
  the stop follows it at ``trail_off`` ATR. It is updated after the bar's exit
  checks and so first applies on the next bar.
* At the close: a position held ``max_hold`` bars exits (time); a long exits
  when ``p_short > abort`` (a short when ``p_long > abort``); any position exits
  when the bar's range exceeds ``vol_exit`` ATR. No new entry on an exit bar.
* Size = cash * risk_per_trade / (sl * ATR), capped by ``max_notional`` and by
  ``max_leverage`` times the cash (1 by default: no borrowing), rounded down to
  the lot; below the minimum quantity nothing is placed.
  Shorts only where ``allow_short`` (spot is long only).
* Fees are charged on both sides' notional; a trade's pnl is net of fees.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from aitrade.checks import number

FLAT, PENDING, OPEN = 0, 1, 2
EXIT_REASONS = ("sl", "tp", "trail", "time", "abort", "vol_exit", "end")
SL, TP, TRAIL, TIME, ABORT, VOL, END = range(7)


#: the valid range of every gene (finite; integral where the gene counts bars)
GENE_RULES: dict[str, dict[str, Any]] = {
    "sl": {"lo": 0, "lo_open": True},
    "tp": {"lo": 0, "lo_open": True},
    "conf": {"lo": 0, "hi": 1},
    "pullback": {"lo": 0},
    "fill_wait": {"lo": 1, "integer": True},
    "max_hold": {"lo": 1, "integer": True},
    "trail_act": {"lo": 0},
    "trail_off": {"lo": 0, "lo_open": True},
    "vol_exit": {"lo": 0, "lo_open": True},
    "abort": {"lo": 0, "hi": 1},
}


@dataclass(frozen=True)
class Genome:
    """The optimised parameters (ATR multiples, probabilities, bars)."""

    sl: float = 2.0
    tp: float = 3.5
    conf: float = 0.60
    pullback: float = 0.20
    fill_wait: int = 8
    max_hold: int = 48
    trail_act: float = 1.2
    trail_off: float = 0.3
    vol_exit: float = 6.0
    abort: float = 0.75

    def __post_init__(self) -> None:
        for gene, rule in GENE_RULES.items():
            value = number(f"gene {gene}", getattr(self, gene), **rule)
            object.__setattr__(self, gene, value)

    @classmethod
    def genes(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, g)) for g in self.genes())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Genome:
        """A genome from the gene keys of ``data`` (other keys are ignored here)."""
        return cls(**{g: data[g] for g in cls.genes() if g in data})  # __post_init__ checks every range


@dataclass(frozen=True)
class Rules:
    """Execution settings that are not optimised: risk, costs, instrument rounding."""

    risk_per_trade: float = 0.02
    max_notional: float = math.inf
    allow_short: bool = True
    fee_rate: float = 0.00075
    slippage: float = 0.0005
    tick: float = 0.0
    lot: float = 0.0
    min_qty: float = 0.0
    max_leverage: float = 1.0  # notional plus entry fee at most this multiple of the account's cash


@dataclass(frozen=True)
class State:
    """Where one symbol stands between bars."""

    mode: int = FLAT
    side: int = 0
    limit: float = math.nan
    placed: int = -1
    atr: float = math.nan
    qty: float = 0.0
    entry: float = math.nan
    entry_bar: int = -1
    stop: float = math.nan
    target: float = math.nan
    best: float = math.nan
    fee: float = 0.0
    trailed: bool = False


@dataclass(frozen=True)
class Trade:
    side: int
    entry_bar: int
    exit_bar: int
    entry_price: float
    exit_price: float
    qty: float
    fees: float
    pnl: float
    reason: int

    @property
    def reason_name(self) -> str:
        return EXIT_REASONS[self.reason]


def round_down(x: float, tick: float) -> float:
    return math.floor(x / tick + 1e-9) * tick if tick > 0 else x


def round_up(x: float, tick: float) -> float:
    return math.ceil(x / tick - 1e-9) * tick if tick > 0 else x


def exit_price(side: int, price: float, rules: Rules) -> float:
    """The price a market/stop exit gets: slippage and tick rounding against us."""
    if side > 0:
        return round_down(price * (1.0 - rules.slippage), rules.tick)
    return round_up(price * (1.0 + rules.slippage), rules.tick)


def _close(s: State, t: int, price: float, reason: int, rules: Rules) -> Trade:
    px = exit_price(s.side, price, rules)
    fee_out = px * s.qty * rules.fee_rate
    fees = s.fee + fee_out
    pnl = s.side * (px - s.entry) * s.qty - fees
    return Trade(s.side, s.entry_bar, t, s.entry, px, s.qty, fees, pnl, reason)


def size(cash: float, atr: float, limit: float, genome: Genome, rules: Rules) -> float:
    """Quantity for a new entry (0 when below the minimum)."""
    qty = cash * rules.risk_per_trade / (genome.sl * atr)
    qty = min(qty, rules.max_notional / limit)
    qty = min(qty, cash * rules.max_leverage / (limit * (1.0 + rules.fee_rate)))
    qty = round_down(qty, rules.lot)
    return qty if qty > 0 and qty >= rules.min_qty else 0.0


# --- the phases of a bar, shared by `step` (the backtest's model of a venue) and the runner (a real one) ---
def expired(s: State, t: int, genome: Genome) -> bool:
    """A pending entry that has lived ``fill_wait`` bars is cancelled before bar ``t``."""
    return s.mode == PENDING and t - s.placed > genome.fill_wait


def limit_fill(side: int, limit: float, o: float, h: float, low: float) -> float:
    """Where a resting entry limit fills on a bar (at the open on a gap through it); NaN when it does not."""
    if side > 0 and low <= limit:
        return min(o, limit)
    if side < 0 and h >= limit:
        return max(o, limit)
    return math.nan


def opened(s: State, fill: float, t: int, genome: Genome, rules: Rules) -> State:
    """The position a pending entry becomes when it fills at ``fill`` on bar ``t``: stop and target from the fill."""
    stop = fill - s.side * genome.sl * s.atr
    target = fill + s.side * genome.tp * s.atr
    fee = fill * s.qty * rules.fee_rate
    return replace(s, mode=OPEN, entry=fill, entry_bar=t, stop=stop, target=target, best=fill, fee=fee)


def stop_touched(s: State, h: float, low: float) -> bool:
    """On the fill bar only the stop is checked (whether the extreme came before the fill is unknown)."""
    return (s.side > 0 and low <= s.stop) or (s.side < 0 and h >= s.stop)


def protection_exit(s: State, o: float, h: float, low: float) -> tuple[float, int]:
    """The stop or target an open position hits on a later bar: (price before slippage, reason), or (-1, -1).

    The stop is checked first (it wins a bar that touches both); a bar that opens beyond a level exits at the open.
    """
    stop_reason = TRAIL if s.trailed else SL
    if s.side > 0:
        if o <= s.stop:
            return o, stop_reason
        if low <= s.stop:
            return s.stop, stop_reason
        if o >= s.target:
            return o, TP
        if h >= s.target:
            return s.target, TP
    else:
        if o >= s.stop:
            return o, stop_reason
        if h >= s.stop:
            return s.stop, stop_reason
        if o <= s.target:
            return o, TP
        if low <= s.target:
            return s.target, TP
    return -1.0, -1


def trail(s: State, h: float, low: float, genome: Genome) -> State:
    """After a bar's exit checks: the best price so far, and the stop moved behind it once trailing is on."""
    best = max(s.best, h) if s.side > 0 else min(s.best, low)
    stop, trailed = s.stop, s.trailed
    if s.side * (best - s.entry) >= genome.trail_act * s.atr:
        cand = best - s.side * genome.trail_off * s.atr
        if s.side * (cand - stop) > 0:
            stop, trailed = cand, True
    return replace(s, best=best, stop=stop, trailed=trailed)


def close_reason(
    s: State, t: int, h: float, low: float, atr: float, p_long: float, p_short: float, genome: Genome
) -> int:
    """An exit at the close of bar ``t`` (time, abort, vol_exit), or -1."""
    if t - s.entry_bar >= genome.max_hold:
        return TIME
    if (s.side > 0 and p_short > genome.abort) or (s.side < 0 and p_long > genome.abort):
        return ABORT
    if h - low > genome.vol_exit * atr:
        return VOL
    return -1


def close_trade(s: State, t: int, price: float, reason: int, rules: Rules) -> Trade:
    """The trade an exit at ``price`` (before slippage) on bar ``t`` closes."""
    return _close(s, t, price, reason, rules)


def decide_entry(
    t: int, c: float, atr: float, p_long: float, p_short: float, genome: Genome, rules: Rules, cash: float
) -> State | None:
    """A new entry decided at the close of bar ``t`` from a flat book: the pending limit order, or None."""
    if not atr > 0:
        return None
    side = 0
    if p_long > genome.conf and p_long >= p_short:
        side = 1
    elif p_short > genome.conf and rules.allow_short:
        side = -1
    if not side:
        return None
    raw = c - side * genome.pullback * atr
    limit = round_down(raw, rules.tick) if side > 0 else round_up(raw, rules.tick)
    if not limit > 0:
        return None
    qty = size(cash, atr, limit, genome, rules)
    return State(mode=PENDING, side=side, limit=limit, placed=t, atr=atr, qty=qty) if qty > 0 else None


def step(
    s: State,
    t: int,
    o: float,
    h: float,
    low: float,
    c: float,
    atr: float,
    p_long: float,
    p_short: float,
    genome: Genome,
    rules: Rules,
    cash: float,
) -> tuple[State, list[Trade]]:
    """Process bar ``t`` (its OHLC, ATR and the signal known at its close), fills modelled from the bar."""
    trades: list[Trade] = []
    exited = False
    if s.mode == PENDING:
        if expired(s, t, genome):
            s = State()
        else:
            fill = limit_fill(s.side, s.limit, o, h, low)
            if not math.isnan(fill):
                s = opened(s, fill, t, genome, rules)
                if stop_touched(s, h, low):
                    trades.append(_close(s, t, s.stop, SL, rules))
                    s, exited = State(), True
    elif s.mode == OPEN:
        hit, reason = protection_exit(s, o, h, low)
        if hit >= 0:
            trades.append(_close(s, t, hit, reason, rules))
            s, exited = State(), True
        else:
            s = trail(s, h, low, genome)
            reason = close_reason(s, t, h, low, atr, p_long, p_short, genome)
            if reason >= 0:
                trades.append(_close(s, t, c, reason, rules))
                s, exited = State(), True
    if s.mode == FLAT and not exited:
        pending = decide_entry(t, c, atr, p_long, p_short, genome, rules, cash)
        if pending is not None:
            s = pending
    return s, trades


def close_out(s: State, t: int, c: float, rules: Rules) -> list[Trade]:
    """Close an open position at the end of the data (reason ``end``)."""
    return [_close(s, t, c, END, rules)] if s.mode == OPEN else []
