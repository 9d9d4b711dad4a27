"""Market regimes from training-window quantiles only (causal).

Presets give the quantiles of relative ATR (low, high) and of ADX (trend):
0 = calm/range, 1 = trend (volatility between the quantiles and ADX above its
quantile), 2 = panic (volatility above the high quantile).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aitrade.errors import UserError


@dataclass(frozen=True)
class Preset:
    name: str
    vol_low: float
    vol_high: float
    trend: float


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("classic", 0.40, 0.90, 0.60),
        Preset("sniper", 0.30, 0.85, 0.70),
        Preset("grinder", 0.50, 0.95, 0.50),
        Preset("volatile", 0.60, 0.98, 0.55),
    )
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}")
    return PRESETS[name]


@dataclass(frozen=True)
class RegimeThresholds:
    vol_low: float
    vol_high: float
    trend: float

    @classmethod
    def fit(cls, atr_rel: np.ndarray, adx: np.ndarray, preset: Preset) -> RegimeThresholds:
        """Thresholds from the training window's finite values."""
        a, d = atr_rel[np.isfinite(atr_rel)], adx[np.isfinite(adx)]
        if not len(a) or not len(d):
            return cls(np.inf, np.inf, np.inf)
        return cls(
            float(np.quantile(a, preset.vol_low)),
            float(np.quantile(a, preset.vol_high)),
            float(np.quantile(d, preset.trend)),
        )

    def apply(self, atr_rel: np.ndarray, adx: np.ndarray) -> np.ndarray:
        regime = np.zeros(len(atr_rel), dtype=np.int8)
        trend = (atr_rel > self.vol_low) & (atr_rel <= self.vol_high) & (adx > self.trend)
        regime[trend] = 1
        regime[atr_rel > self.vol_high] = 2
        return regime
