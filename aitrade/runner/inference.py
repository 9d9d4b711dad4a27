"""Live inference: the promoted bundle's probabilities for the bar that just closed.

The promoted run (``state/production/``) names its feature columns, interval
and models: one bundle per symbol (walk mode, the last fold's model) or one
shared ``UNIVERSAL`` bundle with an asset embedding. For each closed bar the
features are computed by the same registry as research, on a rolling window of
recent bars long enough that every feature has forgotten where the window
starts (Wilder and EMA smoothing decay geometrically), and the model turns the
last row into [flat, long, short], then through the run's calibration map (its
last block's shrink toward the prior). On the bars its model produced in
research, this gives the artifact's probabilities (tested to 1e-6): no
train/serve skew.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from aitrade.errors import DataError, UserError
from aitrade.features import compute_features
from aitrade.models import load_bundle
from aitrade.runner.seams import JsonObject, items, num, obj, text
from aitrade.signals.calibration import apply_live

if TYPE_CHECKING:
    from aitrade.models.train import Model

MEMORY_BARS = 600  # beyond the warm-up: RSI's Wilder smoothing keeps (13/14)^600 ~ 1e-19 of its start


@dataclass(frozen=True)
class Prediction:
    atr: float
    p_long: float
    p_short: float


class ModelSignals:
    """Probabilities from a promoted run's models, one closed bar at a time."""

    def __init__(self, production: Path, symbols: list[str] | None = None, device: str = "cpu") -> None:
        self.path = Path(production)
        meta_path = self.path / "meta.json"
        if not meta_path.is_file():
            raise UserError(f"no promoted model at {self.path}: promote a signals run first (aitrade promote RUN)")
        self.meta: JsonObject = obj(json.loads(meta_path.read_text(encoding="utf-8")))
        if obj(self.meta.get("leader")).get("used"):
            raise UserError("the promoted run uses leader features; live inference with a leader is not built yet")
        self.features = [str(f) for f in items(self.meta.get("features"))]
        self.interval = text(self.meta.get("interval")) or ""
        self.mode = text(self.meta.get("mode")) or "walk"
        warmup = int(num(self.meta.get("warmup_bars"), 100))
        self.window = max(4 * warmup, warmup + MEMORY_BARS)
        have = [str(s) for s in items(self.meta.get("symbols"))]
        self.symbols = [s for s in (symbols or have)]
        missing = [s for s in self.symbols if s not in have]
        if missing:
            raise UserError(f"the promoted run has no model for {', '.join(missing)} (it has {', '.join(have)})")
        self._models: dict[str, Model] = {}
        live = obj(obj(self.meta.get("calibration")).get("live"))
        self._maps = {s: obj(live.get(s)) for s in self.symbols if s in live}  # the artifact's calibration map
        models = self.path / "models"
        if self.mode == "universal":
            model, _ = load_bundle(models / "UNIVERSAL", device=device)
            self._models = {s: model for s in self.symbols}
        else:
            for s in self.symbols:
                try:
                    self._models[s], _ = load_bundle(models / s, device=device)
                except DataError as exc:
                    raise UserError(f"{s}: {exc}") from None

    def predict(self, symbol: str, bars: pd.DataFrame) -> Prediction:
        """Probabilities for the last bar of ``bars`` (closed bars, oldest first; the window is cut here)."""
        window = bars.iloc[-self.window :]
        frame = compute_features(window, self.interval, [*self.features, "atr"])
        X = np.ascontiguousarray(frame[self.features].to_numpy(dtype=np.float64))
        model = self._models[symbol]
        rows = np.array([len(X) - 1])
        ids = None
        if self.mode == "universal":
            ids = np.full(len(X), model.assets.index(symbol), dtype=np.int64)
        proba = model.predict_proba(X, rows, ids)[0]
        p_long, p_short = apply_live(float(proba[1]), float(proba[2]), self._maps.get(symbol))
        return Prediction(float(frame["atr"].iloc[-1]), p_long, p_short)
