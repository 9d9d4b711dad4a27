"""One owner per default (aitrade.defaults): the library, the CLI, the research form and the notebooks agree."""

from __future__ import annotations

import ast
import json
from dataclasses import fields
from pathlib import Path

import pytest

from aitrade import defaults
from aitrade.cli import build_parser
from aitrade.defaults import CAPITAL, QUICK_LOOK, SIGNALS, quick_look

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[1-3]*.ipynb"))


def _parameters(path: Path) -> dict[str, object]:
    """The literal values of a notebook's ``parameters`` cell."""
    cell = next(c for c in json.loads(path.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }


def _subcommand(name: str):
    parser = build_parser()
    actions = next(a for a in parser._actions if a.choices and name in a.choices)
    return actions.choices[name]


def test_the_library_takes_its_defaults_from_the_one_owner() -> None:
    from aitrade.labels import LabelConfig  # noqa: PLC0415
    from aitrade.models import ModelConfig  # noqa: PLC0415
    from aitrade.signals import SignalParams  # noqa: PLC0415

    p, m, label = SignalParams(), ModelConfig(), LabelConfig()
    assert (p.mode, p.train_window, p.trade_window, p.embargo, p.preset, p.seed, p.jobs, p.executor) == (
        SIGNALS.mode,
        SIGNALS.train_window,
        SIGNALS.trade_window,
        SIGNALS.embargo,
        SIGNALS.preset,
        SIGNALS.seed,
        SIGNALS.jobs,
        SIGNALS.executor,
    )
    assert p.features == SignalParams(features=(SIGNALS.features,)).features
    assert (m.kind, m.epochs) == (SIGNALS.model, SIGNALS.epochs)
    assert (label.tp, label.sl, label.horizon) == (SIGNALS.label_tp, SIGNALS.label_sl, SIGNALS.horizon)


def test_the_cli_defaults_are_the_libraries() -> None:
    """`aitrade signals` trained 40 epochs while everything else trained 200: its defaults now come from one place,
    and its help says them."""
    signals = _subcommand("signals")
    given = {a.dest: a.default for a in signals._actions}
    for f in fields(SIGNALS):
        want = (SIGNALS.features,) if f.name == "features" else getattr(SIGNALS, f.name)
        assert given[f.name] == want, f.name
    shown = signals.format_help()
    assert "(default 200: to the ridge" in shown and "per fold (default 800)" in shown
    for name in ("backtest", "optimize"):
        assert {a.dest: a.default for a in _subcommand(name)._actions}["capital"] == CAPITAL


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_research_notebooks_parameters_are_the_quick_look(notebook: Path) -> None:
    """papermill needs literals in the parameters cell: they must be the quick look of aitrade.defaults."""
    params = _parameters(notebook)
    known = {f.name for f in fields(SIGNALS)} | set(QUICK_LOOK)
    checked = 0
    for name, value in params.items():
        if name in known:
            assert value == quick_look(name), f"{notebook.name}: {name} = {value!r}, defaults say {quick_look(name)!r}"
            checked += 1
        elif name == "capital":
            assert value == CAPITAL
    assert checked >= 8


def test_the_research_form_shows_the_quick_look(tmp_path: Path) -> None:
    from aitrade.config import load_settings  # noqa: PLC0415
    from widgets.control import ControlPanel  # noqa: PLC0415

    panel = ControlPanel(load_settings(tmp_path))
    form = panel.research_form()
    for name, value in form.items():
        want = quick_look(name)
        assert value == ("" if want is None else want), name
    assert panel.runner_capital.value == CAPITAL
    assert defaults.SIGNALS.epochs == form["epochs"]
