"""Research defaults, each written once.

The library's configurations (:class:`aitrade.signals.SignalParams`,
:class:`aitrade.models.ModelConfig`, :class:`aitrade.labels.LabelConfig`) take
their field defaults from :data:`SIGNALS`; the CLI's options and the control
room's research form read them here. The research notebooks' parameter cells,
which papermill needs as literals, hold :data:`QUICK_LOOK` over
:data:`SIGNALS`, and a test keeps them equal. Standard library only: the CLI
reads this module before it imports anything heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class SignalDefaults:
    """A signals run: its folds, labels and model training."""

    mode: str = "walk"  # walk (a model per asset) or universal (one shared model)
    train_window: int = 800  # training bars per fold
    trade_window: int = 400  # predicted bars per fold
    embargo: int = 12  # unused bars between training and trading
    preset: str = "classic"  # regime quantiles
    seed: int = 7
    model: str = "mlp"  # mlp or gru (nets), lgbm (gradient-boosted trees)
    calibrate: str = "shrink"  # out-of-sample calibration: shrink toward the training prior, or none
    capacity: str = "tuned"  # the net's hidden size, dropout and ridge: chosen per window on inner hold-outs, or fixed
    epochs: int = 200  # to the ridge optimum (no early stopping by default)
    horizon: int = 12  # label horizon in bars
    label_tp: float = 1.5  # label take-profit in ATR
    label_sl: float = 1.0  # label stop in ATR
    features: str = "core"  # feature sets and groups
    jobs: int = 1  # local worker processes
    executor: str = "local"
    source: str = "sample"  # the embedded bars


SIGNALS = SignalDefaults()

#: a quick look, over :data:`SIGNALS`: the research notebooks' parameters and the control room's research form
#: (two coins at 4h, smaller windows, ending before the embedded bars' last year so that year stays unseen)
QUICK_LOOK = MappingProxyType(
    {
        "symbols": "BTCUSDT,ETHUSDT",
        "interval": "4h",
        "start": None,
        "end": "2022-10-01",
        "train_window": 400,
        "trade_window": 200,
        "preset": "grinder",
    }
)

CAPITAL = 1000.0  # a backtest's, an optimisation's and a replay's starting capital


def quick_look(name: str) -> object:
    """The quick look's value of ``name`` (a :data:`QUICK_LOOK` override, else the :data:`SIGNALS` default)."""
    if name in QUICK_LOOK:
        return QUICK_LOOK[name]
    return getattr(SIGNALS, name)
