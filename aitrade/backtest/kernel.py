"""The numba backtest kernel: the trading rules of :mod:`aitrade.rules` over arrays.

``simulate_nb`` runs one symbol and one genome; ``simulate_many_nb`` runs every
(individual, symbol) pair of a population over ragged, concatenated symbol
arrays in one call, in parallel over individuals (``simulate_serial_nb`` is
the same loop on one thread, for one genome: no parallel region to open).
Each pair also accumulates its trades' statistics (:data:`STAT_FIELDS`), so a
fitness over trade returns needs no trade records: memory that does not grow
with the number of trades. Every decision is a call to
:mod:`aitrade.rules` (compiled into the loop); this module only keeps the
state in scalars and writes the trades. The plain-Python reference
(:mod:`aitrade.backtest.reference`) is the independent check: a property test
requires identical trades.

Layouts come from one definition each: genomes from :class:`Genome`'s fields,
rules from :class:`Rules`' fields, trades from :data:`TRADE_FIELDS`.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import fields
from pathlib import Path

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from aitrade import rules as R
from aitrade import strategy
from aitrade.rules import END, OPEN, PENDING, SL
from aitrade.strategy import Genome, Rules

for _fn in R.RULES:  # compiled into the kernels where they call them; still plain Python everywhere else
    register_jitable(_fn)

#: a trade row's columns, in order (the one definition: the kernel writes them, the engine and the GA read them)
TRADE_FIELDS = ("side", "entry_bar", "exit_bar", "entry_price", "exit_price", "qty", "fees", "pnl", "reason")
N_TRADE_FIELDS = len(TRADE_FIELDS)
COL = {name: i for i, name in enumerate(TRADE_FIELDS)}
_SIDE, _ENTRY_BAR, _EXIT_BAR, _ENTRY_PRICE = COL["side"], COL["entry_bar"], COL["exit_bar"], COL["entry_price"]
_EXIT_PRICE, _QTY, _FEES, _PNL, _REASON = COL["exit_price"], COL["qty"], COL["fees"], COL["pnl"], COL["reason"]

#: per (genome, symbol): trades, and over their net returns (pnl / entry notional) the sum, the count of losses,
#: the sum of losses and the sum of squared losses (the sniper fitness needs nothing else)
STAT_FIELDS = ("trades", "ret_sum", "losses", "loss_sum", "loss_sq")
N_STATS = len(STAT_FIELDS)
_N_TRADES, _RET_SUM, _LOSSES, _LOSS_SUM, _LOSS_SQ = range(N_STATS)

GENES = Genome.genes()
_G = {g: i for i, g in enumerate(GENES)}
_SL, _TP, _CONF, _PULLBACK, _FILL_WAIT = _G["sl"], _G["tp"], _G["conf"], _G["pullback"], _G["fill_wait"]
_MAX_HOLD, _TRAIL_ACT, _TRAIL_OFF, _VOL_EXIT, _ABORT = (
    _G["max_hold"],
    _G["trail_act"],
    _G["trail_off"],
    _G["vol_exit"],
    _G["abort"],
)
RULE_FIELDS = tuple(f.name for f in fields(Rules))
_R = {r: i for i, r in enumerate(RULE_FIELDS)}
_RISK, _NOTIONAL, _SHORT, _FEE_RATE = _R["risk_per_trade"], _R["max_notional"], _R["allow_short"], _R["fee_rate"]
_SLIP, _TICK, _LOT, _MIN_QTY, _LEVERAGE = _R["slippage"], _R["tick"], _R["lot"], _R["min_qty"], _R["max_leverage"]


def genome_array(genome: Genome) -> np.ndarray:
    """The kernel's genome layout (:data:`GENES`) from a :class:`Genome`."""
    return np.array(genome.as_tuple(), dtype=np.float64)


def rules_array(rules: Rules) -> np.ndarray:
    """The kernel's rules layout (:data:`RULE_FIELDS`) from a :class:`Rules`."""
    return np.array([float(getattr(rules, name)) for name in RULE_FIELDS], dtype=np.float64)


