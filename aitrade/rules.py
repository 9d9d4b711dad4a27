"""The trading rules, written once: every entry, fill, protection, trailing and exit decision.

Pure functions of scalars (no I/O, no objects, no numpy), so that the same
code serves three callers:

* :func:`aitrade.strategy.step` and the runner call them as plain Python;
* the numba backtest kernel (:mod:`aitrade.backtest.kernel`) compiles them
  into its loop (it registers them with ``numba.extending.register_jitable``,
  so importing this module never imports numba);
* the simulated broker (:mod:`aitrade.brokers.simulated`) calls the fill
  functions with :class:`~decimal.Decimal` prices (they use only ``min``,
  ``max``, comparisons and arithmetic, which work on both).

Conventions (the backtest, the paper venue and the runner all follow them):

* A signal is known at the close of its bar. An entry is decided at that close
  (:func:`entry_side`) and becomes a limit order ``pullback`` ATR away from the
  close (:func:`entry_limit`), rounded to the tick away from the market.
* A resting limit fills on the first bar that trades through it, at its price,
  or at the open when the bar opens beyond it (:func:`limit_fill`). No slippage.
* Stop and target are ``sl`` and ``tp`` ATR of the signal bar from the fill
  (:func:`bracket`). On the fill bar only the stop is checked, at its level
  (:func:`stop_touched`): whether the extreme came before the fill is unknown.
* Later bars: the stop before the target, so a bar touching both is a stop; a
  bar opening beyond a level exits at the open (:func:`protection_exit`).
* Trailing (:func:`trail`): once the best price since entry is ``trail_act``
  ATR in profit the stop follows it at ``trail_off`` ATR; updated after the
  bar's exit checks, so it first applies on the next bar.
* At the close (:func:`close_reason`): ``max_hold`` bars held (time), the
  opposite probability above ``abort``, or the bar's range above ``vol_exit``
  ATR. No new entry on an exit bar.
* Size (:func:`entry_size`): cash x risk / (sl x ATR), capped by the notional
  and by ``max_leverage`` x cash, rounded down to the lot; under the minimum
  quantity nothing is placed.
* Market, stop and target exits pay slippage, then the tick, against us
  (:func:`exit_price`); fees on both sides' notional (:func:`settle`).
"""

from __future__ import annotations

import math
from decimal import Decimal
from types import FunctionType
from typing import TypeVar

FLAT, PENDING, OPEN = 0, 1, 2
#: exit reasons: the names (as booked and shown) and their codes, declared here only
EXIT_REASONS = ("sl", "tp", "trail", "time", "abort", "vol_exit", "end")
SL, TP, TRAIL, TIME, ABORT, VOL, END = 0, 1, 2, 3, 4, 5, 6
#: a closed round trip's fields, in order: the backtest's trades, the runner's ledger and every trades table
TRADE_COLUMNS = (
    "symbol",
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "quantity",
    "fees",
    "pnl",
    "exit_reason",
)
NO_EXIT = -1
P = TypeVar("P", float, Decimal)  # a price: float in the backtest and the runner, Decimal in the paper venue


def round_down(x: float, tick: float) -> float:
    """``x`` down to a multiple of ``tick`` (unchanged without a tick)."""
    return math.floor(x / tick + 1e-9) * tick if tick > 0 else x


def round_up(x: float, tick: float) -> float:
    """``x`` up to a multiple of ``tick`` (unchanged without a tick)."""
    return math.ceil(x / tick - 1e-9) * tick if tick > 0 else x


def slipped(direction: int, price: P, slippage: P) -> P:
    """A market fill's price before rounding: a buy (``direction`` > 0) pays up, a sell gets less."""
    return price * (1 + slippage) if direction > 0 else price * (1 - slippage)


def exit_price(side: int, price: float, slippage: float, tick: float) -> float:
    """Where a position of ``side`` exits at ``price``: slippage, then the tick, against us."""
    if side > 0:
        return round_down(slipped(-1, price, slippage), tick)
    return round_up(slipped(1, price, slippage), tick)


def net_pnl(side: int, entry: float, px: float, qty: float, fees: float) -> float:
    """A closed trade's pnl net of its fees."""
    return side * (px - entry) * qty - fees


def settle(side: int, entry: float, px: float, qty: float, fee_in: float, fee_rate: float) -> tuple[float, float]:
    """(fees, pnl) of a trade closed at ``px``: the exit fee on its notional, pnl net of both fees."""
    fees = fee_in + px * qty * fee_rate
    return fees, net_pnl(side, entry, px, qty, fees)


