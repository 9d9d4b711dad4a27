"""Range checks at the edge: one clear message naming the value, for the CLI, notebooks and widgets alike.

:func:`number` validates one value (finite, bounds, integral where it must be)
and raises :class:`UserError`; :func:`arg` turns the same rule into an argparse
``type`` so a bad option is refused before anything heavy is imported.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable
from typing import Any

from aitrade.errors import UserError


def _describe(lo: float | None, hi: float | None, lo_open: bool, integer: bool) -> str:
    kind = "a whole number" if integer else "a finite number"
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"<= {hi:g}")
    return kind + (" " + " and ".join(parts) if parts else "")


def number(
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    integer: bool = False,
) -> Any:
    """``value`` as float (or int when ``integer``), or a :class:`UserError` naming ``name`` and the range."""
    want = _describe(lo, hi, lo_open, integer)
    if isinstance(value, bool) or value is None:
        raise UserError(f"{name} must be {want}, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be {want}, got {value!r}") from None
    if not math.isfinite(x) or (integer and not x.is_integer()):
        raise UserError(f"{name} must be {want}, got {value!r}")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise UserError(f"{name} must be {want}, got {value!r}")
    if hi is not None and x > hi:
        raise UserError(f"{name} must be {want}, got {value!r}")
    return int(x) if integer else x


def choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise UserError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def arg(**rule: Any) -> Callable[[str], Any]:
    """An argparse ``type`` applying :func:`number`'s rule (the option name comes from argparse)."""

    def parse(text: str) -> Any:
        try:
            return number("the value", text, **rule)
        except UserError as exc:
            raise argparse.ArgumentTypeError(str(exc).replace("the value must", "must")) from None

    parse.__name__ = "number"
    return parse


POSITIVE_INT = arg(lo=1, integer=True)
NONNEG_INT = arg(lo=0, integer=True)
POSITIVE = arg(lo=0, lo_open=True)
