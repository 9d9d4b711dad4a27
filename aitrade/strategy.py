"""The runner's view of the trading rules: a symbol's :class:`State` stepped bar by bar.

``step(state, bar, signal, genome, rules, cash)`` returns the new state and the
trades closed on that bar. Every decision in it is a function of
:mod:`aitrade.rules` (where the conventions are written down); this module only
carries them over the frozen :class:`State` the runner keeps per symbol. Free of
pandas and I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from aitrade import rules as R
from aitrade.checks import number
from aitrade.rules import ABORT, END, EXIT_REASONS, FLAT, OPEN, PENDING, SL, TIME, TP, TRAIL, VOL

__all__ = ["ABORT", "END", "EXIT_REASONS", "FLAT", "OPEN", "PENDING", "SL", "TIME", "TP", "TRAIL", "VOL"]

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


def exit_price(side: int, price: float, rules: Rules) -> float:
    """The price a market/stop exit gets: slippage and tick rounding against us."""
    return R.exit_price(side, price, rules.slippage, rules.tick)


def _close(s: State, t: int, price: float, reason: int, rules: Rules) -> Trade:
    px = R.exit_price(s.side, price, rules.slippage, rules.tick)
    fees, pnl = R.settle(s.side, s.entry, px, s.qty, s.fee, rules.fee_rate)
    return Trade(s.side, s.entry_bar, t, s.entry, px, s.qty, fees, pnl, reason)


def size(cash: float, atr: float, limit: float, genome: Genome, rules: Rules) -> float:
    """Quantity for a new entry (0 when below the minimum)."""
    r = rules
    return R.entry_size(
        cash, atr, limit, genome.sl, r.risk_per_trade, r.max_notional, r.max_leverage, r.fee_rate, r.lot, r.min_qty
    )


# --- the phases of a bar, shared by `step` (the backtest's model of a venue) and the runner (a real one) ---
def expired(s: State, t: int, genome: Genome) -> bool:
    """A pending entry that has lived ``fill_wait`` bars is cancelled before bar ``t``."""
    return s.mode == PENDING and R.expired(t - s.placed, genome.fill_wait)


def opened(s: State, fill: float, t: int, genome: Genome, rules: Rules) -> State:
    """The position a pending entry becomes when it fills at ``fill`` on bar ``t``: stop and target from the fill."""
    stop, target = R.bracket(s.side, fill, s.atr, genome.sl, genome.tp)
    fee = fill * s.qty * rules.fee_rate
    return replace(s, mode=OPEN, entry=fill, entry_bar=t, stop=stop, target=target, best=fill, fee=fee)


def protection_exit(s: State, o: float, h: float, low: float) -> tuple[float, int]:
    """The stop or target an open position hits on a later bar: (price before slippage, reason), or (-1, -1)."""
    return R.protection_exit(s.side, s.stop, s.target, s.trailed, o, h, low)


def trail(s: State, h: float, low: float, genome: Genome) -> State:
    """After a bar's exit checks: the best price so far, and the stop moved behind it once trailing is on."""
    best, stop, trailed = R.trail(
        s.side, s.best, s.stop, s.trailed, s.entry, s.atr, h, low, genome.trail_act, genome.trail_off
    )
    return replace(s, best=best, stop=stop, trailed=trailed)


def close_reason(
    s: State, t: int, h: float, low: float, atr: float, p_long: float, p_short: float, genome: Genome
) -> int:
    """An exit at the close of bar ``t`` (time, abort, vol_exit), or -1."""
    return R.close_reason(
        s.side, t - s.entry_bar, h, low, atr, p_long, p_short, genome.max_hold, genome.abort, genome.vol_exit
    )


def close_trade(s: State, t: int, price: float, reason: int, rules: Rules) -> Trade:
    """The trade an exit at ``price`` (before slippage) on bar ``t`` closes."""
    return _close(s, t, price, reason, rules)


def decide_entry(
    t: int, c: float, atr: float, p_long: float, p_short: float, genome: Genome, rules: Rules, cash: float
) -> State | None:
    """A new entry decided at the close of bar ``t`` from a flat book: the pending limit order, or None."""
    if not atr > 0:
        return None
    side = R.entry_side(p_long, p_short, genome.conf, rules.allow_short)
    if not side:
        return None
    limit = R.entry_limit(side, c, atr, genome.pullback, rules.tick)
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
            fill = R.limit_fill(s.side, s.limit, o, h, low)
            if not math.isnan(fill):
                s = opened(s, fill, t, genome, rules)
                if R.stop_touched(s.side, s.stop, h, low):
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
