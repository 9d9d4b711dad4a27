"""Features: numba kernels -> registered feature groups -> a feature frame."""

from aitrade.features.build import FEATURE_SET_VERSION, compute_features, model_features
from aitrade.features.registry import FEATURES, GROUPS, FeatureGroup, register, warmup_bars

__all__ = [
    "FEATURES",
    "FEATURE_SET_VERSION",
    "GROUPS",
    "FeatureGroup",
    "compute_features",
    "model_features",
    "register",
    "warmup_bars",
]