@njit(cache=True)
def _record(out, n, side, entry_bar, t, entry, price, qty, fee_in, reason, rules, stats):
    """Close a trade: add it to ``stats``, write it to row ``n`` of ``out`` (when there is room); return
    (n + 1, net pnl)."""
    px = R.exit_price(side, price, rules[_SLIP], rules[_TICK])
    fees, pnl = R.settle(side, entry, px, qty, fee_in, rules[_FEE_RATE])
    r = pnl / (entry * qty)
    stats[_N_TRADES] += 1.0
    stats[_RET_SUM] += r
    if r < 0:
        stats[_LOSSES] += 1.0
        stats[_LOSS_SUM] += r
        stats[_LOSS_SQ] += r * r
    if n < out.shape[0]:
        out[n, _SIDE] = side
        out[n, _ENTRY_BAR] = entry_bar
        out[n, _EXIT_BAR] = t
        out[n, _ENTRY_PRICE] = entry
        out[n, _EXIT_PRICE] = px
        out[n, _QTY] = qty
        out[n, _FEES] = fees
        out[n, _PNL] = pnl
        out[n, _REASON] = reason
    return n + 1, pnl


@njit(cache=True)
def simulate_nb(o, h, low, c, atr, p_long, p_short, genome, rules, capital, out, equity, stats) -> int:
    """Run one symbol; trades go to ``out`` (rows), realised cash per bar to ``equity``, trade statistics to
    ``stats`` (:data:`STAT_FIELDS`, added to). Returns the trade count."""
    sl, tp, conf, pullback = genome[_SL], genome[_TP], genome[_CONF], genome[_PULLBACK]
    fill_wait, max_hold = int(genome[_FILL_WAIT]), int(genome[_MAX_HOLD])
    trail_act, trail_off, vol_exit, abort = genome[_TRAIL_ACT], genome[_TRAIL_OFF], genome[_VOL_EXIT], genome[_ABORT]
    allow_short = rules[_SHORT] > 0.5
    fee_rate = rules[_FEE_RATE]
    mode = 0
    side = 0
    limit = np.nan
    placed = -1
    s_atr = np.nan
    qty = 0.0
    entry = np.nan
    entry_bar = -1
    stop = np.nan
    target = np.nan
    best = np.nan
    fee = 0.0
    trailed = False
    cash = capital
    n = 0
    m = len(c)
    for t in range(m):
        exited = False
        if mode == PENDING:
            if R.expired(t - placed, fill_wait):
                mode = 0
                side = 0
            else:
                fill = R.limit_fill(side, limit, o[t], h[t], low[t])
                if not math.isnan(fill):
                    stop, target = R.bracket(side, fill, s_atr, sl, tp)
                    fee = fill * qty * fee_rate
                    mode = OPEN
                    entry = fill
                    entry_bar = t
                    best = fill
                    trailed = False
                    if R.stop_touched(side, stop, h[t], low[t]):
                        n, pnl = _record(out, n, side, entry_bar, t, entry, stop, qty, fee, SL, rules, stats)
                        cash += pnl
                        mode = 0
                        side = 0
                        exited = True
        elif mode == OPEN:
            hit, reason = R.protection_exit(side, stop, target, trailed, o[t], h[t], low[t])
            if hit >= 0:
                n, pnl = _record(out, n, side, entry_bar, t, entry, hit, qty, fee, reason, rules, stats)
                cash += pnl
                mode = 0
                side = 0
                exited = True
            else:
                best, stop, trailed = R.trail(
                    side, best, stop, trailed, entry, s_atr, h[t], low[t], trail_act, trail_off
                )
                reason = R.close_reason(
                    side, t - entry_bar, h[t], low[t], atr[t], p_long[t], p_short[t], max_hold, abort, vol_exit
                )
                if reason >= 0:
                    n, pnl = _record(out, n, side, entry_bar, t, entry, c[t], qty, fee, reason, rules, stats)
                    cash += pnl
                    mode = 0
                    side = 0
                    exited = True
        if mode == 0 and not exited and atr[t] > 0:
            new_side = R.entry_side(p_long[t], p_short[t], conf, allow_short)
            if new_side != 0:
                lim = R.entry_limit(new_side, c[t], atr[t], pullback, rules[_TICK])
                if lim > 0:
                    q = R.entry_size(
                        cash,
                        atr[t],
                        lim,
                        sl,
                        rules[_RISK],
                        rules[_NOTIONAL],
                        rules[_LEVERAGE],
                        fee_rate,
                        rules[_LOT],
                        rules[_MIN_QTY],
                    )
                    if q > 0:
                        mode = PENDING
                        side = new_side
                        limit = lim
                        placed = t
                        s_atr = atr[t]
                        qty = q
        equity[t] = cash
    if mode == OPEN and m > 0:
        n, pnl = _record(out, n, side, entry_bar, m - 1, entry, c[m - 1], qty, fee, END, rules, stats)
        cash += pnl
        equity[m - 1] = cash
    return n


