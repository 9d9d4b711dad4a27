"""Reading the user's parameter files (JSON or YAML): one line naming the file and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from aitrade.errors import UserError


def yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def read_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """A JSON (``.json``) or YAML file whose top level is a mapping; anything else is one :class:`UserError`."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{what} {p} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{what} {p} is a folder, not a file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} {p} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{what} {p} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{what} {p} is not valid YAML: {yaml_problem(exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{what} {p} must hold a mapping of name: value, found {type(data).__name__}")
    return data
