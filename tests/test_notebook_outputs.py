"""Executed notebooks as a researcher sees them: every plot cell shows an image; markdown renders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aitrade.config import load_settings
from aitrade.notebooks import NOTEBOOKS, notebook_path, run_notebook

ROOT = Path(__file__).resolve().parents[1]


def test_committed_markdown_renders() -> None:
    for name in NOTEBOOKS:
        for cell in json.loads(notebook_path(name).read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                assert not re.match(r"^\s*(md\s+)?\s+#|^md\b", text), (name, text[:40])  # no raw markup


@pytest.mark.slow
def test_provenance_is_the_same_from_the_cli_and_from_a_notebook(tmp_path: Path) -> None:
    from aitrade.cli import main  # noqa: PLC0415
    from tests.test_backtest import make_signals  # noqa: PLC0415

    sig = make_signals(tmp_path / "sig", n=1400)
    small = [
        "--population",
        "6",
        "--generations",
        "1",
        "--survivors",
        "2",
        "--train_window",
        "600",
        "--test-window",
        "300",
    ]
    assert (
        main(
            [
                "--home",
                str(tmp_path),
                "optimize",
                "--signals",
                str(sig),
                "--settings",
                str(ROOT / "params" / "optimizer_demo.yaml"),
                *small,
                "--out",
                str(tmp_path / "cli"),
            ]
        )
        == 0
    )
    run, _ = run_notebook(
        load_settings(tmp_path),
        "optimizer",
        overrides={
            "signals": str(sig),
            "optimizer_settings": str(ROOT / "params" / "optimizer_demo.yaml"),
            "population": 6,
            "generations": 1,
            "survivors": 2,
            "wfo_train_window": 600,
            "wfo_test_window": 300,
        },
    )
    cli = json.loads((tmp_path / "cli" / "best_strategy_params.json").read_text())["provenance"]
    nb = json.loads((run / "best_strategy_params.json").read_text())["provenance"]
    assert set(cli) == set(nb) and {"git_commit", "signals_meta", "seed", "settings"} <= set(nb)
    assert cli["signals_meta"] == nb["signals_meta"] and cli["settings"] == nb["settings"]
