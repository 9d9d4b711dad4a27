"""The independent check of the trading rules: a plain-Python backtest written from the conventions alone.

It shares no decision with :mod:`aitrade.rules` (which the kernel, the runner
and the paper venue all call): it is written out again, slowly and plainly,
from the conventions in that module's docstring, so that a mistake made there
shows up as a difference here. Tests require the kernel and
:func:`aitrade.strategy.step` to give exactly these trades.
"""

from __future__ import annotations

import math

import numpy as np

from aitrade.strategy import Genome, Rules, Trade

_SL, _TP, _TRAIL, _TIME, _ABORT, _VOL, _END = range(7)  # the order of aitrade.rules.EXIT_REASONS


def _to_tick(x: float, tick: float, up: bool) -> float:
    if tick <= 0:
        return x
    return (math.ceil(x / tick - 1e-9) if up else math.floor(x / tick + 1e-9)) * tick


def run_reference(
    o: np.ndarray,
    h: np.ndarray,
    low: np.ndarray,
    c: np.ndarray,
    atr: np.ndarray,
    p_long: np.ndarray,
    p_short: np.ndarray,
    genome: Genome,
    rules: Rules,
    capital: float,
) -> tuple[list[Trade], np.ndarray]:
    """Trades and the realised cash after each bar."""
    g, r = genome, rules
    cash = capital
    trades: list[Trade] = []
    equity = np.empty(len(c))
    pending: dict[str, float] | None = None  # side, limit, placed, atr, qty
    pos: dict[str, float] | None = None  # side, entry, bar, qty, atr, stop, target, best, fee, trailed

    def close(t: int, level: float, reason: int) -> None:
        nonlocal cash, pos
        assert pos is not None
        side = pos["side"]
        px = (
            _to_tick(level * (1 - r.slippage), r.tick, False)
            if side > 0
            else _to_tick(level * (1 + r.slippage), r.tick, True)
        )
        fees = pos["fee"] + px * pos["qty"] * r.fee_rate
        pnl = side * (px - pos["entry"]) * pos["qty"] - fees
        trades.append(Trade(int(side), int(pos["bar"]), t, pos["entry"], px, pos["qty"], fees, pnl, reason))
        cash += pnl
        pos = None

    for t in range(len(c)):
        exited = False
        if pending is not None:
            side, limit = pending["side"], pending["limit"]
            if t - pending["placed"] > g.fill_wait:
                pending = None
            elif (side > 0 and low[t] <= limit) or (side < 0 and h[t] >= limit):
                fill = min(o[t], limit) if side > 0 else max(o[t], limit)
                a, qty = pending["atr"], pending["qty"]
                pending = None
                pos = {
                    "side": side,
                    "entry": fill,
                    "bar": t,
                    "qty": qty,
                    "atr": a,
                    "best": fill,
                    "trailed": 0.0,
                    "stop": fill - side * g.sl * a,
                    "target": fill + side * g.tp * a,
                    "fee": fill * qty * r.fee_rate,
                }
                if (side > 0 and low[t] <= pos["stop"]) or (side < 0 and h[t] >= pos["stop"]):
                    close(t, pos["stop"], _SL)  # the fill bar: only the stop, at its level
                    exited = True
        elif pos is not None:
            side, stop, target = pos["side"], pos["stop"], pos["target"]
            stop_reason = _TRAIL if pos["trailed"] else _SL
            beyond_stop = o[t] <= stop if side > 0 else o[t] >= stop
            touches_stop = low[t] <= stop if side > 0 else h[t] >= stop
            beyond_target = o[t] >= target if side > 0 else o[t] <= target
            touches_target = h[t] >= target if side > 0 else low[t] <= target
            if beyond_stop or touches_stop:
                close(t, o[t] if beyond_stop else stop, stop_reason)
                exited = True
            elif beyond_target or touches_target:
                close(t, o[t] if beyond_target else target, _TP)
                exited = True
            else:
                pos["best"] = max(pos["best"], h[t]) if side > 0 else min(pos["best"], low[t])
                if side * (pos["best"] - pos["entry"]) >= g.trail_act * pos["atr"]:
                    candidate = pos["best"] - side * g.trail_off * pos["atr"]
                    if side * (candidate - stop) > 0:
                        pos["stop"], pos["trailed"] = candidate, 1.0
                reason = -1
                if t - pos["bar"] >= g.max_hold:
                    reason = _TIME
                elif (side > 0 and p_short[t] > g.abort) or (side < 0 and p_long[t] > g.abort):
                    reason = _ABORT
                elif h[t] - low[t] > g.vol_exit * atr[t]:
                    reason = _VOL
                if reason >= 0:
                    close(t, c[t], reason)
                    exited = True
        if pending is None and pos is None and not exited and atr[t] > 0:
            side = 0
            if p_long[t] > g.conf and p_long[t] >= p_short[t]:
                side = 1
            elif p_short[t] > g.conf and r.allow_short:
                side = -1
            if side:
                limit = _to_tick(c[t] - side * g.pullback * atr[t], r.tick, side < 0)
                if limit > 0:
                    qty = cash * r.risk_per_trade / (g.sl * atr[t])
                    qty = min(qty, r.max_notional / limit)
                    qty = min(qty, cash * r.max_leverage / (limit * (1.0 + r.fee_rate)))
                    qty = _to_tick(qty, r.lot, False)
                    if qty > 0 and qty >= r.min_qty:
                        pending = {"side": side, "limit": limit, "placed": t, "atr": atr[t], "qty": qty}
        equity[t] = cash
    if pos is not None and len(c):
        close(len(c) - 1, c[-1], _END)
        equity[-1] = cash
    return trades, equity
