"""Permutation feature importance of a walk-forward run's last fold models, out of sample.

For each symbol, the model of its last fold (``models/<SYMBOL>``) predicts
that fold's trade window; each feature column is then shuffled (seeded, within
the window) and the rise in log loss is that feature's importance. Only
out-of-sample rows are used, so the numbers say what the model relied on where
it was tested, not what it memorised. Universal runs (one shared model) use
``models/UNIVERSAL`` over every symbol's last trade window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aitrade.config import Settings
from aitrade.data import load_bars
from aitrade.errors import DataError
from aitrade.labels import LabelConfig
from aitrade.models import load_bundle
from aitrade.signals.artifact import load_signals
from aitrade.signals.metrics import log_loss
from aitrade.signals.prepare import prepare_asset


def permutation_importance(
    settings: Settings, run_dir: str | Path, *, repeats: int = 3, seed: int = 7, path: str | None = None
) -> pd.DataFrame:
    """Mean and spread of the log-loss rise per shuffled feature (rows: features, largest first)."""
    run = Path(run_dir)
    sig = load_signals(run, allow_running=True)  # a notebook measures the run it is building
    meta = sig.meta
    if meta["leader"].get("used"):
        raise DataError("permutation importance does not cover runs with leader features yet")
    label = LabelConfig(**meta["label_config"])
    last = meta["folds"][-1] if meta.get("folds") else None
    if last is None:
        raise DataError(f"{run} has no folds")
    universal = (run / "models" / "UNIVERSAL.json").is_file()
    rows_x, rows_y, rows_a, names = [], [], [], list(meta["features"])
    model = None
    for i, sym in enumerate(meta["symbols"]):
        bundle = run / "models" / ("UNIVERSAL" if universal else sym)
        if not bundle.with_suffix(".json").is_file():
            continue
        bars = load_bars(sym, meta["interval"], source=meta["source"], path=path, settings=settings)[sym]
        asset = prepare_asset(sym, bars, meta["interval"], label, names, None)
        t0 = pd.Timestamp(last["trade_start"]).value
        t1 = pd.Timestamp(last["trade_end"]).value if last.get("trade_end") else np.iinfo(np.int64).max  # open end
        traded = sig.frame.loc[sig.frame["symbol"] == sym, "ts"]  # the run's own rows: never past its end
        t1 = min(t1, pd.Timestamp(traded.max()).value + 1) if len(traded) else t0
        rows = np.flatnonzero((asset.times >= t0) & (asset.times < t1) & (asset.y >= 0))
        if not len(rows):
            continue
        if universal:
            model = model or load_bundle(bundle, device="cpu")[0]
            rows_x.append(asset.X[rows])
            rows_y.append(asset.y[rows])
            rows_a.append(np.full(len(rows), model.assets.index(sym) if sym in model.assets else 0))
        else:
            rows_x.append(asset.X[rows])
            rows_y.append(asset.y[rows])
            rows_a.append(np.full(len(rows), i))
    if not rows_x:
        raise DataError(f"{run}: no labelled out-of-sample rows in the last fold to measure importance on")
    X, y, a = np.concatenate(rows_x), np.concatenate(rows_y).astype(np.int64), np.concatenate(rows_a)
    models: dict[int, Any] = {}

    def predict(matrix: np.ndarray) -> np.ndarray:
        out = np.full((len(matrix), 3), np.nan)
        for k in np.unique(a):
            sel = a == k
            if universal:
                assert model is not None  # loaded with the first symbol's rows
                out[sel] = model.predict_proba(matrix[sel], np.arange(sel.sum()), np.full(sel.sum(), k))
            else:
                if k not in models:
                    models[k] = load_bundle(run / "models" / meta["symbols"][k], device="cpu")[0]
                out[sel] = models[k].predict_proba(matrix[sel], np.arange(sel.sum()))
        return out

    def loss(matrix: np.ndarray) -> float:
        p = predict(matrix)
        ok = np.isfinite(p).all(axis=1)
        return log_loss(np.clip(p[ok], 1e-12, 1.0), y[ok])

    base = loss(X)
    rng = np.random.default_rng(seed)
    records = []
    for j, name in enumerate(names):
        rises = []
        for _ in range(repeats):
            shuffled = X.copy()
            for k in np.unique(a):  # shuffle within each symbol: its own distribution, no cross-asset mixing
                sel = np.flatnonzero(a == k)
                shuffled[sel, j] = shuffled[rng.permutation(sel), j]
            rises.append(loss(shuffled) - base)
        records.append({"feature": name, "log_loss_rise": float(np.mean(rises)), "spread": float(np.std(rises))})
    out = pd.DataFrame(records).set_index("feature").sort_values("log_loss_rise", ascending=False)
    out.attrs.update({"base_log_loss": base, "rows": len(y), "fold": last.get("index"), "repeats": repeats})
    return out
