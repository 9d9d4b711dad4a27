"""Notebooks: papermill runs with params/ci.yaml, the YAML-parameter contract, no committed outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from aitrade.cli import main
from aitrade.config import load_settings
from aitrade.errors import UserError
from aitrade.notebooks import NOTEBOOKS, REPO, declared_parameters, load_params, run_notebook
from tests import PROMOTE_ANYWAY

PRESENT = {k: v for k, v in NOTEBOOKS.items() if (REPO / "notebooks" / v).is_file()}


@pytest.mark.parametrize("name", sorted(PRESENT))
def test_each_notebook_runs_with_ci_params(tmp_path: Path, name: str) -> None:
    settings = load_settings(tmp_path)
    run_dir, executed = run_notebook(settings, name, params_file=REPO / "params" / "ci.yaml")
    nb = nbformat.read(executed, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "train_window = 300" in injected[0].source
    produced = {
        "walk_forward": ["signals.parquet", "probabilities.png", "fold_metrics.png"],
        "universal": ["signals.parquet", "probabilities.png", "models/UNIVERSAL.pt"],
        "optimizer": ["wfo_report.csv", "best_strategy_params.json", "oos_equity.png", "parameter_stability.png"],
        "backtest_report": ["trades.csv", "metrics.json", "equity.png"],
    }[name]
    for item in produced:
        assert (run_dir / item).is_file(), item
    plot_cells = [
        c for c in nb.cells if c.cell_type == "code" and ("plots.show(" in c.source or "display(Image" in c.source)
    ]
    assert plot_cells, name
    for cell in plot_cells:  # every figure is shown inline, not only saved
        assert any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])), cell.source[:80]
    signals_dir = run_dir if name in ("walk_forward", "universal") else run_dir / "signals"
    meta = json.loads((signals_dir / "meta.json").read_text())
    assert meta["params"]["train_window"] == 300 and meta["params"]["model"]["epochs"] == 3


@pytest.mark.parametrize("name", ["10_walk_forward", "11_universal"])
def test_a_research_notebook_run_as_in_jupyterlab_leaves_a_complete_run_that_promote_accepts(
    tmp_path: Path, name: str
) -> None:
    """Run All in JupyterLab passes no run folder: the notebook makes its own and must complete it (it once stayed
    running, then interrupted, and promote refused it)."""
    import papermill  # noqa: PLC0415

    from aitrade.runs import run_status  # noqa: PLC0415

    small = {"home": str(tmp_path), "train_window": 300, "trade_window": 300, "epochs": 3}
    papermill.execute_notebook(
        str(REPO / "notebooks" / f"{name}.ipynb"),
        str(tmp_path / "out.ipynb"),
        parameters=small,
        cwd=str(REPO / "notebooks"),
        progress_bar=False,
    )
    runs = [p for p in (tmp_path / "runs").iterdir() if (p / "signals.parquet").is_file()]
    assert len(runs) == 1 and run_status(runs[0]) == "complete"
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "next: optimise the trading rules" in json.dumps([c.get("outputs") for c in out.cells])
    assert main(["--home", str(tmp_path), "promote", str(runs[0]), *PROMOTE_ANYWAY]) == 0


def test_unknown_yaml_key_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train_window: 300\ntrain_windw: 400\n")
    with pytest.raises(UserError, match="does not declare parameter.*train_windw"):
        run_notebook(load_settings(tmp_path), "walk_forward", params_file=bad)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_cli_override_and_one_line_errors(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "--home",
            str(tmp_path),
            "notebook",
            "run",
            "walk_forward",
            "-f",
            str(REPO / "params" / "ci.yaml"),
            "-p",
            "train_window",
            "320",
            "--out",
            str(tmp_path / "nbrun"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "nbrun" / "meta.json").read_text())["params"]["train_window"] == 320
    assert (tmp_path / "nbrun" / "10_walk_forward.ipynb").is_file()
    capsys.readouterr()
    assert main(["--home", str(tmp_path), "notebook", "run", "walk_forward", "-p", "bogus", "1"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["--home", str(tmp_path), "notebook", "run", "no_such_notebook"]) == 2


def test_yaml_dates_stay_strings() -> None:
    assert load_params(REPO / "params" / "ci.yaml")["start"] == "2022-01-01"


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs_and_one_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    if path.name == "00_control_room.ipynb":  # not a research run: one cell that shows the control room
        assert len(nb.cells) == 1 and nb.cells[0].source.startswith("from widgets import ControlRoom")
        return
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert declared_parameters(path)


NOTEBOOK_PARAMS = sorted(
    p for p in (REPO / "params").glob("*.yaml") if not p.name.startswith("optimizer_") or p.name == "optimizer_run.yaml"
)


@pytest.mark.parametrize("yaml_file", NOTEBOOK_PARAMS, ids=lambda p: p.name)
def test_every_params_file_fits_a_notebook(yaml_file: Path) -> None:
    keys = set(load_params(yaml_file))
    fits = [n for n in PRESENT.values() if keys <= set(declared_parameters(REPO / "notebooks" / n))]
    assert fits, f"{yaml_file.name} fits no notebook"
