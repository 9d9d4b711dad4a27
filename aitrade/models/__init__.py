"""Models: torch networks and LightGBM boosters, the training engine, model bundles."""

from aitrade.models.bundle import BUNDLE_VERSION, load_bundle, save_bundle
from aitrade.models.train import ModelConfig, TrainedModel, fit_model, fit_temperature, model_kind, pick_device

__all__ = [
    "BUNDLE_VERSION",
    "ModelConfig",
    "TrainedModel",
    "fit_model",
    "fit_temperature",
    "load_bundle",
    "model_kind",
    "pick_device",
    "save_bundle",
]
