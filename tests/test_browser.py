"""The control room in a real browser: Debian's Chromium driven by playwright against the Voila page and JupyterLab.

Without /usr/bin/chromium (or the playwright package) these tests are skipped with one line saying how to
install it; with AITRADE_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser is a failure instead.
Screenshots and the timing log go to test-artifacts/ (AITRADE_ARTIFACTS overrides the folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml

from aitrade.cli import main
from aitrade.commands import jobs, runner_cmd
from aitrade.commands.control_room import launch, stop_page
from aitrade.config import load_settings
from aitrade.notebooks import REPO
from aitrade.runner import control
from aitrade.runs import run_status
from tests import PROMOTE_ANYWAY
from tests.test_backtest import make_signals
from tests.test_control_room import HOLDING
from tests.test_runner import _home, _paper, _params, _wait

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("AITRADE_ARTIFACTS", REPO / "test-artifacts"))
OVERCONFIDENT = "20251231T000000Z-overconfident-signals"  # a run worse than the class prior, out of sample
INSTALL = "install it with `apt-get install chromium` (Debian's package; never `playwright install`)"

pytestmark = pytest.mark.slow


def _browser_or_skip() -> Any:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM}: {INSTALL}"
    else:
        try:
            import playwright.sync_api  # noqa: F401, PLC0415
        except ImportError:
            missing = "the playwright package is missing: make venv installs it"
    if missing:
        if os.environ.get("AITRADE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (AITRADE_REQUIRE_BROWSER=1) but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout:g} s")


def _log(line: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "browser_log.txt", "a", encoding="utf-8") as fh:
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {line}\n")
    print(line)


def _shot(page: Any, name: str) -> None:
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture
def room_home(tmp_path: Path) -> Path:
    home = _home(tmp_path)
    (home / "runs").mkdir()
    make_signals(home / "runs" / "20260101T000000Z-replay-signals", n=700, seed=3)
    worse = make_signals(home / "runs" / OVERCONFIDENT, n=300, seed=4)
    meta = json.loads((worse / "meta.json").read_text())
    meta["summary"] = {"pooled_log_loss": 1.1035, "pooled_prior_log_loss": 1.0951}
    (worse / "meta.json").write_text(json.dumps(meta))
    os.utime(worse, (1767139200, 1767139200))  # as old as its name says: the replay run stays the newest
    return home


def _tab(page: Any, title: str) -> None:
    page.locator(".lm-TabBar-tab", has_text=title).first.click()


def test_the_voila_page_runs_kills_and_researches(chromium: Any, room_home: Path, tmp_path: Path) -> None:
    settings = load_settings(room_home)
    # the genome typed as the field's placeholder shows it: a path against the home, not the kernel's folder
    (room_home / "runs" / "hand-picked").mkdir()
    _params(room_home / "runs" / "hand-picked", HOLDING).rename(
        room_home / "runs/hand-picked/best_strategy_params.json"
    )
    genome = "runs/hand-picked/best_strategy_params.json"
    port = _free_port()
    proc, url = launch(settings, port, log=tmp_path / "voila.log")
    page = None
    try:
        _wait_http(f"http://127.0.0.1:{port}/")
        # without the token every request is sent to the login form: never the panels, never a kernel
        for path in ("/", "/api/kernels", "/voila/render/00_control_room.ipynb"):
            reply = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60)
            body = reply.read().decode()
            assert "/login" in reply.geturl() and "aitrade" not in body.lower(), path
        page = chromium.new_page(viewport={"width": 1400, "height": 2000})
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".aitrade-control-room", timeout=120_000)
        body = page.content()
        assert "from widgets import" not in body  # the page serves no code cells
        _shot(page, "trade_start")

        # TRADE: start a paper replay runner
        page.locator(".aitrade-runner-params input").fill(genome)
        page.locator(".aitrade-runner-speed input").fill("5")
        page.locator(".aitrade-runner-speed input").press("Enter")
        page.locator("button.aitrade-runner-start").click()
        _wait(lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).positions, 90, "a position")
        page.wait_for_selector("text=runner started: pid", timeout=30_000)

        # LIVE MONITOR: a fresh heartbeat and the position
        _tab(page, "LIVE MONITOR")
        page.wait_for_selector(".aitrade-heartbeat[data-staleness='fresh']", timeout=30_000)
        page.wait_for_selector(".aitrade-monitor-positions td >> text=USDT", timeout=30_000)  # BTCUSDT or ETHUSDT
        _shot(page, "live_monitor")

        # KILL SWITCH: flatten with a reason; HALTED and flat at the paper venue
        page.locator(".aitrade-kill-level button", has_text="flatten").click()
        page.locator(".aitrade-kill-reason input").fill("browser test flatten")
        t0 = time.monotonic()
        page.locator("button.aitrade-kill-arm").click()
        page.wait_for_selector("text=flatten confirmed in", timeout=60_000)
        took = time.monotonic() - t0
        kill = control.read_kill(settings.state_dir)
        assert kill.engaged and kill.flatten and kill.acted["state"] == "HALTED" and kill.acted["flat"] is True
        # the position the monitor showed was closed by the flatten, or by its own stop or target a few bars
        # before it (the replay runs on at 5 bars a second while the page is driven)
        assert kill.acted["closed"] >= 1 or len(runner_cmd.trades(settings)) >= 1
        paper = _paper(settings.state_dir)
        assert all(float(p["qty"]) == 0 for p in paper["positions"].values()) and not paper["protections"]
        _log(
            f"kill switch pressed -> HALTED with {kill.acted['closed']} position(s) closed, flat (confirmed in the "
            f"page): {took:.2f} s"
        )
        page.wait_for_selector(".aitrade-state >> text=HALTED", timeout=30_000)
        _shot(page, "kill_switch")

        # release with the typed word
        page.locator(".aitrade-kill-confirm input").fill("RELEASE")
        page.locator("button.aitrade-kill-release").click()
        page.wait_for_selector("text=released;", timeout=30_000)
        assert not control.read_kill(settings.state_dir).engaged
        _tab(page, "TRADE")
        page.wait_for_selector(".aitrade-trade-closed td", timeout=30_000)  # the session's closed trades, the log
        page.wait_for_selector(".aitrade-trade-log pre", timeout=30_000)
        _shot(page, "trade")
        page.locator("button.aitrade-runner-stop").click()
        page.wait_for_selector("text=stopped; positions and protections stay", timeout=60_000)
        assert runner_cmd.running_pid(settings) is None

        # no runner alive: LIVE MONITOR reads the accounts (never the dead runner's heartbeat); a flatten armed
        # now goes through the router, and the next refresh shows nothing held
        _tab(page, "LIVE MONITOR")
        page.wait_for_selector(".aitrade-monitor-source [data-source='accounts']", timeout=30_000)
        page.locator(".aitrade-kill-level button", has_text="flatten").click()
        page.locator(".aitrade-kill-reason input").fill("browser test flatten, no runner")
        page.locator("button.aitrade-kill-arm").click()
        page.wait_for_selector("text=no runner alive: done here", timeout=60_000)
        page.wait_for_selector(".aitrade-monitor-positions >> text=no open positions", timeout=30_000)
        page.wait_for_selector(".aitrade-monitor-orders >> text=no resting entry orders", timeout=30_000)
        assert all(float(p["qty"]) == 0 for p in _paper(settings.state_dir)["positions"].values())
        _shot(page, "live_monitor_no_runner")
        page.locator(".aitrade-kill-confirm input").fill("RELEASE")
        page.locator("button.aitrade-kill-release").click()
        page.wait_for_selector("text=released;", timeout=30_000)

        # RESEARCH: 10_walk_forward with params/ci.yaml as a background job, progress to the end
        _tab(page, "RESEARCH")
        page.locator(".aitrade-research-use-form input").uncheck()
        page.locator(".aitrade-research-params input").fill("params/ci.yaml")
        page.locator("button.aitrade-run-walk-forward").click()
        page.wait_for_selector("text=started 10 walk-forward signals as job", timeout=30_000)
        page.wait_for_selector(".aitrade-job >> text=completed", timeout=300_000)
        page.wait_for_selector(".aitrade-job .aitrade-run-dir", timeout=30_000)
        done = jobs.list_jobs(settings)[0]
        assert done["status"] == "completed" and done["progress"]["done"] == done["progress"]["total"]
        assert (Path(done["run_dir"]) / "signals.parquet").is_file()
        _shot(page, "control_job_done")

        # WAR ROOM and DATA FACTORY render
        _tab(page, "WAR ROOM")
        page.locator("button", has_text="reload runs").last.click()
        symbols = page.locator(".aitrade-warroom-symbol select option").all_inner_texts()
        assert len(symbols) >= 2, symbols
        t0 = time.monotonic()
        for click in range(20):  # every click draws: the chart of the asset asked for, with its traces
            symbol = symbols[click % 2]
            page.locator(".aitrade-warroom-symbol select").select_option(label=symbol)
            page.locator("button.aitrade-warroom-draw").click()
            chart = page.locator(".aitrade-warroom-chart .js-plotly-plot")
            chart.locator(f"text={symbol}: price, trades, levels").wait_for(timeout=60_000)
            page.wait_for_function(
                "() => document.querySelectorAll('.aitrade-warroom-chart .js-plotly-plot .scatterlayer .trace')"
                ".length >= 5",
                timeout=60_000,
            )
            assert chart.count() == 1, f"click {click}: {chart.count()} charts"
        _log(f"WAR ROOM: 20 draws in a row, each with its traces: {time.monotonic() - t0:.1f} s")
        page.wait_for_selector("text=trades from the runner's ledger", timeout=30_000)
        _shot(page, "war_room")
        _tab(page, "DATA FACTORY")
        page.wait_for_selector("text=embedded samples", timeout=60_000)  # read when the tab first opens
        _shot(page, "data_factory")
        _tab(page, "PROMOTE")
        picker = page.locator(".aitrade-promote-run select")
        picker.select_option(index=0)  # the newest: the job's walk-forward, its verdict in words beside the figures
        verdict = page.locator(".aitrade-verdict")
        verdict.wait_for(timeout=30_000)
        assert "linear baseline" in verdict.inner_text()
        # a run whose out-of-sample log loss is worse than the class prior's (the demo's figures, set by the test)
        label = next(o for o in picker.locator("option").all_inner_texts() if o.endswith(OVERCONFIDENT))
        picker.select_option(label=label)
        page.wait_for_selector(".aitrade-verdict >> text=worse than the class prior", timeout=30_000)
        # refused without a typed reason, though the evidence box is ticked
        page.locator(".aitrade-promote-ok input").check()
        page.locator("button.aitrade-promote").click()
        page.wait_for_selector("text=promote it only with a typed reason", timeout=30_000)
        _shot(page, "promote")  # the verdict in red and the refusal under it
        assert not (settings.state_dir / "production").exists()
        page.locator(".aitrade-promote-override input").fill("browser test: the override path, on paper only")
        page.locator(".aitrade-promote-ok input").check()
        page.locator("button.aitrade-promote").click()
        page.wait_for_selector("text=`--signals model` now trades it", timeout=60_000)
        promoted = json.loads((settings.state_dir / "production" / "promoted.json").read_text())
        assert promoted["override"]["reason"] == "browser test: the override path, on paper only"
        _tab(page, "GENOME RANGES")
        page.wait_for_selector("text=save ranges", timeout=30_000)
        _shot(page, "genome_ranges")
    except BaseException:
        if page is not None:
            _shot(page, "failure_voila")
        raise
    finally:
        if runner_cmd.running_pid(settings) is not None:
            runner_cmd.stop(settings)
        stop_page(proc)
        proc.wait(timeout=30)


@pytest.mark.timeout(900)  # JupyterLab starts, then notebook 10 trains its folds in the browser's kernel
def test_the_notebook_renders_the_panels_in_jupyterlab(chromium: Any, room_home: Path, tmp_path: Path) -> None:
    port, token = _free_port(), "aitrade-browser-test"
    served = tmp_path / "notebooks"  # a copy: JupyterLab saves what it opens, and the repository stays as it is
    served.mkdir()
    labconfig = tmp_path / "jcfg" / "labconfig"  # no "Jupyter news?" prompt over the screenshot
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
    )
    shutil.copy2(REPO / "notebooks" / "00_control_room.ipynb", served)
    # notebook 10 as a user leaves it after editing its parameters cell for a quick look (home stays None: the
    # server's AITRADE_HOME); Run All passes no run folder, so the notebook must make and complete its own
    walk = nbformat.read(REPO / "notebooks" / "10_walk_forward.ipynb", as_version=4)
    cell = next(c for c in walk.cells if "parameters" in c.metadata.get("tags", []))
    small = yaml.safe_load((REPO / "params" / "ci.yaml").read_text())  # the suite's small windows and 3 epochs
    for name in ("start", "end", "train_window", "trade_window", "embargo", "epochs"):
        value = json.dumps(small[name])
        cell.source = re.sub(rf"^{name} = \S+", f"{name} = {value}", cell.source, count=1, flags=re.M)
        assert f"{name} = {value}" in cell.source, name
    nbformat.write(walk, served / "10_walk_forward.ipynb")
    lab = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    env = {
        **os.environ,
        "AITRADE_HOME": str(room_home),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrt"),
    }
    with open(tmp_path / "lab.log", "ab") as log:
        proc = subprocess.Popen(
            [
                lab,
                "lab",
                "--no-browser",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={served}",
                "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--allow-root",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    page = None
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}")
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/lab/tree/00_control_room.ipynb?token={token}", timeout=120_000)
        page.locator(".jp-CodeCell").first.wait_for(timeout=120_000)
        page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=120_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        page.wait_for_selector(".aitrade-control-room", timeout=120_000)
        for title in ("TRADE", "RESEARCH", "PROMOTE", "GENOME RANGES", "LIVE MONITOR", "WAR ROOM", "DATA FACTORY"):
            assert page.locator(".lm-TabBar-tab", has_text=title).count() >= 1
        assert page.locator(".aitrade-kill-arm").count() == 1
        _shot(page, "jupyterlab")

        # Run All on 10_walk_forward: a complete run that promote accepts
        before = set((room_home / "runs").iterdir())
        page.goto(f"http://127.0.0.1:{port}/lab/tree/10_walk_forward.ipynb?reset&token={token}", timeout=120_000)
        panel = ".jp-NotebookPanel"  # the only one: ?reset opened this notebook alone
        page.wait_for_selector(f"{panel} .jp-CodeCell", timeout=120_000)
        assert page.locator(panel).count() == 1
        page.wait_for_selector(f"{panel} .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        started = (  # a cell of this notebook queued or run: Run All reached its kernel
            f"() => [...document.querySelectorAll('{panel} .jp-InputArea-prompt')]"
            ".some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))"
        )
        for attempt in range(3):  # the menu acts on the focused notebook: focus it, then Run All until it starts
            page.locator(f"{panel} .jp-Cell").first.click()
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            try:
                page.wait_for_function(started, timeout=60_000)
                break
            except Exception:
                if attempt == 2:
                    raise
        page.wait_for_selector(
            f"{panel} .jp-OutputArea-output >> text=next: optimise the trading rules", timeout=600_000
        )
        done = f"() => ![...document.querySelectorAll('{panel} .jp-InputArea-prompt')].some(e => e.textContent.includes('*'))"
        page.wait_for_function(done, timeout=300_000)  # then its figures and feature importance, to the last cell
        page.locator(f"{panel} .jp-Cell").last.scroll_into_view_if_needed()
        _shot(page, "jupyterlab_walk_forward")
        made = [p for p in set((room_home / "runs").iterdir()) - before if (p / "signals.parquet").is_file()]
        assert len(made) == 1 and run_status(made[0]) == "complete", made
        assert main(["--home", str(room_home), "promote", str(made[0]), *PROMOTE_ANYWAY]) == 0
    except BaseException:
        if page is not None:
            _shot(page, "failure_jupyterlab")
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
