"""Run the parameterised notebooks through papermill, with YAML parameters checked against the notebook.

A YAML key (or ``-p`` override) that the notebook's ``parameters`` cell does
not declare is an error, not a warning (papermill itself only warns). Dates in
YAML stay strings. The executed notebook is written into the run folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aitrade.config import Settings
from aitrade.errors import UserError
from aitrade.files import yaml_problem
from aitrade.redact import redact
from aitrade.runs import new_run_dir, run_scope

NOTEBOOKS = {
    "walk_forward": "10_walk_forward.ipynb",
    "universal": "11_universal.ipynb",
    "optimizer": "20_optimizer.ipynb",
    "backtest_report": "30_backtest_report.ipynb",
}
REPO = Path(__file__).resolve().parents[1]


class _NoDatesLoader(yaml.SafeLoader):
    """SafeLoader that keeps ISO dates as strings."""


_NoDatesLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_params(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    p = Path(path)
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_NoDatesLoader)  # noqa: S506 (a SafeLoader subclass)
    except FileNotFoundError as exc:
        raise UserError(f"parameter file {p} does not exist") from exc
    except IsADirectoryError as exc:
        raise UserError(f"parameter file {p} is a folder, not a file") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"parameter file {p} is not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"parameter file {p} is not valid YAML: {yaml_problem(exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"parameter file {p} must hold a mapping of parameter: value")
    return data


def parse_value(text: str) -> Any:
    """A ``-p`` value as YAML would read it (numbers, booleans, null), dates kept as text."""
    try:
        return yaml.load(text, Loader=_NoDatesLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise UserError(f"parameter value {text!r} is not valid YAML: {yaml_problem(exc)}") from None


def params_path(settings: Settings, name: str | Path) -> Path:
    """A parameter file: absolute as given; else the home's copy (``params/...`` in AITRADE_HOME), which the
    user edits; else the copy shipped with AiTrade (the defaults). Missing everywhere: one clear error."""
    p = Path(name).expanduser()
    if p.is_absolute():
        return p
    for base in (settings.home, Path.cwd(), REPO):
        if (base / p).is_file():
            return base / p
    raise UserError(f"parameter file {p} does not exist (looked in {settings.home}, {Path.cwd()} and {REPO})")


def notebook_path(name: str) -> Path:
    if name in NOTEBOOKS:
        return REPO / "notebooks" / NOTEBOOKS[name]
    p = Path(name)
    if p.suffix == ".ipynb" and p.is_file():
        return p
    raise UserError(f"unknown notebook {name!r}; known: {', '.join(NOTEBOOKS)} (or a path to an .ipynb)")


def declared_parameters(path: Path) -> dict[str, Any]:
    import papermill  # noqa: PLC0415 (slow import)

    return papermill.inspect_notebook(str(path))


@dataclass(frozen=True)
class NotebookRun:
    """A checked notebook run: the notebook, its run folder, the executed copy's path and the parameters."""

    notebook: Path
    run_dir: Path
    executed: Path
    params: dict[str, Any]


def prepare_notebook(
    settings: Settings,
    name: str,
    *,
    params_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
) -> NotebookRun:
    """Check the parameters against the notebook and create its run folder (marked running)."""
    nb = notebook_path(name)
    params = {**load_params(params_file), **(overrides or {})}
    declared = declared_parameters(nb)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise UserError(
            f"{nb.name} does not declare parameter(s) {', '.join(unknown)}; it declares: {', '.join(declared)}"
        )
    run_dir = new_run_dir(
        settings, nb.stem, {"kind": "notebook", "notebook": nb.name, **params}, out, params_name="notebook_params.json"
    )
    params = {**params, "run_dir": str(run_dir), "home": str(settings.home)} if "run_dir" in declared else params
    return NotebookRun(nb, run_dir, run_dir / nb.name, params)


def _kernel_manager_class() -> type:
    """A kernel manager that talks to its kernel over Unix sockets in Jupyter's private runtime folder, not loopback
    TCP: no other user can connect to it, and the kernel has no "running over TCP without encryption" warning.
    jupyter_client removes the socket files when the kernel shuts down."""
    import uuid  # noqa: PLC0415

    from jupyter_client.manager import AsyncKernelManager  # noqa: PLC0415
    from jupyter_core.paths import jupyter_runtime_dir  # noqa: PLC0415

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            folder = Path(jupyter_runtime_dir())
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            super().__init__(transport="ipc", ip=str(folder / f"aitrade-kernel-{uuid.uuid4().hex[:12]}"), **kwargs)

    return IPCKernelManager


def execute_notebook(
    settings: Settings, run: NotebookRun, *, timeout_s: int | None = 1800, progress: bool = False
) -> None:
    """Execute a prepared run; the run folder ends complete, or failed with the one-line reason.

    papermill saves the executed copy as each cell starts and ends, which is what
    :func:`notebook_progress` reads from another process.
    """
    import papermill  # noqa: PLC0415

    with run_scope(run.run_dir):
        try:
            papermill.execute_notebook(
                str(run.notebook),
                str(run.executed),
                parameters=run.params,
                cwd=str(settings.home),
                progress_bar=progress,  # papermill's tqdm bar of cells, on stderr (the CLI's runs)
                execution_timeout=timeout_s,
                kernel_name="python3",
                kernel_manager_class=_kernel_manager_class(),
            )
        except papermill.PapermillExecutionError as exc:
            raise UserError(error_summary(run.notebook.name, exc, run.executed, settings.secrets())) from None


def run_notebook(
    settings: Settings,
    name: str,
    *,
    params_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
    timeout_s: int | None = 1800,
    progress: bool = False,
) -> tuple[Path, Path]:
    """Execute a notebook; return (run folder, executed notebook path). ``progress``: a bar of cells on stderr."""
    run = prepare_notebook(settings, name, params_file=params_file, overrides=overrides, out=out)
    execute_notebook(settings, run, timeout_s=timeout_s, progress=progress)
    return run.run_dir, run.executed


def notebook_progress(executed: str | Path) -> dict[str, Any]:
    """Cells done of all code cells and the one running now, read from papermill's saved copy."""
    try:
        nb = json.loads(Path(executed).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"done": 0, "total": None, "current": None}
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    done = sum(1 for c in cells if c.get("metadata", {}).get("papermill", {}).get("status") == "completed")
    current = None
    for c in cells:
        if c.get("metadata", {}).get("papermill", {}).get("status") == "running":
            src = "".join(c.get("source", "")).strip().splitlines()
            current = src[0][:80] if src else "(empty cell)"
            break
    return {"done": done, "total": len(cells), "current": current}


def error_summary(name: str, exc: Any, executed: Path, secrets: tuple[str, ...] = ()) -> str:
    """One line for a failed notebook: the cell, the error, where the partly executed copy is (secrets redacted)."""
    value = " ".join(str(getattr(exc, "evalue", "") or exc).split())[:300]
    line = (
        f"notebook {name} failed in cell {getattr(exc, 'exec_count', '?')}: {getattr(exc, 'ename', 'Error')}: "
        f"{value}; the partly executed notebook is {executed} (the run is marked failed)"
    )
    return redact(line, secrets)