def entry_side(p_long: float, p_short: float, conf: float, allow_short: bool) -> int:
    """1 (long), -1 (short) or 0 from the probabilities known at a close."""
    if p_long > conf and p_long >= p_short:
        return 1
    if p_short > conf and allow_short:
        return -1
    return 0


def entry_limit(side: int, close: float, atr: float, pullback: float, tick: float) -> float:
    """The entry's limit price: ``pullback`` ATR from the close, rounded to the tick away from the market."""
    raw = close - side * pullback * atr
    return round_down(raw, tick) if side > 0 else round_up(raw, tick)


def entry_size(
    cash: float,
    atr: float,
    limit: float,
    sl: float,
    risk: float,
    max_notional: float,
    max_leverage: float,
    fee_rate: float,
    lot: float,
    min_qty: float,
) -> float:
    """The entry's quantity (0 when below the minimum)."""
    qty = cash * risk / (sl * atr)
    qty = min(qty, max_notional / limit)
    qty = min(qty, cash * max_leverage / (limit * (1.0 + fee_rate)))
    qty = round_down(qty, lot)
    return qty if qty > 0 and qty >= min_qty else 0.0


def expired(age: int, fill_wait: float) -> bool:
    """A pending entry placed ``age`` bars ago is cancelled before this bar."""
    return age > fill_wait


def limit_fill(side: int, limit: P, o: P, h: P, low: P) -> P | float:
    """Where a resting entry limit fills on a bar (at the open on a gap through it); NaN when it does not."""
    if side > 0 and low <= limit:
        return min(o, limit)
    if side < 0 and h >= limit:
        return max(o, limit)
    return math.nan


def bracket(side: int, fill: float, atr: float, sl: float, tp: float) -> tuple[float, float]:
    """(stop, target) of a position filled at ``fill``."""
    return fill - side * sl * atr, fill + side * tp * atr


def stop_touched(side: int, stop: P, h: P, low: P) -> bool:
    """The fill bar's check: did the bar reach the stop (filled at the level)?"""
    return (side > 0 and low <= stop) or (side < 0 and h >= stop)


def stop_fill(side: int, stop: P, o: P, h: P, low: P) -> P | float:
    """Where a stop of a position of ``side`` fills on a later bar (the open on a gap); NaN if not hit."""
    if side > 0:
        if o <= stop:
            return o
        if low <= stop:
            return stop
    else:
        if o >= stop:
            return o
        if h >= stop:
            return stop
    return math.nan


def target_fill(side: int, target: P, o: P, h: P, low: P) -> P | float:
    """Where a target of a position of ``side`` fills on a later bar (the open on a gap); NaN if not hit."""
    if side > 0:
        if o >= target:
            return o
        if h >= target:
            return target
    else:
        if o <= target:
            return o
        if low <= target:
            return target
    return math.nan


def protection_exit(
    side: int, stop: float, target: float, trailed: bool, o: float, h: float, low: float
) -> tuple[float, int]:
    """(price before slippage, reason) of the stop or target a later bar hits, or (-1.0, NO_EXIT). Stop first."""
    px = stop_fill(side, stop, o, h, low)
    if not math.isnan(px):
        return px, TRAIL if trailed else SL
    px = target_fill(side, target, o, h, low)
    if not math.isnan(px):
        return px, TP
    return -1.0, NO_EXIT


def trail(
    side: int,
    best: float,
    stop: float,
    trailed: bool,
    entry: float,
    atr: float,
    h: float,
    low: float,
    trail_act: float,
    trail_off: float,
) -> tuple[float, float, bool]:
    """(best, stop, trailed) after a bar: the best price so far, the stop moved behind it once trailing is on."""
    best = max(best, h) if side > 0 else min(best, low)
    if side * (best - entry) >= trail_act * atr:
        cand = best - side * trail_off * atr
        if side * (cand - stop) > 0:
            return best, cand, True
    return best, stop, trailed


def close_reason(
    side: int,
    age: int,
    h: float,
    low: float,
    atr: float,
    p_long: float,
    p_short: float,
    max_hold: float,
    abort: float,
    vol_exit: float,
) -> int:
    """An exit at the close (TIME, ABORT, VOL) of a position held ``age`` bars, or NO_EXIT."""
    if age >= max_hold:
        return TIME
    if (side > 0 and p_short > abort) or (side < 0 and p_long > abort):
        return ABORT
    if h - low > vol_exit * atr:
        return VOL
    return NO_EXIT


#: every rule function, in order of definition (the kernel registers them all with numba)
RULES = tuple(f for f in list(globals().values()) if isinstance(f, FunctionType) and f.__module__ == __name__)
