"""Triple-barrier labels: flat / long / short.

For bar ``i`` the entry is ``close[i]`` and the unit is ``atr[i]``. A long
wins when the high reaches ``close + tp*atr`` before the low reaches
``close - sl*atr`` within ``horizon`` bars; a short is the mirror image. When
a bar touches both barriers of a side, the stop wins. If both sides win, the
earlier win decides (a tie is flat). The last ``horizon`` bars, and bars
without an ATR, have no label (-1): their outcome is not known yet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numba import njit

from aitrade.checks import number
from aitrade.defaults import SIGNALS

FLAT, LONG, SHORT = 0, 1, 2
CLASSES = ("flat", "long", "short")
NO_LABEL = -1


@dataclass(frozen=True)
class LabelConfig:
    """Barriers in ATR multiples and the horizon in bars."""

    tp: float = SIGNALS.label_tp
    sl: float = SIGNALS.label_sl
    horizon: int = SIGNALS.horizon

    def __post_init__(self) -> None:
        object.__setattr__(self, "tp", number("label take-profit (label_tp, ATR)", self.tp, lo=0, lo_open=True))
        object.__setattr__(self, "sl", number("label stop (label_sl, ATR)", self.sl, lo=0, lo_open=True))
        object.__setattr__(self, "horizon", number("label horizon (bars)", self.horizon, lo=1, integer=True))

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@njit(cache=True)
def triple_barrier_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, atr: np.ndarray, tp: float, sl: float, horizon: int
) -> np.ndarray:
    n = len(close)
    out = np.full(n, NO_LABEL, dtype=np.int8)
    for i in range(n - horizon):
        a = atr[i]
        if not a > 0:
            continue
        up_tp, up_sl = close[i] + tp * a, close[i] - sl * a
        dn_tp, dn_sl = close[i] - tp * a, close[i] + sl * a
        long_at, short_at = -1, -1
        long_done, short_done = False, False
        for j in range(i + 1, i + horizon + 1):
            if not long_done:
                if low[j] <= up_sl:
                    long_done = True
                elif high[j] >= up_tp:
                    long_done, long_at = True, j
            if not short_done:
                if high[j] >= dn_sl:
                    short_done = True
                elif low[j] <= dn_tp:
                    short_done, short_at = True, j
            if long_done and short_done:
                break
        if long_at >= 0 and (short_at < 0 or long_at < short_at):
            out[i] = LONG
        elif short_at >= 0 and (long_at < 0 or short_at < long_at):
            out[i] = SHORT
        else:
            out[i] = FLAT
    return out


def triple_barrier(bars: pd.DataFrame, atr: np.ndarray | pd.Series, config: LabelConfig | None = None) -> pd.Series:
    """Labels of ``bars`` (int8: 0 flat, 1 long, 2 short, -1 unknown)."""
    cfg = config or LabelConfig()
    labels = triple_barrier_nb(
        bars["high"].to_numpy(np.float64),
        bars["low"].to_numpy(np.float64),
        bars["close"].to_numpy(np.float64),
        np.asarray(atr, dtype=np.float64),
        float(cfg.tp),
        float(cfg.sl),
        int(cfg.horizon),
    )
    return pd.Series(labels, index=bars.index, name="label")
