"""Out-of-sample calibration by default: shrink a fold's probabilities toward its training prior.

A model that finds nothing still says something: its out-of-sample
probabilities swing around the class shares, and their log loss is worse than
the prior's (measured on noise, EURUSD 1h and daily stocks: +0.008 to +0.019
nats). The map here is one number per block of predictions::

    p' = w * p + (1 - w) * prior        0 <= w <= 1

where ``prior`` is the class shares of the fold model's training rows and ``w``
minimises the log loss on the *earlier* blocks' out-of-sample rows whose labels
were known when the block starts (a row is used only if its label horizon ends
before the block's first bar: purged as training is). The first block has no
such rows and gets ``w = 0``, the prior itself: a model has shown nothing yet.
Within a block the map keeps every class's ranking, so a real edge keeps its
AUC there; where there is no edge ``w`` falls toward 0 and the log loss toward
the prior's. The runner applies the map of each symbol's last block, the one
its live model was scored with (recorded in the artifact's ``calibration``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aitrade.models.shrink import fit_weight, shrink

METHODS = ("shrink", "none")
#: the prediction frames carry the fold's training prior to this pass; the artifact does not keep them
PRIOR_COLUMNS = ("prior_flat", "prior_long", "prior_short")
MIN_ROWS = 30  # fewer earlier labelled rows than this: the block keeps the prior (w = 0)
SMOOTH = 1e-3  # a class the training rows never showed keeps this share of a uniform prior


def three(p_long: np.ndarray, p_short: np.ndarray) -> np.ndarray:
    """(n, 3) probabilities [flat, long, short] from the two stored columns."""
    return np.column_stack([np.clip(1.0 - p_long - p_short, 0.0, 1.0), p_long, p_short])


def calibrate(
    signals: pd.DataFrame,
    labels: np.ndarray,
    blocks: np.ndarray,
    purge_ns: int,
    *,
    pooled: bool,
    columns: tuple[str, str] = ("p_long", "p_short"),
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Shrink ``columns`` of ``signals`` block by block; returns the new frame and one record per block and group.

    ``labels`` is aligned with ``signals`` (-1 where unknown). ``blocks`` holds
    the sorted start times (ns) of the blocks (the folds' trade starts).
    ``pooled`` fits one weight per block over all symbols (one shared model),
    otherwise one per symbol and block (a model per symbol). ``purge_ns`` is the
    label horizon: a row at ``t`` informs a block starting at ``b`` only if
    ``t + purge_ns < b``.
    """
    out = signals.copy()
    ts = pd.DatetimeIndex(out["ts"]).as_unit("ns").asi8
    p3 = three(out[columns[0]].to_numpy(), out[columns[1]].to_numpy())
    prior = (1.0 - SMOOTH) * out[list(PRIOR_COLUMNS)].to_numpy() + SMOOTH / 3  # no class is impossible
    block = np.searchsorted(blocks, ts, side="right") - 1
    groups = np.zeros(len(out), dtype=np.int64) if pooled else pd.factorize(out["symbol"])[0]
    new = p3.copy()
    records = []
    for g in np.unique(groups):
        mine = groups == g
        for k in np.unique(block[mine]):
            rows = mine & (block == k)
            start = blocks[max(k, 0)] if k >= 0 else ts[rows].min()
            known = mine & (ts + purge_ns < start) & (labels >= 0) & np.isfinite(p3).all(axis=1)
            n = int(known.sum())
            w = fit_weight(p3[known], prior[known], labels[known].astype(np.int64)) if n >= MIN_ROWS else 0.0
            new[rows] = shrink(p3[rows], prior[rows], w)
            records.append(
                {
                    "symbol": None if pooled else str(out["symbol"].to_numpy()[rows][0]),
                    "block": int(k),
                    "weight": w,
                    "fitted_on_rows": n,
                    "prior": [float(v) for v in prior[rows][0]],
                }
            )
    out[columns[0]], out[columns[1]] = new[:, 1], new[:, 2]
    return out, records


def live_maps(records: list[dict[str, Any]], symbols: list[str]) -> dict[str, dict[str, Any]]:
    """Each symbol's map for live inference: its last block's weight and prior (the last model's)."""
    last: dict[str | None, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: r["block"]):
        last[r["symbol"]] = r
    maps = {}
    for s in symbols:
        found = last.get(s) or last.get(None)
        if found is not None:
            maps[s] = {"weight": found["weight"], "prior": found["prior"]}
    return maps


def apply_live(p_long: float, p_short: float, live: dict[str, Any] | None) -> tuple[float, float]:
    """A live prediction through its symbol's recorded map (none recorded: unchanged)."""
    if not live:
        return p_long, p_short
    w = float(live["weight"])
    prior = [float(v) for v in live["prior"]]
    return w * p_long + (1 - w) * prior[1], w * p_short + (1 - w) * prior[2]
