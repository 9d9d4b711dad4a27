"""The numba backtest kernel: :mod:`aitrade.strategy`'s rules over arrays.

``simulate_nb`` runs one symbol and one genome; ``simulate_many_nb`` runs every
(individual, symbol) pair of a population over ragged, concatenated symbol
arrays in one call, in parallel over individuals. The logic mirrors
:func:`aitrade.strategy.step` line for line (same float operations in the same
order); a property test requires identical trades.

Genome layout: sl, tp, conf, pullback, fill_wait, max_hold, trail_act,
trail_off, vol_exit, abort. Rules layout: risk_per_trade, max_notional,
allow_short, fee_rate, slippage, tick, lot, min_qty, max_leverage.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

N_TRADE_FIELDS = 9  # side, entry_bar, exit_bar, entry_price, exit_price, qty, fees, pnl, reason


def rules_array(rules) -> np.ndarray:
    """The kernel's rules layout from a :class:`aitrade.strategy.Rules`."""
    return np.array(
        [rules.risk_per_trade, rules.max_notional, float(rules.allow_short), rules.fee_rate, rules.slippage,
         rules.tick, rules.lot, rules.min_qty, rules.max_leverage],
        dtype=np.float64,
    )  # fmt: skip


SL, TP, TRAIL, TIME, ABORT, VOL, END = 0, 1, 2, 3, 4, 5, 6


@njit(cache=True)
def _round_down(x: float, tick: float) -> float:
    return np.floor(x / tick + 1e-9) * tick if tick > 0 else x


@njit(cache=True)
def _round_up(x: float, tick: float) -> float:
    return np.ceil(x / tick - 1e-9) * tick if tick > 0 else x


@njit(cache=True)
def _record(out, n, side, entry_bar, t, entry, price, qty, fee_in, reason, rules):
    """Close a trade: write it to row ``n`` of ``out`` (when there is room); return (n + 1, net pnl)."""
    down = _round_down(price * (1.0 - rules[4]), rules[5])
    up = _round_up(price * (1.0 + rules[4]), rules[5])
    px = down if side > 0 else up
    fee_out = px * qty * rules[3]
    fees = fee_in + fee_out
    pnl = side * (px - entry) * qty - fees
    if n < out.shape[0]:
        out[n, 0] = side
        out[n, 1] = entry_bar
        out[n, 2] = t
        out[n, 3] = entry
        out[n, 4] = px
        out[n, 5] = qty
        out[n, 6] = fees
        out[n, 7] = pnl
        out[n, 8] = reason
    return n + 1, pnl


