"""From bars to model inputs: features, labels and the leader decision, per symbol."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aitrade.features import compute_features, model_features, warmup_bars
from aitrade.features.registry import GROUPS
from aitrade.labels import LabelConfig, triple_barrier
from aitrade.universe import asset_class


@dataclass
class AssetData:
    """Everything the walk-forward needs about one symbol, as arrays."""

    symbol: str
    bars: pd.DataFrame
    features: pd.DataFrame
    X: np.ndarray
    y: np.ndarray
    times: np.ndarray
    atr: np.ndarray
    atr_rel: np.ndarray
    adx: np.ndarray
    fingerprint: str

    def rows_between(self, start: int, end: int) -> np.ndarray:
        """Positions with ``start <= time < end`` (ns)."""
        lo, hi = np.searchsorted(self.times, [start, end], side="left")
        return np.arange(lo, hi)


@dataclass
class LeaderPlan:
    used: bool
    by_symbol: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"used": self.used, "by_symbol": self.by_symbol, "reason": self.reason}


def leader_for(symbol: str, crypto_leader: str, equity_leader: str) -> str:
    """The leader of a symbol's asset class (crypto pairs: the crypto leader; else the equity one)."""
    cls = asset_class(symbol)
    if cls == "crypto" or (cls is None and symbol.endswith(("USDT", "USDC"))):
        return crypto_leader
    return equity_leader


def plan_leaders(symbols: list[str], available: dict[str, pd.DataFrame | None], leaders: dict[str, str]) -> LeaderPlan:
    """Use leader features only when every symbol's leader has bars; otherwise say why not."""
    missing = sorted({leaders[s] for s in symbols if leaders[s] and available.get(leaders[s]) is None})
    disabled = [s for s in symbols if not leaders[s]]
    if disabled:
        return LeaderPlan(False, {}, "leader features are turned off (USE_LEADER_*) for " + ", ".join(disabled))
    if missing:
        return LeaderPlan(False, {}, f"leader bars not available from the chosen source: {', '.join(missing)}")
    return LeaderPlan(True, {s: leaders[s] for s in symbols})


def fingerprint(bars: pd.DataFrame) -> str:
    """A short content hash of a bar table."""
    h = hashlib.sha256()
    h.update(bars.index.as_unit("ns").asi8.tobytes())
    h.update(np.ascontiguousarray(bars[["open", "high", "low", "close", "volume"]].to_numpy()).tobytes())
    return h.hexdigest()[:16]


def prepare_asset(
    symbol: str,
    bars: pd.DataFrame,
    interval: str,
    label: LabelConfig,
    features: list[str],
    leader: pd.DataFrame | None,
) -> AssetData:
    """Features (model inputs only), labels and the regime inputs of one symbol."""
    wanted = list(dict.fromkeys([*features, "atr", "atr_rel", "adx"]))
    frame = compute_features(bars, interval, wanted, leader=leader)
    atr = frame["atr"].to_numpy()
    labels = triple_barrier(bars, atr, label).to_numpy()
    return AssetData(
        symbol=symbol,
        bars=bars,
        features=frame[features],
        X=np.ascontiguousarray(frame[features].to_numpy(dtype=np.float64)),
        y=labels.astype(np.int8),
        times=bars.index.as_unit("ns").asi8.copy(),
        atr=atr,
        atr_rel=frame["atr_rel"].to_numpy(),
        adx=frame["adx"].to_numpy(),
        fingerprint=fingerprint(bars),
    )


def select_features(groups: Sequence[str], leader_used: bool) -> list[str]:
    """Model columns of ``groups``; the leader group only when leader bars are there for every symbol."""
    return [c for name in groups if name != "leader" or leader_used for c in GROUPS[name].columns]


def default_features(leader_used: bool) -> list[str]:
    """Every model column (the original's full set; ``--features all``)."""
    return model_features(leader=leader_used, daily=True)


def needed_warmup(features: list[str], interval: str) -> int:
    return warmup_bars(features, interval)
