"""Signal generation: walk-forward and universal models, the signals artifact.

Re-exports are lazy: reading an artifact (``load_signals``) must not import
torch, which only generating signals needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "COLUMNS": "artifact",
    "SCHEMA_VERSION": "artifact",
    "Signals": "artifact",
    "load_signals": "artifact",
    "write_signals": "artifact",
    "MODES": "engine",
    "SignalParams": "engine",
    "RunResult": "generate",
    "generate_signals": "generate",
    "PRESETS": "regimes",
}
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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'aitrade.signals' has no attribute {name!r}")
    return getattr(import_module(f"aitrade.signals.{_WHERE[name]}"), name)