@njit(cache=True)
def simulate_nb(o, h, low, c, atr, p_long, p_short, genome, rules, capital, out, equity) -> int:
    """Run one symbol; trades go to ``out`` (rows), realised cash per bar to ``equity``. Returns the trade count."""
    sl, tp, conf, pullback = genome[0], genome[1], genome[2], genome[3]
    fill_wait, max_hold = int(genome[4]), int(genome[5])
    trail_act, trail_off, vol_exit, abort = genome[6], genome[7], genome[8], genome[9]
    allow_short = rules[2] > 0.5
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
        if mode == 1:
            if t - placed > fill_wait:
                mode = 0
                side = 0
            else:
                fill = np.nan
                if side > 0 and low[t] <= limit:
                    fill = min(o[t], limit)
                elif side < 0 and h[t] >= limit:
                    fill = max(o[t], limit)
                if not np.isnan(fill):
                    stop = fill - side * sl * s_atr
                    target = fill + side * tp * s_atr
                    fee = fill * qty * rules[3]
                    mode = 2
                    entry = fill
                    entry_bar = t
                    best = fill
                    trailed = False
                    if (side > 0 and low[t] <= stop) or (side < 0 and h[t] >= stop):
                        n, pnl = _record(out, n, side, entry_bar, t, entry, stop, qty, fee, SL, rules)
                        cash += pnl
                        mode = 0
                        side = 0
                        exited = True
        elif mode == 2:
            stop_reason = TRAIL if trailed else SL
            hit = -1.0
            reason = SL
            if side > 0:
                if o[t] <= stop:
                    hit = o[t]
                    reason = stop_reason
                elif low[t] <= stop:
                    hit = stop
                    reason = stop_reason
                elif o[t] >= target:
                    hit = o[t]
                    reason = TP
                elif h[t] >= target:
                    hit = target
                    reason = TP
            else:
                if o[t] >= stop:
                    hit = o[t]
                    reason = stop_reason
                elif h[t] >= stop:
                    hit = stop
                    reason = stop_reason
                elif o[t] <= target:
                    hit = o[t]
                    reason = TP
                elif low[t] <= target:
                    hit = target
                    reason = TP
            if hit >= 0:
                n, pnl = _record(out, n, side, entry_bar, t, entry, hit, qty, fee, reason, rules)
                cash += pnl
                mode = 0
                side = 0
                exited = True
            else:
                best = max(best, h[t]) if side > 0 else min(best, low[t])
                if side * (best - entry) >= trail_act * s_atr:
                    cand = best - side * trail_off * s_atr
                    if side * (cand - stop) > 0:
                        stop = cand
                        trailed = True
                reason = -1
                if t - entry_bar >= max_hold:
                    reason = TIME
                elif (side > 0 and p_short[t] > abort) or (side < 0 and p_long[t] > abort):
                    reason = ABORT
                elif h[t] - low[t] > vol_exit * atr[t]:
                    reason = VOL
                if reason >= 0:
                    n, pnl = _record(out, n, side, entry_bar, t, entry, c[t], qty, fee, reason, rules)
                    cash += pnl
                    mode = 0
                    side = 0
                    exited = True
        if mode == 0 and not exited and atr[t] > 0:
            new_side = 0
            if p_long[t] > conf and p_long[t] >= p_short[t]:
                new_side = 1
            elif p_short[t] > conf and allow_short:
                new_side = -1
            if new_side != 0:
                raw = c[t] - new_side * pullback * atr[t]
                lim = _round_down(raw, rules[5]) if new_side > 0 else _round_up(raw, rules[5])
                if lim > 0:
                    q = cash * rules[0] / (sl * atr[t])
                    q = min(q, rules[1] / lim)
                    q = min(q, cash * rules[8] / (lim * (1.0 + rules[3])))
                    q = _round_down(q, rules[6])
                    if q > 0 and q >= rules[7]:
                        mode = 1
                        side = new_side
                        limit = lim
                        placed = t
                        s_atr = atr[t]
                        qty = q
        equity[t] = cash
    if mode == 2 and m > 0:
        n, pnl = _record(out, n, side, entry_bar, m - 1, entry, c[m - 1], qty, fee, END, rules)
        cash += pnl
        equity[m - 1] = cash
    return n


@njit(cache=True, parallel=True)
def simulate_many_nb(o, h, low, c, atr, p_long, p_short, offsets, genomes, rules, capital, max_trades):
    """Every genome (rows of ``genomes``) over every symbol (``offsets`` into the concatenated arrays).

    Returns (trades[P, S, max_trades, 9], counts[P, S], equity[P, total_bars]).
    """
    n_pop = genomes.shape[0]
    n_sym = len(offsets) - 1
    trades = np.zeros((n_pop, n_sym, max_trades, N_TRADE_FIELDS))
    counts = np.zeros((n_pop, n_sym), dtype=np.int64)
    equity = np.zeros((n_pop, len(c)))
    for p in prange(n_pop):
        for s in range(n_sym):
            a, b = offsets[s], offsets[s + 1]
            counts[p, s] = simulate_nb(
                o[a:b], h[a:b], low[a:b], c[a:b], atr[a:b], p_long[a:b], p_short[a:b],
                genomes[p], rules, capital, trades[p, s], equity[p, a:b],
            )  # fmt: skip
    return trades, counts, equity


@njit(cache=True)
def mark_to_market_nb(close, realised, trades, n, fee_rate):
    """Value at each close of one symbol: the kernel's realised cash plus each open position at the close,
    less the entry fee it has paid (what an account holding the position shows)."""
    out = realised.copy()
    for k in range(n):
        side, e, x = trades[k, 0], int(trades[k, 1]), int(trades[k, 2])
        entry, qty = trades[k, 3], trades[k, 5]
        fee_in = entry * qty * fee_rate
        for t in range(e, x):
            out[t] += side * qty * (close[t] - entry) - fee_in
    return out
