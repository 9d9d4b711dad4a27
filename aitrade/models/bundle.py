"""Model bundles: ``<name>.json`` (everything but the weights) plus the weights in the model's own format.

A net's weights are ``<name>.pt`` (a torch ``state_dict``), loaded with
``torch.load(weights_only=True)``; a booster's are ``<name>.txt``, LightGBM's
text format. Neither can run code. The JSON holds the architecture, feature
list, normalisation, temperature, label config and versions; an unknown format
version is refused.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aitrade import __version__
from aitrade.errors import DataError
from aitrade.models.boosted import BoostedModel, booster_from_text, booster_text
from aitrade.models.nets import build_net
from aitrade.models.train import Model, ModelConfig, TrainedModel, pick_device
from aitrade.statefile import atomic_write_bytes, atomic_write_json

BUNDLE_VERSION = 2  # 2: class biases beside the temperature


#: a bundle's files: the JSON and the weights of a net or of a booster
SUFFIXES = (".json", ".pt", ".txt")


def copy_bundle(source: Path, target: Path) -> None:
    """Copy the bundle at base path ``source`` (whichever weights it has) to base path ``target``."""
    for suffix in SUFFIXES:
        if source.with_suffix(suffix).is_file():
            atomic_write_bytes(target.with_suffix(suffix), source.with_suffix(suffix).read_bytes())


def save_bundle(model: Model, path: str | Path, **extra: Any) -> Path:
    """Write the weights and ``path.json`` atomically; returns the JSON path."""
    base = Path(path)
    common = {
        "bundle_version": BUNDLE_VERSION,
        "config": model.config.to_dict(),
        "n_features": len(model.feature_names),
        "feature_names": model.feature_names,
        "assets": model.assets,
        "classes": ["flat", "long", "short"],
        "info": model.info,
    }
    if isinstance(model, BoostedModel):
        atomic_write_bytes(base.with_suffix(".txt"), booster_text(model).encode("utf-8"))
        versions = {"aitrade": __version__, "lightgbm": _lightgbm_version(), "numpy": np.__version__}
        return atomic_write_json(base.with_suffix(".json"), {**common, "versions": versions, **extra})
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.net.state_dict().items()}, buf)
    atomic_write_bytes(base.with_suffix(".pt"), buf.getvalue())
    meta = {
        **common,
        "mean": model.mean.tolist(),
        "std": model.std.tolist(),
        "temperature": model.temperature,
        "bias": [float(b) for b in model.bias],
        "versions": {"aitrade": __version__, "torch": torch.__version__, "numpy": np.__version__},
        **extra,
    }
    return atomic_write_json(base.with_suffix(".json"), meta)


def load_bundle(path: str | Path, device: str = "auto") -> tuple[Model, dict[str, Any]]:
    """The model and the bundle's metadata."""
    base = Path(path)
    meta_path, weights_path = base.with_suffix(".json"), base.with_suffix(".pt")
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"model bundle {meta_path} does not exist") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"model bundle {meta_path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise DataError(f"model bundle {meta_path} must hold a JSON object")
    try:
        return _build(meta, weights_path, device)
    except DataError:
        raise
    except Exception as exc:  # a truncated or foreign weights file fails in torch in many ways: all mean "damaged"
        raise DataError(
            f"model bundle {base} is damaged ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None


def _lightgbm_version() -> str:
    import lightgbm  # noqa: PLC0415

    return str(lightgbm.__version__)


def _build(meta: dict[str, Any], weights_path: Path, device: str) -> tuple[Model, dict[str, Any]]:
    meta_path = weights_path.with_suffix(".json")
    if meta.get("bundle_version") != BUNDLE_VERSION:
        raise DataError(
            f"model bundle {meta_path} has version {meta.get('bundle_version')!r}; this AiTrade reads {BUNDLE_VERSION}"
        )
    config = ModelConfig.from_dict(meta["config"])
    if config.kind == "lgbm":
        text = weights_path.with_suffix(".txt").read_text(encoding="utf-8")
        booster = BoostedModel(
            config,
            booster_from_text(text),
            list(meta["feature_names"]),
            list(meta.get("assets", [])),
            dict(meta.get("info", {})),
        )
        return booster, meta
    net = build_net(
        config.kind,
        int(meta["n_features"]),
        n_assets=max(1, len(meta.get("assets", []))),
        hidden=config.hidden,
        dropout=config.dropout,
        embed_dim=config.embed_dim,
    )
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.to(pick_device(device)).eval()
    model = TrainedModel(
        config=config,
        net=net,
        mean=np.asarray(meta["mean"], dtype=np.float64),
        std=np.asarray(meta["std"], dtype=np.float64),
        temperature=float(meta["temperature"]),
        bias=np.asarray(meta["bias"], dtype=np.float64),
        feature_names=list(meta["feature_names"]),
        assets=list(meta.get("assets", [])),
        info=dict(meta.get("info", {})),
    )
    return model, meta
