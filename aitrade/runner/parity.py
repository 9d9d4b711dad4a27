"""Parity: the trades of a session (a paper replay, or a real paper or live run) against its backtest.

Trades are matched by symbol and entry time. Each pair is compared on side,
exit time, exit reason, prices, quantity, fees and pnl; what the backtest has
and the session lacks is ``missing``, the reverse ``extra``. A backtest trade
closed only by the end of the data (reason ``end``) that the session lacks is
``still_open``: the session holds that position. Numbers agree
when they are within ``rel`` of each other (relative, 1e-9 by default: the
venue side works in Decimal rounded to its tick, the backtest in float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NUMBERS = ("entry_price", "exit_price", "quantity", "fees", "pnl")


@dataclass(frozen=True)
class Parity:
    matched: int
    missing: int  # in the backtest, not in the session
    extra: int  # in the session, not in the backtest
    drift: int  # matched trades that differ in an exit, a side or a number
    still_open: int  # closed by the backtest at the end of the data; the session still holds them
    max_rel: dict[str, float]
    diff: pd.DataFrame  # one row per trade that is missing, extra, drifting or booked twice
    duplicated: int = 0  # session trades booked more than once (same symbol and entry time)

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.extra == 0 and self.drift == 0 and self.duplicated == 0

    def summary(self) -> str:
        worst = ", ".join(f"{k} {v:.1e}" for k, v in self.max_rel.items())
        verdict = "identical trades" if self.ok else "DIFFERENT"
        counts = (
            f"{self.matched} matched, {self.missing} missing, {self.extra} extra, {self.drift} drifting, "
            f"{self.duplicated} booked twice, {self.still_open} still open at the end"
        )
        return f"parity with the backtest: {verdict}: {counts}; largest relative differences: {worst}"


def _frame(trades: pd.DataFrame) -> pd.DataFrame:
    out = trades.copy()
    for col in ("entry_time", "exit_time"):
        out[col] = pd.to_datetime(out[col], utc=True, format="ISO8601")
    return out


def compare(backtest: pd.DataFrame, session: pd.DataFrame, *, rel: float = 1e-9) -> Parity:
    """Per-trade comparison of two trade tables with the backtest's ``trades.csv`` columns."""
    a, b = _frame(backtest), _frame(session)
    twice = b.duplicated(["symbol", "entry_time"], keep="first")
    doubles = b.loc[twice].assign(problem="booked twice")
    b = b.loc[~twice]
    m = a.merge(b, on=["symbol", "entry_time"], how="outer", suffixes=("_backtest", "_session"), indicator=True)
    both = m["_merge"] == "both"
    problems = pd.Series("", index=m.index)
    open_at_end = (m["_merge"] == "left_only") & (m["exit_reason_backtest"] == "end")
    problems[(m["_merge"] == "left_only") & ~open_at_end] = "missing"
    problems[m["_merge"] == "right_only"] = "extra"
    max_rel: dict[str, float] = {}
    drifting = pd.Series(False, index=m.index)
    for col in NUMBERS:
        x, y = m[f"{col}_backtest"].to_numpy(float), m[f"{col}_session"].to_numpy(float)
        err = np.abs(x - y) / np.maximum(1.0, np.abs(x))
        err = np.where(both, err, 0.0)
        max_rel[col] = float(np.nanmax(err)) if len(err) else 0.0
        bad = both & (err > rel)
        drifting |= bad
        problems[bad] += f"{col} "
    for col in ("side", "exit_time", "exit_reason"):
        bad = both & (m[f"{col}_backtest"] != m[f"{col}_session"])
        drifting |= bad
        problems[bad] += f"{col} "
    m["problem"] = problems.str.strip()
    diff = m.loc[m["problem"] != "", :].drop(columns="_merge")
    if len(doubles):
        diff = pd.concat(
            [
                diff,
                doubles.rename(
                    columns={c: f"{c}_session" for c in doubles.columns if c not in ("symbol", "entry_time", "problem")}
                ),
            ]
        )
    missing = int(((m["_merge"] == "left_only") & ~open_at_end).sum())
    return Parity(
        int(both.sum()),
        missing,
        int((m["_merge"] == "right_only").sum()),
        int(drifting.sum()),
        int(open_at_end.sum()),
        max_rel,
        diff.reset_index(drop=True),
        int(twice.sum()),
    )
