"""Whole-process times a user waits for: ``aitrade backtest`` on a research run, a notebook's start (papermill, a
kernel, the first cell), and the control room's open-to-paint in Chromium; each beside its floor: ``python -c
pass``, a bare import of the heavy libraries it needs, and a bare Voila page of one cell.

The signals run is made here (notebook 10 with ``params/ci.yaml``: two symbols, seconds of training), so the
bench needs nothing but the repository. The browser part needs Debian's Chromium and is skipped without it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from statistics import median

from aitrade.commands.control_room import launch, stop_page
from aitrade.config import load_settings
from aitrade.notebooks import REPO

PY = sys.executable
CHROMIUM = "/usr/bin/chromium"


def _time(argv: list[str], env: dict[str, str] | None = None, runs: int = 3) -> float:
    """Median wall seconds of a whole process."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        out.append(time.perf_counter() - t0)
    return median(out)


def _make_run(home: Path) -> tuple[Path, Path]:
    env = {**os.environ, "AITRADE_HOME": str(home)}
    ci = str(REPO / "params" / "ci.yaml")
    subprocess.run(
        [PY, "-m", "aitrade", "notebook", "run", "walk_forward", "-f", ci], env=env, check=True, capture_output=True
    )
    signals = next((home / "runs").glob("*10_walk_forward*"))
    genome = home / "genome.json"
    genome.write_text('{"sl": 2.0, "tp": 3.0, "conf": 0.4, "max_hold": 48}')
    return signals, genome


def _notebook_start(home: Path) -> tuple[float, float]:
    """(a one-cell notebook through AiTrade's executor, the same through bare papermill), whole processes."""
    nb = home / "one_cell.ipynb"
    nb.write_text(
        '{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [], '
        '"source": ["x = 1"]}], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", '
        '"language": "python"}}, "nbformat": 4, "nbformat_minor": 5}'
    )
    ours = (
        "from pathlib import Path; from aitrade.config import load_settings; "
        "from aitrade.notebooks import NotebookRun, execute_notebook; "
        f"p = Path({str(home)!r}); r = p / 'nbrun'; r.mkdir(exist_ok=True); "
        "execute_notebook(load_settings(p), NotebookRun(p / 'one_cell.ipynb', r, r / 'out.ipynb', {}))"
    )
    bare = (
        f"import papermill; papermill.execute_notebook({str(nb)!r}, {str(home / 'bare.ipynb')!r}, "
        "kernel_name='python3', progress_bar=False)"
    )
    return _time([PY, "-c", ours]), _time([PY, "-c", bare])


def _paint(home: Path, notebook: str | None) -> float | None:
    """Seconds from opening the page's URL to the control room (or the bare page's one output) shown."""
    if not Path(CHROMIUM).exists():
        return None
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional: the browser part only)
    except ImportError:
        return None
    settings = load_settings(home)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if notebook is None:
        proc, link = launch(settings, port, log=home / "voila.log")
        wanted = ".aitrade-control-room"
    else:  # the peer: the same Voila serving a notebook of one printed line
        token = "bench"
        env = {**os.environ, "JUPYTER_TOKEN": token}
        argv = [PY, "-m", "voila", notebook, f"--port={port}", "--no-browser", "--Voila.ip=127.0.0.1"]
        proc = subprocess.Popen(
            argv, env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
        )
        link, wanted = f"http://127.0.0.1:{port}/?token={token}", "text=bare page"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            t0 = time.perf_counter()
            page.goto(link, timeout=120_000)
            page.wait_for_selector(wanted, timeout=120_000)
            took = time.perf_counter() - t0
            browser.close()
        return took
    finally:
        stop_page(proc)


def main() -> dict[str, float]:
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "state").mkdir()
        env = {**os.environ, "AITRADE_HOME": str(home)}
        floor = _time([PY, "-c", "pass"])
        heavy = _time([PY, "-c", "import vectorbt, numba, pandas, matplotlib"])
        signals, genome = _make_run(home)
        backtest = [PY, "-m", "aitrade", "backtest", "--signals", str(signals), "--params", str(genome)]
        took = _time([*backtest, "--out", str(home / "bt"), "--force"], env=env)
        out.update(python_s=floor, heavy_imports_s=heavy, backtest_s=took)
        print(
            f"aitrade backtest (a research run of 2 symbols): {took:.2f} s whole process (goal 3 s); python -c pass "
            f"{floor:.2f} s, a bare import of vectorbt, numba, pandas and matplotlib {heavy:.2f} s "
            f"({took - heavy:+.2f} s; the bare import pays jsonschema's 0.8 s IRI grammar, which AiTrade skips)"
        )
        ours, bare = _notebook_start(home)
        out.update(notebook_start_s=ours, papermill_start_s=bare)
        print(
            f"a one-cell notebook through AiTrade's executor: {ours:.2f} s whole process, bare papermill {bare:.2f} s "
            f"({ours / bare:.2f}x)"
        )
        page = _paint(home, None)
        if page is None:
            print("control room open-to-paint: skipped (no /usr/bin/chromium or playwright)")
            return out
        (home / "bare.ipynb").write_text(
            '{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [], '
            '"source": ["print(\'bare page\')"]}], "metadata": {"kernelspec": {"name": "python3", '
            '"display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}'
        )
        peer = _paint(home, "bare.ipynb")
        out.update(control_room_paint_s=page, bare_voila_paint_s=peer or 0.0)
        print(
            f"control room open-to-paint in Chromium: {page:.2f} s (goal 8 s); a bare Voila page of one cell "
            f"{peer:.2f} s ({page - (peer or 0):.2f} s above it: the panels' imports and first reads)"
        )
    return out


if __name__ == "__main__":
    main()
