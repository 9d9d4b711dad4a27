"""Signal generation: walk-forward and universal models, the signals artifact."""

from aitrade.signals.artifact import COLUMNS, SCHEMA_VERSION, Signals, load_signals, write_signals
from aitrade.signals.engine import MODES, SignalParams
from aitrade.signals.generate import RunResult, generate_signals
from aitrade.signals.regimes import PRESETS

__all__ = [
    "COLUMNS",
    "MODES",
    "PRESETS",
    "SCHEMA_VERSION",
    "RunResult",
    "SignalParams",
    "Signals",
    "generate_signals",
    "load_signals",
    "write_signals",
]
