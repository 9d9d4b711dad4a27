"""Argument types and output helpers shared by the ``aitrade`` command's modules."""

from __future__ import annotations

import argparse
import json
from typing import Any

from aitrade.errors import UserError


def dashed(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    """Accept both ``--train_window`` and ``--train-window``."""
    flags = [f"--{name}"]
    if "_" in name:
        flags.append(f"--{name.replace('_', '-')}")
    parser.add_argument(*flags, dest=name, **kwargs)


def features_arg(text: str) -> tuple[str, ...]:
    from aitrade.features.sets import feature_groups  # noqa: PLC0415 (no torch)

    try:
        return tuple(feature_groups([t.strip() for t in text.split(",") if t.strip()]))
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def interval_arg(text: str) -> str:
    from aitrade.intervals import parse_interval  # noqa: PLC0415

    try:
        return parse_interval(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


SOURCES = ("sample", "bitget", "tinvest", "csv")
PRESETS = ("classic", "sniper", "grinder", "volatile")  # aitrade.signals.regimes.PRESETS (tested equal)
FITNESSES = ("sharpe", "sortino", "calmar", "sniper")  # aitrade.optimize.fitness.FITNESSES (tested equal)


def symbol_list(text: str | None) -> list[str] | None:
    return [s.strip().upper() for s in text.split(",") if s.strip()] if text else None


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str, ensure_ascii=False))
