"""Run the rules over a signals artifact: the kernel decides and keeps the books; vectorbt checks them.

Each symbol trades its own sub-account (capital split equally), as the
original did. The kernel returns the trades and its realised cash; the
mark-to-market equity (open positions at the close, less the entry fee they
paid) is added in a numba pass. ``BacktestResult.portfolio`` hands the same
trades, on first use, to ``vectorbt.Portfolio.from_orders`` (a timeline of
close rows, with a fill row at a bar's open time only where a trade enters and
exits within that bar): its value at every close equals the equity here, which
the tests require, and it serves vectorbt's trade records and statistics.
Building it on every backtest cost four times the kernel and the
mark-to-market together, so it is built only when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from aitrade.backtest.config import BacktestConfig
from aitrade.backtest.kernel import (
    COL,
    N_TRADE_FIELDS,
    genome_array,
    mark_to_market_nb,
    rules_array,
    simulate_many_nb,
    simulate_serial_nb,
)
from aitrade.rules import EXIT_REASONS, TRADE_COLUMNS
from aitrade.signals.artifact import Signals
from aitrade.strategy import Genome

__all__ = ["BacktestConfig", "BacktestResult", "Panel", "run_backtest", "simulate"]


@dataclass
class Panel:
    """Signals of many symbols as concatenated arrays (what the kernel reads)."""

    symbols: list[str]
    index: list[pd.DatetimeIndex]
    offsets: np.ndarray
    arrays: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        # one time unit (ns, UTC) for every symbol: the timeline is built from the raw integers
        self.index = [pd.DatetimeIndex(i).tz_convert("UTC").as_unit("ns") for i in self.index]

    def timeline(self) -> pd.DatetimeIndex:
        """Every bar time of any symbol, sorted (UTC, ns)."""
        if not self.index:
            return pd.DatetimeIndex([], tz="UTC").as_unit("ns")
        first = self.index[0]
        if all(i.equals(first) for i in self.index[1:]) and first.is_monotonic_increasing and first.is_unique:
            return first
        return pd.DatetimeIndex(np.unique(np.concatenate([i.asi8 for i in self.index])), tz="UTC").as_unit("ns")

    @classmethod
    def from_signals(cls, signals: Signals, start: Any = None, end: Any = None) -> Panel:
        symbols: list[str] = []
        index: list[pd.DatetimeIndex] = []
        parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("open", "high", "low", "close", "atr", "p_long", "p_short")
        }
        for sym in signals.symbols:
            df = signals.symbol(sym)
            if start is not None:
                df = df[df.index >= start]
            if end is not None:
                df = df[df.index < end]
            if not len(df):
                continue
            symbols.append(sym)
            index.append(df.index)
            for k, part in parts.items():
                part.append(df[k].to_numpy(np.float64))
        lens = [len(i) for i in index]
        arrays = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
        return cls(symbols, index, np.r_[0, np.cumsum(lens)].astype(np.int64), arrays)

    def select(self, symbols: Any) -> Panel:
        """The panel of ``symbols`` only, in this panel's order (one symbol's arrays are views)."""
        wanted = set(symbols)
        keep = [i for i, s in enumerate(self.symbols) if s in wanted]
        index = [self.index[i] for i in keep]
        parts = {k: [v[self.offsets[i] : self.offsets[i + 1]] for i in keep] for k, v in self.arrays.items()}
        arrays = {
            k: (p[0] if len(p) == 1 else np.concatenate(p) if p else self.arrays[k][:0]) for k, p in parts.items()
        }
        offsets = np.r_[0, np.cumsum([len(i) for i in index])].astype(np.int64)
        return Panel([self.symbols[i] for i in keep], index, offsets, arrays)

    def slice(self, start: Any, end: Any) -> Panel:
        keep_sym: list[str] = []
        keep_idx: list[pd.DatetimeIndex] = []
        parts: dict[str, list[np.ndarray]] = {k: [] for k in self.arrays}
        for i, sym in enumerate(self.symbols):
            a, b = self.offsets[i], self.offsets[i + 1]
            idx = self.index[i]
            m = np.ones(len(idx), dtype=bool)
            if start is not None:
                m &= idx >= start
            if end is not None:
                m &= idx < end
            if not m.any():
                continue
            keep_sym.append(sym)
            keep_idx.append(idx[m])
            for k, part in parts.items():
                part.append(self.arrays[k][a:b][m])
        lens = [len(i) for i in keep_idx]
        arrays = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
        return Panel(keep_sym, keep_idx, np.r_[0, np.cumsum(lens)].astype(np.int64), arrays)


@dataclass
class BacktestResult:
    trades: pd.DataFrame
    equity: pd.Series  # portfolio mark-to-market value at each bar close
    symbol_equity: pd.DataFrame
    exposure: float
    turnover_notional: float
    account: Callable[[], Any] = field(repr=False)  # builds the vectorbt Portfolio of these trades

    @cached_property
    def portfolio(self) -> Any:
        """The vectorbt Portfolio of the trades (close rows, plus open rows for same-bar round trips), built on
        first use: its value at every close is the equity above (tested), and it serves vectorbt's statistics."""
        return self.account()


