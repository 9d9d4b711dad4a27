"""Plain-Python reference backtest: :func:`aitrade.strategy.step` over one symbol's arrays.

It is slow and obviously correct; the numba kernel must give identical trades.
"""

from __future__ import annotations

import numpy as np

from aitrade.strategy import Genome, Rules, State, Trade, close_out, step


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
    s = State()
    cash = capital
    trades: list[Trade] = []
    equity = np.empty(len(c))
    for t in range(len(c)):
        s, closed = step(s, t, o[t], h[t], low[t], c[t], atr[t], p_long[t], p_short[t], genome, rules, cash)
        for tr in closed:
            cash += tr.pnl
            trades.append(tr)
        equity[t] = cash
    for tr in close_out(s, len(c) - 1, c[-1], rules):
        cash += tr.pnl
        trades.append(tr)
        equity[-1] = cash
    return trades, equity
