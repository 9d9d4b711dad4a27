"""torch models: networks, the training engine, model bundles."""

from aitrade.models.bundle import BUNDLE_VERSION, load_bundle, save_bundle
from aitrade.models.train import ModelConfig, TrainedModel, fit_model, fit_temperature, pick_device

__all__ = [
    "BUNDLE_VERSION",
    "ModelConfig",
    "TrainedModel",
    "fit_model",
    "fit_temperature",
    "load_bundle",
    "pick_device",
    "save_bundle",
]