def simulate(
    panel: Panel, genomes: np.ndarray, config: BacktestConfig, *, max_trades: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kernel over every symbol for a population of genomes (rows). Symbols must share one rule set.

    Returns (trades, counts, equity, stats): see :func:`simulate_many_nb`.
    ``max_trades`` sizes the trade buffer per genome and symbol (default
    ``config.max_trades``). Counts, equity and the trade statistics stay exact
    when it overflows; only the records past the buffer are not kept, so a
    caller that needs no trade records passes 1. One genome runs on one thread.
    """
    rules = {tuple(rules_array(config.rules(s))) for s in panel.symbols}
    if len(rules) != 1:
        raise ValueError("simulate() needs symbols with one cost model; run asset classes separately")
    a = panel.arrays
    capital = config.capital / max(1, len(panel.symbols))
    genomes = np.ascontiguousarray(genomes, dtype=np.float64)
    kernel = simulate_serial_nb if len(genomes) == 1 else simulate_many_nb
    return kernel(
        a["open"],
        a["high"],
        a["low"],
        a["close"],
        a["atr"],
        a["p_long"],
        a["p_short"],
        panel.offsets,
        genomes,
        np.array(next(iter(rules))),
        capital,
        config.max_trades if max_trades is None else max(1, int(max_trades)),
    )


def run_backtest(panel: Panel, genome: Genome, config: BacktestConfig) -> BacktestResult:
    """Trades, mark-to-market equity and (on first use) the vectorbt portfolio of one genome over every symbol."""
    records, values = [], []
    capital = config.capital / max(1, len(panel.symbols))
    for sym in panel.symbols:
        sub = panel.select([sym])
        own = replace(config, capital=capital, costs={sym: config.cost(sym)})
        trades, counts, realised, _ = simulate(sub, genome_array(genome)[None, :], own)
        k = int(counts[0, 0])
        if k >= config.max_trades:
            raise ValueError(f"{sym}: more than {config.max_trades} trades; raise max_trades")
        records.append(trades[0, 0, :k])
        values.append(mark_to_market_nb(sub.arrays["close"], realised[0], trades[0, 0], k, config.cost(sym).fee_rate))
    trade_df = _trade_frame(panel, records)
    equity, per_symbol, exposure = _equity(panel, values, records, capital)
    turnover = float(((trade_df["entry_price"] + trade_df["exit_price"]) * trade_df["quantity"]).sum())
    return BacktestResult(
        trade_df, equity, per_symbol, exposure, turnover, lambda: _account(panel, records, config, capital)
    )


def _equity(
    panel: Panel, values: list[np.ndarray], records: list[np.ndarray], capital: float
) -> tuple[pd.Series, pd.DataFrame, float]:
    """Portfolio and per-symbol equity on the shared timeline, and the share of symbol-bars in a position."""
    union = panel.timeline()
    n_sym, n_bars = len(panel.symbols), len(union)
    columns = {}
    held = np.zeros((n_bars + 1, n_sym), dtype=np.int64)
    for j, sym in enumerate(panel.symbols):
        idx = panel.index[j]
        series = pd.Series(values[j], index=idx)
        columns[sym] = series if idx.equals(union) else series.reindex(union).ffill().fillna(capital)
        where = union.get_indexer(idx)
        rec = records[j]
        if len(rec):
            np.add.at(held[:, j], where[rec[:, COL["entry_bar"]].astype(np.int64)], 1)
            np.add.at(held[:, j], where[rec[:, COL["exit_bar"]].astype(np.int64)] + 1, -1)
    per_symbol = pd.DataFrame(columns, index=union) if columns else pd.DataFrame(index=union)
    equity = per_symbol.sum(axis=1).rename("equity")
    exposure = float((np.cumsum(held[:-1], axis=0) > 0).mean()) if n_bars and n_sym else 0.0
    return equity, per_symbol, exposure


def _trade_frame(panel: Panel, records: list[np.ndarray]) -> pd.DataFrame:
    """Every symbol's trade records as one frame, ordered by entry time then symbol."""
    rows = np.concatenate(records) if records else np.zeros((0, N_TRADE_FIELDS))
    if not len(rows):
        return pd.DataFrame(columns=list(TRADE_COLUMNS))
    owner = np.repeat(np.arange(len(records)), [len(r) for r in records])
    stamps = [idx.asi8 for idx in panel.index]
    entry = np.concatenate([stamps[j][r[:, COL["entry_bar"]].astype(np.int64)] for j, r in enumerate(records)])
    exit_ = np.concatenate([stamps[j][r[:, COL["exit_bar"]].astype(np.int64)] for j, r in enumerate(records)])
    frame = pd.DataFrame(
        {
            "symbol": np.asarray(panel.symbols, dtype=object)[owner],
            "side": np.where(rows[:, COL["side"]] > 0, "long", "short"),
            "entry_time": pd.DatetimeIndex(entry, tz="UTC"),
            "entry_price": rows[:, COL["entry_price"]],
            "exit_time": pd.DatetimeIndex(exit_, tz="UTC"),
            "exit_price": rows[:, COL["exit_price"]],
            "quantity": rows[:, COL["qty"]],
            "fees": rows[:, COL["fees"]],
            "pnl": rows[:, COL["pnl"]],
            "exit_reason": np.asarray(EXIT_REASONS, dtype=object)[rows[:, COL["reason"]].astype(np.int64)],
        }
    )
    rank = np.argsort(np.argsort(np.asarray(panel.symbols, dtype=str), kind="stable"), kind="stable")
    order = np.lexsort((rank[owner], entry))  # entry time, then symbol
    return frame.iloc[order].reset_index(drop=True)


def _account(panel: Panel, records: list[np.ndarray], config: BacktestConfig, capital: float) -> Any:
    """The vectorbt Portfolio of the trades.

    The timeline has one close row per bar, plus a fill row at the bar's open
    time only for bars where some trade enters and exits within the bar (its
    entry must come first). Every other entry fills at its own price on its
    bar's close row: the kernel never enters on the bar of an exit, so a row
    holds at most one order per symbol.
    """
    import vectorbt as vbt  # noqa: PLC0415 (slow import, first call compiles)

    union = panel.timeline()
    n_sym, n_bars = len(panel.symbols), len(union)
    where = [union.get_indexer(idx) for idx in panel.index]
    entry_u = [where[j][r[:, COL["entry_bar"]].astype(np.int64)] for j, r in enumerate(records)]
    exit_u = [where[j][r[:, COL["exit_bar"]].astype(np.int64)] for j, r in enumerate(records)]
    same = [e == x for e, x in zip(entry_u, exit_u, strict=True)]
    extra = np.unique(np.concatenate([e[s] for e, s in zip(entry_u, same, strict=True)] + [np.zeros(0, np.int64)]))
    close_row = np.arange(n_bars) + np.searchsorted(extra, np.arange(n_bars), side="right")
    n_rows = n_bars + len(extra)
    stamps = np.empty(n_rows, dtype=np.int64)
    stamps[close_row] = union.asi8 + 1  # a close row sits just after its bar's open time
    stamps[close_row[extra] - 1] = union.asi8[extra]
    close = np.full((n_rows, n_sym), np.nan)
    size = np.full((n_rows, n_sym), np.nan)
    price = np.full((n_rows, n_sym), np.nan)
    fees = np.array([[config.cost(sym).fee_rate for sym in panel.symbols]])  # charged on order rows only
    is_extra = np.zeros(n_bars, dtype=bool)
    is_extra[extra] = True
    for j in range(n_sym):
        a, b = panel.offsets[j], panel.offsets[j + 1]
        pos, rec = where[j], records[j]
        close[close_row[pos], j] = panel.arrays["close"][a:b]
        opening = is_extra[pos]
        close[close_row[pos[opening]] - 1, j] = panel.arrays["open"][a:b][opening]
        if not len(rec):
            continue
        side = rec[:, COL["side"]]
        e_row = close_row[entry_u[j]] - same[j]
        x_row = close_row[exit_u[j]]
        size[e_row, j], price[e_row, j] = side * rec[:, COL["qty"]], rec[:, COL["entry_price"]]
        size[x_row, j], price[x_row, j] = -side * rec[:, COL["qty"]], rec[:, COL["exit_price"]]
    # vectorbt gets naive UTC times: it turns a tz-aware index into Python objects on every shape check
    # (0.3 s of a 0.4 s backtest over 20 x 10,000 bars); the equity we return is tz-aware again.
    naive = pd.DatetimeIndex(stamps)
    close = pd.DataFrame(close, index=naive, columns=panel.symbols).ffill().bfill()
    pf = vbt.Portfolio.from_orders(
        close,
        size=pd.DataFrame(size, index=naive, columns=panel.symbols),
        price=pd.DataFrame(price, index=naive, columns=panel.symbols),
        fees=fees,
        init_cash=capital,
        direction="both",
    )
    return pf
