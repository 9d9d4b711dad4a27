"""The project's own files agree with each other: pins, CI, README, ignores."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [
        *project["dependencies"],
        *project["optional-dependencies"]["dev"],
        *project["optional-dependencies"]["dist"],
    ]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    listed = [p for p in pip if not p.startswith(("-e", "-c"))]
    assert sorted(listed) == sorted(wanted)  # same names and the same specifiers
    assert "-e ." in pip and "-c constraints.txt" in pip  # the pins reach conda users too


def test_torch_is_pinned_exactly_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text().splitlines()


def test_constraints_pin_every_dependency_exactly() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {
        _name(line): line.split("==", 1)[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    for req in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        assert _name(req) in pins, f"{req} has no exact pin in constraints.txt"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci.splitlines()[-1]
    assert "\nmake lint" in ci  # ruff and mypy: CI refuses a style or type error (mypy no longer runs in make test)
    assert "make demo" in readme and "make test" in readme
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "make demo" in first_block and "make test" in first_block


def test_the_readme_and_docs_link_only_to_files_in_the_repository() -> None:
    """Read on a fresh clone: every relative link resolves, and no document cites a file the repository lacks."""
    for doc in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        text = doc.read_text()
        assert "DESIGN.md" not in text, f"{doc.name} cites DESIGN.md, which is not in the repository"
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"


def test_gitignore_keeps_state_out_but_its_placeholder_in() -> None:
    ignore = (ROOT / ".gitignore").read_text().splitlines()
    for entry in (".venv/", "state/*", "!state/.gitkeep", "data_cache/", "runs/", "logs/"):
        assert entry in ignore
    assert (ROOT / "state" / ".gitkeep").exists()


def test_embedded_samples_have_licence_entries() -> None:
    licences = (ROOT / "DATA_LICENSES.md").read_text()
    for sample in (ROOT / "aitrade" / "data" / "samples").iterdir():
        assert sample.name in licences


def test_no_pickle_anywhere_in_the_package() -> None:
    for path in (ROOT / "aitrade").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(pickle|cloudpickle|dill|joblib)\b", text, re.M), path
