"""Executed notebooks as a researcher sees them: every plot cell shows an image; markdown renders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aitrade.config import load_settings
from aitrade.notebooks import NOTEBOOKS, notebook_path, run_notebook

ROOT = Path(__file__).resolve().parents[1]
PLOTTING = re.compile(r"plots\.show\(|display\(Image")


def test_committed_markdown_renders() -> None:
    for name in NOTEBOOKS:
        for cell in json.loads(notebook_path(name).read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                assert not re.match(r"^\s*(md\s+)?\s+#|^md\b", text), (name, text[:40])  # no raw markup


@pytest.mark.slow
def test_every_plot_cell_of_an_executed_notebook_shows_an_image(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    _, executed = run_notebook(settings, "walk_forward", params_file=ROOT / "params" / "ci.yaml")
    plot_cells = 0
    for cell in json.loads(executed.read_text())["cells"]:
        if cell["cell_type"] != "code" or not PLOTTING.search("".join(cell["source"])):
            continue
        plot_cells += 1
        kinds = {k for out in cell.get("outputs", []) for k in out.get("data", {})}
        assert "image/png" in kinds, "".join(cell["source"])[:80]
    assert plot_cells >= 3
