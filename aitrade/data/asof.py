"""As-of (backward) joins by timestamp, never by row position.

Bars are stamped at their open but are only known at their close. A right-hand
bar may feed a left-hand bar only if it closed no later than the left bar did:
``right_open + right_interval <= left_open + left_interval``. That rule lets a
daily bar reach hourly bars only after the day has closed (the original leaked
the current, unfinished day).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from aitrade.intervals import interval_delta


def asof_join(
    left: pd.DataFrame,
    right: pd.DataFrame | pd.Series,
    *,
    left_interval: str,
    right_interval: str,
    columns: Sequence[str] | None = None,
    prefix: str = "",
    tolerance: pd.Timedelta | None = None,
) -> pd.DataFrame:
    """Columns of ``right`` aligned to ``left``'s index by close time, backward.

    Returns a frame indexed like ``left`` holding only the joined columns
    (renamed with ``prefix``); rows with no closed right bar yet are NaN, as are
    rows whose latest right bar is older than ``tolerance``.
    """
    frame = right.to_frame() if isinstance(right, pd.Series) else right
    cols = list(columns) if columns is not None else list(frame.columns)
    lkey = (left.index + interval_delta(left_interval)).as_unit("ns")
    rkey = (frame.index + interval_delta(right_interval)).as_unit("ns")
    lhs = pd.DataFrame({"_key": lkey, "_pos": range(len(left))})
    rhs = pd.DataFrame({"_key": rkey, **{c: frame[c].to_numpy() for c in cols}})
    rhs = rhs.sort_values("_key", kind="stable")
    merged = pd.merge_asof(
        lhs.sort_values("_key", kind="stable"),
        rhs,
        on="_key",
        direction="backward",
        allow_exact_matches=True,
        tolerance=tolerance,
    ).sort_values("_pos", kind="stable")
    out = pd.DataFrame({f"{prefix}{c}": merged[c].to_numpy() for c in cols}, index=left.index)
    return out