@njit(cache=True)
def _genome_nb(bars, offsets, genome, rules, capital, trades, counts, equity, stats):
    """One genome over every symbol of ``bars`` (open, high, low, close, atr, p_long, p_short), into its rows of
    the population's outputs."""
    o, h, low, c, atr, p_long, p_short = bars
    for s in range(len(offsets) - 1):
        a, b = offsets[s], offsets[s + 1]
        counts[s] = simulate_nb(
            o[a:b],
            h[a:b],
            low[a:b],
            c[a:b],
            atr[a:b],
            p_long[a:b],
            p_short[a:b],
            genome,
            rules,
            capital,
            trades[s],
            equity[a:b],
            stats[s],
        )


@njit(cache=True)
def _outputs_nb(n_pop, n_sym, n_bars, max_trades):
    return (
        np.zeros((n_pop, n_sym, max_trades, N_TRADE_FIELDS)),
        np.zeros((n_pop, n_sym), dtype=np.int64),
        np.zeros((n_pop, n_bars)),
        np.zeros((n_pop, n_sym, N_STATS)),
    )


@njit(cache=True, parallel=True)
def simulate_many_nb(o, h, low, c, atr, p_long, p_short, offsets, genomes, rules, capital, max_trades):
    """Every genome (rows of ``genomes``) over every symbol (``offsets`` into the concatenated arrays), in parallel.

    Returns (trades[P, S, max_trades, 9], counts[P, S], equity[P, total_bars], stats[P, S, N_STATS]).
    """
    bars = (o, h, low, c, atr, p_long, p_short)
    trades, counts, equity, stats = _outputs_nb(genomes.shape[0], len(offsets) - 1, len(c), max_trades)
    for p in prange(genomes.shape[0]):
        _genome_nb(bars, offsets, genomes[p], rules, capital, trades[p], counts[p], equity[p], stats[p])
    return trades, counts, equity, stats


@njit(cache=True)
def simulate_serial_nb(o, h, low, c, atr, p_long, p_short, offsets, genomes, rules, capital, max_trades):
    """:func:`simulate_many_nb` on one thread (one genome: a parallel region would cost more than it gives)."""
    bars = (o, h, low, c, atr, p_long, p_short)
    trades, counts, equity, stats = _outputs_nb(genomes.shape[0], len(offsets) - 1, len(c), max_trades)
    for p in range(genomes.shape[0]):
        _genome_nb(bars, offsets, genomes[p], rules, capital, trades[p], counts[p], equity[p], stats[p])
    return trades, counts, equity, stats


@njit(cache=True)
def mark_to_market_nb(close, realised, trades, n, fee_rate):
    """Value at each close of one symbol: the kernel's realised cash plus each open position at the close,
    less the entry fee it has paid (what an account holding the position shows)."""
    out = realised.copy()
    for k in range(n):
        side, e, x = trades[k, _SIDE], int(trades[k, _ENTRY_BAR]), int(trades[k, _EXIT_BAR])
        entry, qty = trades[k, _ENTRY_PRICE], trades[k, _QTY]
        fee_in = entry * qty * fee_rate
        for t in range(e, x):
            out[t] += side * qty * (close[t] - entry) - fee_in
    return out


def rules_digest() -> str:
    """What the compiled kernels depend on beyond this file: the rules and the layouts' source."""
    text = b"".join(Path(m.__file__).read_bytes() for m in (R, strategy) if m.__file__)
    return hashlib.sha256(text).hexdigest()


def fresh_cache(dispatchers: tuple, digest: str) -> bool:
    """Drop the cached machine code of ``dispatchers`` when it was compiled from other rules than ``digest``.

    numba keys its disk cache on this file's timestamp and the kernels' own
    bytecode, not on the functions they inline: a changed :mod:`aitrade.rules`
    would otherwise be served stale. The digest is kept beside the cache.
    Returns whether anything was dropped.
    """
    dropped = False
    for d in dispatchers:
        cache = getattr(d, "_cache", None)
        where = getattr(cache, "_cache_path", None)
        if cache is None or where is None:
            continue
        stamp = Path(where) / f"{d.py_func.__module__}.{d.py_func.__name__}.rules-digest"
        try:
            if stamp.read_text() == digest:
                continue
        except OSError:
            pass
        cache.flush()
        dropped = True
        try:
            tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(digest)
            tmp.replace(stamp)
        except OSError:  # a read-only cache place: numba then compiles in memory anyway
            pass
    return dropped


fresh_cache((_record, simulate_nb, _genome_nb, _outputs_nb, simulate_many_nb, simulate_serial_nb), rules_digest())
