"""The control room without a browser: its controllers, background jobs, and the panels driven in-process
(button clicks and values) against a real runner process in paper replay."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import yaml

from aitrade.commands import control_panel as cp
from aitrade.commands import data_cmd, jobs, monitor, runner_cmd, warroom
from aitrade.commands.control_room import launch, port_free, voila_argv
from aitrade.config import load_settings
from aitrade.errors import UserError
from aitrade.locks import pid_alive
from aitrade.notebooks import REPO
from aitrade.optimize.ga import OptimizerConfig
from aitrade.runner import control
from tests.test_backtest import make_signals
from tests.test_runner import GENOMES, _home, _paper, _params, _wait

# wide stops, no trailing, no time or volatility exit: a position stays open until the kill switch closes it
HOLDING = {
    "sl": 8.0,
    "tp": 16.0,
    "conf": 0.55,
    "pullback": 0.0,
    "fill_wait": 1,
    "max_hold": 500,
    "trail_act": 100.0,
    "trail_off": 1.0,
    "vol_exit": 100.0,
    "abort": 1.0,
}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signals(tmp_path_factory.mktemp("room") / "sig", n=700, seed=3)


# --- controllers ------------------------------------------------------------------------------------------------
def test_research_form_errors_name_each_field() -> None:
    values, errors = cp.check_research(
        {
            "symbols": "btcusdt, ,ethusdt",
            "train_window": "300",
            "epochs": 0,
            "start": "2022-05-01",
            "end": "2022-01-01",
            "model": "lstm",
            "interval": "7x",
            "source": "nasdaq",
            "seed": -1,
        }
    )
    assert values["symbols"] == "BTCUSDT,ETHUSDT" and values["train_window"] == 300
    assert set(errors) == {"epochs", "end", "model", "interval", "source", "seed"}
    assert "not after start" in errors["end"] and "mlp, gru" in errors["model"]
    assert cp.check_research({"symbols": "BTC USDT"})[1]["symbols"].startswith("not a symbol")


def test_research_jobs_refuse_bad_input_before_any_process(tmp_path: Path) -> None:
    settings = load_settings(_home(tmp_path))
    with pytest.raises(UserError, match="train_window: train window must be a whole number >= 50"):
        cp.start_research(settings, "walk_forward", {"train_window": 3})
    with pytest.raises(UserError, match="unknown research notebook"):
        cp.start_research(settings, "nope", {})
    with pytest.raises(UserError, match="does not declare parameter"):
        bad = tmp_path / "bad.yaml"
        bad.write_text("train_windw: 3\n")
        job = cp.start_research(settings, "walk_forward", {}, params_file=bad)
        _wait(lambda: jobs.get(settings, job["id"])["status"] in jobs.FINAL, 60, "the job to fail")
        raise UserError(jobs.get(settings, job["id"])["error"])


def test_genome_ranges_are_checked_per_gene_and_saved_atomically(tmp_path: Path) -> None:
    settings = load_settings(_home(tmp_path))
    assert "optimizer_demo.yaml" in cp.optimizer_files(settings)
    data = cp.load_optimizer(settings, "optimizer_demo.yaml")
    bad = {**data["ranges"], "sl": [3.0, 1.0], "conf": [0.2, 1.5], "fill_wait": ["x", 2], "bogus": [1, 2]}
    errors = cp.check_ranges(bad)
    assert set(errors) == {"sl", "conf", "fill_wait", "bogus"} and "above high" in errors["sl"]
    with pytest.raises(UserError, match="sl: low 3 is above high 1"):
        cp.save_optimizer(settings, "optimizer_mine.yaml", {**data, "ranges": bad})
    assert not (settings.home / "params" / "optimizer_mine.yaml").exists()
    for name in ("../evil.yaml", "mine.txt", ".hidden.yaml", ""):
        with pytest.raises(UserError, match="plain name ending in .yaml"):
            cp.save_optimizer(settings, name, data)
    good = {**data["ranges"], "sl": [1.1, 2.2]}
    path = cp.save_optimizer(settings, "optimizer_mine.yaml", {**data, "ranges": good})
    cfg = OptimizerConfig.from_yaml(path)
    assert cfg.ranges.ranges["sl"] == (1.1, 2.2) and cfg.population == data["population"]
    assert cp.load_optimizer(settings, "optimizer_mine.yaml")["ranges"]["sl"] == [1.1, 2.2]
    assert "optimizer_mine.yaml" in cp.optimizer_files(settings)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_live_is_locked_unless_the_environment_arms_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _home(tmp_path)
    allowed, why = cp.live_choice(load_settings(home))
    assert not allowed and "ALLOW_LIVE=1" in why
    monkeypatch.setenv("ALLOW_LIVE", "1")
    assert cp.live_choice(load_settings(home))[0]


def test_risk_editor_validates_saves_and_sees_the_pickup(tmp_path: Path) -> None:
    settings = load_settings(_home(tmp_path))
    with pytest.raises(UserError, match="RISK_PER_TRADE=0.5 is out of range"):
        monitor.apply_risk(settings, {"RISK_PER_TRADE": 0.5})
    with pytest.raises(UserError, match="not a risk setting: EXECUTION_MODE"):
        monitor.apply_risk(settings, {"EXECUTION_MODE": "live"})
    assert not settings.runtime_settings_path.exists()
    out = monitor.apply_risk(settings, {"RISK_PER_TRADE": 0.02, "MAX_OPEN_POSITIONS": 7})
    assert json.loads(settings.runtime_settings_path.read_text()) == {"RISK_PER_TRADE": 0.02, "MAX_OPEN_POSITIONS": 7}
    assert out["values"]["MAX_OPEN_POSITIONS"] == 7
    snap = monitor.snapshot(settings)
    assert monitor.picked_up(snap, out["saved_at"]) is None  # no runner to pick it up


def test_data_factory_helpers(tmp_path: Path) -> None:
    settings = load_settings(_home(tmp_path))
    assert data_cmd.fold_metrics(settings) is None and data_cmd.validation_images(settings) is None
    request = data_cmd.fetch_request(source="bitget", symbols="btcusdt, ethusdt", interval="1h", start="2024-01-01")
    assert request == {
        "source": "bitget",
        "symbols": ["BTCUSDT", "ETHUSDT"],
        "interval": "1h",
        "start": "2024-01-01",
        "end": None,
        "market": "spot",
        "refresh": False,
    }
    title = "data fetch --source bitget --symbols BTCUSDT,ETHUSDT --interval 1h --market spot --start 2024-01-01"
    assert data_cmd.describe_request(request) == title
    for kwargs, message in (
        ({"source": "csv"}, "fetch source must be"),
        ({"symbols": " , "}, "at least one symbol"),
        ({"interval": "7x"}, "interval"),
        ({"start": "yesterday-ish"}, "start"),
    ):
        with pytest.raises(UserError, match=message):
            data_cmd.fetch_request(**{"source": "bitget", "symbols": "BTCUSDT", "interval": "1h", **kwargs})


def test_war_room_chart_rebuilds_levels_from_the_genome(tmp_path: Path, artifact: Path) -> None:
    from aitrade.cli import main  # noqa: PLC0415

    home = _home(tmp_path)
    settings = load_settings(home)
    run = home / "runs" / "opt"
    assert (
        main(
            [
                "--home",
                str(home),
                "backtest",
                "--signals",
                str(artifact),
                "--params",
                str(_params(tmp_path, GENOMES["market_like"])),
                "--out",
                str(run),
            ]
        )
        == 0
    )
    (run / "params.json").write_text(json.dumps({"kind": "backtest", "signals": str(artifact)}))
    (run / "best_strategy_params.json").write_text(json.dumps(GENOMES["market_like"]))
    sources = warroom.trade_sources(settings, artifact)
    assert list(sources.values()) == [str(run)]
    ch = warroom.chart(settings, artifact, "BTCUSDT", trades_from=str(run))
    assert len(ch.bars) == len(ch.indicators) and {"rsi", "adx", "atr", "support", "resistance"} <= set(ch.indicators)
    t = ch.trades
    assert len(t) and set(t["symbol"]) == {"BTCUSDT"}
    long = t["side"] == "long"
    assert (t.loc[long, "stop"] < t.loc[long, "entry_price"]).all()
    assert (t.loc[~long, "target"] < t.loc[~long, "entry_price"]).all()
    sl_hits = t[t["exit_reason"] == "sl"]
    assert len(sl_hits) and ((sl_hits["exit_price"] - sl_hits["stop"]).abs() / sl_hits["stop"] < 0.02).all()
    with pytest.raises(UserError, match="is not in"):
        warroom.chart(settings, artifact, "NOPE")


def test_control_room_page_is_local_tokened_and_code_free(tmp_path: Path) -> None:
    argv = voila_argv(8866)
    assert "--Voila.ip=127.0.0.1" in argv and "--strip_sources=True" in argv and "--Voila.auto_token=True" in argv
    assert not [a for a in argv if "token=" in a.lower() and "auto_token" not in a]  # never on the command line
    settings = load_settings(_home(tmp_path))
    with pytest.raises(UserError, match="between 1024 and 65535"):
        launch(settings, 80)
    import socket  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        assert not port_free(busy)
        with pytest.raises(UserError, match=f"port {busy} on 127.0.0.1 is in use"):
            launch(settings, busy)


# --- background jobs ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_notebook_job_reports_progress_and_completes(tmp_path: Path) -> None:
    settings = load_settings(_home(tmp_path))
    job = jobs.start_notebook(settings, "walk_forward", params_file=REPO / "params" / "ci.yaml")
    assert job["status"] == "starting" and (settings.state_dir / "jobs" / f"{job['id']}.json").is_file()
    seen: set[int] = set()

    def finished() -> bool:
        now = jobs.get(settings, job["id"])
        seen.add((now.get("progress") or {}).get("done", -1))
        return now["status"] in jobs.FINAL

    _wait(finished, 240, "the notebook job")
    done = jobs.get(settings, job["id"])
    assert done["status"] == "completed", done
    progress = done["progress"]
    assert progress["done"] == progress["total"] > 3 and len(seen) > 2  # seen moving, not only at the end
    run = Path(done["run_dir"])
    assert (run / "signals.parquet").is_file() and json.loads((run / "run.json").read_text())["status"] == "complete"
    assert jobs.list_jobs(settings)[0]["id"] == job["id"]
    _wait(lambda: not pid_alive(done["pid"]), 30, "the job process to exit")  # reaped: no zombie left


@pytest.mark.slow
def test_a_cancelled_job_stops_its_process_group_and_says_so(tmp_path: Path) -> None:
    settings = load_settings(_home(tmp_path))
    job = jobs.start_notebook(
        settings, "walk_forward", params_file=REPO / "params" / "ci.yaml", overrides={"epochs": 400}
    )
    _wait(lambda: (jobs.get(settings, job["id"]).get("progress") or {}).get("done", 0) >= 2, 120, "cells to run")
    out = jobs.cancel(settings, job["id"])
    assert out["status"] == "cancelled"
    assert not pid_alive(job["pid"])
    _wait(lambda: json.loads((Path(out["run_dir"]) / "run.json").read_text())["status"] == "failed", 30, "run marked")
    assert jobs.cancel(settings, job["id"])["message"].endswith("already cancelled")
    # a job whose process vanished without a word reads as died
    other = jobs.start_notebook(settings, "walk_forward", params_file=REPO / "params" / "ci.yaml")
    _wait(lambda: jobs.get(settings, other["id"])["status"] == "running", 60, "running")
    os.killpg(other["pid"], signal.SIGKILL)
    _wait(lambda: jobs.get(settings, other["id"])["status"] == "died", 30, "died")
    (settings.state_dir / "jobs" / "broken.json").write_text("{oops")
    listed = {j["id"]: j["status"] for j in jobs.list_jobs(settings)}
    assert listed["broken"] == "unreadable" and listed[other["id"]] == "died"
    with pytest.raises(UserError, match="no job"):
        jobs.get(settings, "../../etc/passwd")


# --- the panels, driven in-process against a real runner ---------------------------------------------------------
@pytest.mark.slow
def test_panels_start_watch_kill_and_release_a_paper_runner(tmp_path: Path, artifact: Path) -> None:
    from widgets import ControlRoom  # noqa: PLC0415

    home = _home(tmp_path)
    settings = load_settings(home)
    runs = home / "runs" / "sig"
    runs.parent.mkdir()
    os.symlink(artifact, runs)
    room = ControlRoom(home)
    assert not room.ticker.running  # no event loop here: the test refreshes by hand
    panel, kill, mon = room.control, room.kill, room.monitor
    panel.load_runs()
    assert dict((v, k) for k, v in panel.runner_signals.options)[str(runs)].endswith(" · sig")
    # live cannot be chosen without ALLOW_LIVE, and a live start needs the typed word anyway
    panel.mode.value = "live"
    assert panel.mode.value == "paper" and "ALLOW_LIVE=1" in panel.mode_note.value
    panel.runner_signals.value = str(runs)
    panel.runner_params.value = str(_params(tmp_path, HOLDING))
    panel.runner_speed.value = 25.0
    panel.start_runner()
    _wait(lambda: "runner started" in panel.runner_status.value or "error" in panel.runner_status.value, 90, "start")
    assert "runner started: pid" in panel.runner_status.value, panel.runner_status.value
    try:
        _wait(lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).positions, 60, "a position")
        mon.refresh()
        assert mon.snap is not None and mon.snap.alive and mon.snap.staleness == "fresh"
        assert "data-staleness='fresh'" in mon.header.value and "ACTIVE" in mon.header.value
        assert mon.snap.positions and mon.snap.positions[0]["symbol"] in mon.positions.value
        # the risk editor: a bad value is refused in words, a good one saved and picked up
        mon.risk_fields["RISK_PER_TRADE"].value = 0.5
        mon.apply.click()
        assert "out of range" in mon.risk_status.value
        mon.risk_fields["RISK_PER_TRADE"].value = 0.01
        mon.apply.click()
        assert "saved to" in mon.risk_status.value
        _wait(lambda: (mon.refresh(), "picked up by the runner" in mon.pickup.value)[1], 30, "the pickup")
        # the kill switch: nothing is armed without a reason; flatten is confirmed, HALTED and flat
        assert kill.arm.disabled
        kill.level.value = "flatten"
        kill.reason.value = "panel test"
        assert not kill.arm.disabled
        kill.arm.click()
        _wait(lambda: "confirmed" in kill.status.value or "error" in kill.status.value, 60, "confirmation")
        assert "flatten confirmed in" in kill.status.value, kill.status.value
        assert kill.last_result["seconds"] < 30
        state = control.read_kill(settings.state_dir)
        assert state.engaged and state.flatten and state.acted["state"] == "HALTED"
        assert state.acted["closed"] >= 1 and not state.acted["errors"]  # it closed what was open
        assert "ARMED: flatten" in kill.state.value and "panel test" in kill.state.value
        paper = _paper(settings.state_dir)
        assert all(float(p["qty"]) == 0 for p in paper["positions"].values()) and not paper["protections"]
        _wait(lambda: (mon.refresh(), mon.snap.state == "HALTED")[1], 30, "HALTED in the monitor")
        assert not mon.snap.positions
        # release only with the typed word
        kill.confirm_text.value = "release"
        assert kill.release.disabled
        kill.confirm_text.value = "RELEASE"
        kill.release.click()
        assert "released" in kill.status.value and not control.read_kill(settings.state_dir).engaged
        assert kill.reason.value == "" and kill.arm.disabled  # no reason left armed in the form for the next kill
        _wait(
            lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).state == "ACTIVE", 30, "ACTIVE"
        )
    finally:
        panel.stop_runner()
        _wait(lambda: "stopped" in panel.runner_status.value, 60, "the runner to stop")
    assert runner_cmd.running_pid(settings) is None
    room.close()


@pytest.mark.slow
def test_control_panel_runs_a_research_job_and_saves_ranges(tmp_path: Path) -> None:
    from widgets import ControlRoom  # noqa: PLC0415

    home = _home(tmp_path)
    room = ControlRoom(home)
    panel = room.control
    panel.research_fields["train_window"].value = 10
    assert panel.run_research("walk_forward") is None
    assert "whole number &gt;= 50" in panel.research_errors["train_window"].value
    panel.use_form.value = False
    panel.params_file.value = "params/ci.yaml"
    job = panel.run_research("walk_forward")
    assert job is not None and "started 10 walk-forward signals" in panel.research_status.value
    settings = load_settings(home)
    _wait(lambda: (panel.jobs.refresh(), panel.jobs.rows[job["id"]].status in jobs.FINAL)[1], 240, "the job")
    row = panel.jobs.rows[job["id"]]
    assert row.status == "completed" and row.bar.value == row.bar.max and "run folder" in row.info.value
    assert (Path(jobs.get(settings, job["id"])["run_dir"]) / "signals.parquet").is_file()
    # the finished run is offered for promotion at once, with its evidence
    run_dir = jobs.get(settings, job["id"])["run_dir"]
    assert run_dir in [v for _, v in panel.promote_run.options]
    panel.promote_run.value = run_dir
    assert "pooled over" in panel.evidence.value and "linear baseline" in panel.evidence.value
    assert "aitrade-verdict" in panel.evidence.value  # the verdict in words beside the numbers
    assert panel.promote_button.disabled
    panel.promote_ok.value = True
    if "worse than the class prior" in panel.evidence.value:  # (a 3-epoch model often is): a typed reason first
        panel.promote_button.click()
        assert "typed reason" in panel.promote_status.value and not (settings.state_dir / "production").exists()
        panel.promote_override.value = "a test of the override path"
    panel.promote_button.click()
    assert "promoted to" in panel.promote_status.value and (settings.state_dir / "production").is_dir()
    # genome ranges: a bad range is refused beside the field, a good one saved to the home's params/
    panel.range_lo["sl"].value = 9.0
    assert panel.save_ranges() is None and "above high" in panel.range_errors["sl"].value
    panel.range_lo["sl"].value = 1.0
    panel.save_as.value = "optimizer_panel.yaml"
    saved = panel.save_ranges()
    assert saved == home / "params" / "optimizer_panel.yaml"
    assert yaml.safe_load(saved.read_text())["ranges"]["sl"][0] == 1.0
    room.close()


def test_jobs_and_control_room_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aitrade.cli import main  # noqa: PLC0415

    home = _home(tmp_path)
    assert main(["--home", str(home), "jobs"]) == 0 and "no jobs" in capsys.readouterr().out
    assert main(["--home", str(home), "jobs", "--json"]) == 0 and json.loads(capsys.readouterr().out) == []
    assert main(["--home", str(home), "jobs", "--cancel", "nope"]) == 2
    assert "no job 'nope'" in capsys.readouterr().err
    assert main(["--home", str(home), "control-room", "--port", "80"]) == 2
    assert "1024" in capsys.readouterr().err


@pytest.mark.slow
def test_data_factory_fetches_as_a_job_and_lists_the_cache(tmp_path: Path) -> None:
    from widgets.datafactory import DataFactoryPanel  # noqa: PLC0415

    home = _home(tmp_path)
    settings = load_settings(home)
    panel = DataFactoryPanel(settings)
    assert "nothing fetched" in panel.inventory.value and "embedded samples" in panel.samples.value
    panel.source.value, panel.symbols.value, panel.interval.value = "sample", "", "4h"
    assert panel.fetch() is None and "at least one symbol" in panel.fetch_status.value
    panel.symbols.value = "btcusdt"
    job = panel.fetch()
    assert job is not None and job["kind"] == "fetch"
    _wait(lambda: (panel.jobs.refresh(), panel.jobs.rows[job["id"]].status in jobs.FINAL)[1], 120, "the fetch")
    assert panel.jobs.rows[job["id"]].status == "completed"
    assert "BTCUSDT" in (jobs.get(settings, job["id"])["progress"]["current"] or "")  # the fetch's last line
    panel.refresh()
    assert "BTCUSDT" in panel.inventory.value and (home / "data_cache" / "sample" / "4h" / "BTCUSDT.parquet").is_file()
    panel.quality()
    _wait(lambda: "checking" not in panel.quality_table.value, 120, "the quality report")
    assert "BTCUSDT" in panel.quality_table.value


@pytest.mark.slow
def test_a_job_outlives_the_kernel_that_started_it(tmp_path: Path) -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    home = _home(tmp_path)
    settings = load_settings(home)
    code = (
        "import sys; from aitrade.commands import jobs; from aitrade.config import load_settings; "
        f"j = jobs.start_notebook(load_settings({str(home)!r}), 'walk_forward', "
        f"params_file={str(REPO / 'params' / 'ci.yaml')!r}); print(j['id']); sys.stdout.flush(); "
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    )
    kernel = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert kernel.returncode == -signal.SIGKILL  # the "kernel" died right after starting the job
    job_id = kernel.stdout.strip()
    _wait(lambda: jobs.get(settings, job_id)["status"] in jobs.FINAL, 240, "the orphaned job")
    assert jobs.get(settings, job_id)["status"] == "completed"


def test_the_page_url_and_token_go_to_a_private_file_never_the_console(tmp_path: Path) -> None:
    from aitrade.commands.control_room import write_url  # noqa: PLC0415

    settings = load_settings(_home(tmp_path))
    path = write_url(settings, "http://127.0.0.1:8866/?token=abc123")
    assert path.read_text().strip().endswith("token=abc123")
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_control_rooms_timed_refresh_reads_and_shows(tmp_path: Path) -> None:
    """What the ticker runs every 2 s (a failure there is only counted, so call it directly)."""
    from widgets import ControlRoom  # noqa: PLC0415

    room = ControlRoom(_home(tmp_path))
    data = room._read()
    room._show(data)
    assert set(data) == {"kill", "jobs", "fetches", "runner"} and "not running" in room.control.runner_state.value
    room.close()


def test_the_equity_tracker_reads_only_new_trades_and_restarts_on_a_new_ledger(tmp_path: Path) -> None:
    from aitrade.commands.monitor import EquityTracker  # noqa: PLC0415
    from aitrade.runner.ledger import Book, TradeLedger  # noqa: PLC0415
    from aitrade.runner.seams import Trade  # noqa: PLC0415

    path = tmp_path / "trades.sqlite"

    def trade(i: int) -> Trade:
        return Trade(
            **{
                "symbol": "BTCUSDT",
                "side": "long",
                "entry_time": f"2024-01-01T{i:02d}:00:00+00:00",
                "entry_price": 1.0,
                "exit_time": f"2024-01-02T{i:02d}:00:00+00:00",
                "exit_price": 2.0,
                "quantity": 1.0,
                "fees": 0.0,
                "pnl": float(i),
                "exit_reason": "tp",
                "exit_id": f"at-x-{i}",
            }
        )

    def book(*numbers: int) -> None:
        with TradeLedger(path) as ledger:
            ledger.begin_session({"capital": 100.0})
            ledger.save_book(Book("BTCUSDT"), trades=[trade(i) for i in numbers])

    def read(tracker: EquityTracker):
        with TradeLedger(path, read_only=True) as ledger:
            return tracker.update(ledger, ledger.session() or {}, 100.0), ledger

    tracker = EquityTracker()
    book(1, 2)
    first, _ = read(tracker)
    assert list(first) == [101.0, 103.0]
    book(3)
    calls = []
    with TradeLedger(path, read_only=True) as ledger:
        original = ledger.exits_since
        ledger.exits_since = lambda rowid: calls.append(rowid) or original(rowid)  # type: ignore[method-assign]
        second = tracker.update(ledger, ledger.session() or {}, 100.0)
    assert list(second) == [101.0, 103.0, 106.0] and calls == [2]  # only rows after the last one seen
    path.unlink()  # a new ledger (reset): read afresh
    for f in tmp_path.glob("trades.sqlite-*"):
        f.unlink()
    book(5)
    third, _ = read(tracker)
    assert list(third) == [105.0]


def test_with_no_runner_alive_the_monitor_shows_what_the_accounts_hold(
    tmp_path: Path, artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A finished replay leaves a position open; a flatten by `aitrade kill` with no runner closes it at the paper
    venue. The monitor and `runner status` say so at the next refresh: the dead runner's heartbeat (which still
    lists the position, protected) is history, never the positions shown, never green."""
    from aitrade.cli import main  # noqa: PLC0415
    from aitrade.commands import kill_cmd  # noqa: PLC0415
    from widgets import ControlRoom  # noqa: PLC0415

    home = _home(tmp_path)
    settings = load_settings(home)
    params = _params(tmp_path, HOLDING)
    args = ["--home", str(home), "runner", "start", "--signals", str(artifact), "--params", str(params)]
    assert main([*args, "--replay", "--foreground"]) == 0
    beat = control.read_heartbeat(settings.state_dir)
    assert beat is not None and beat.positions and beat.coverage.protected == len(beat.positions)
    held = {p.symbol for p in beat.positions}

    room = ControlRoom(home)
    mon = room.monitor
    mon.refresh()
    assert mon.snap is not None and not mon.snap.alive and mon.snap.source == "accounts"
    assert {p["symbol"] for p in mon.snap.positions} == held  # the paper account holds what the runner left
    assert "no runner alive: read from the accounts" in mon.source.value
    assert "its last word" in mon.header.value
    trades = len(runner_cmd.trades(settings))
    assert trades > 0 and len(mon.snap.equity) == trades  # a finished session's equity, from its ledger

    out = kill_cmd.kill(settings, "flatten", "monitor truth test")
    assert out["confirmed"] and out["runner"] is None
    mon.refresh()  # one refresh later: nothing held, whatever the old heartbeat says
    assert control.read_heartbeat(settings.state_dir).positions == beat.positions
    assert mon.snap.positions == [] and "no open positions" in mon.positions.value
    assert "0 of 0" in mon.coverage.value and "protected" not in mon.coverage.value.split("hold")[0]
    # the ledger is the runner's: a flatten without it is booked when a runner next opens the session
    assert len(mon.snap.equity) == len(runner_cmd.trades(settings)) == trades
    room.close()

    capsys.readouterr()
    assert main(["--home", str(home), "runner", "status"]) == 0
    said = capsys.readouterr().out
    assert "positions now, read from the accounts" in said and "none" in said
    assert "its last word, history now" in said


def test_runs_are_picked_from_labelled_lists_and_typed_paths_resolve_against_the_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pickers show kind, symbols, interval, age, status and the key metric; the promoted run is the runner's
    default (not the newest); the optimiser's genome over the chosen signals is preselected; the genome field's
    placeholder path works from a kernel whose folder is not the home; `aitrade runs` lists and compares."""
    from aitrade.cli import main  # noqa: PLC0415
    from tests import PROMOTE_ANYWAY  # noqa: PLC0415
    from widgets import ControlRoom  # noqa: PLC0415

    home = _home(tmp_path)
    older = make_signals(home / "runs" / "20260101T000000Z-sig-a", n=400, seed=3)
    newer = make_signals(home / "runs" / "20260102T000000Z-sig-b", n=400, seed=4)
    assert main(["--home", str(home), "promote", str(older), *PROMOTE_ANYWAY]) == 0
    opt = home / "runs" / "20260103T000000Z-opt"
    args = [
        "--signals",
        str(older),
        "--population",
        "6",
        "--generations",
        "1",
        "--survivors",
        "3",
        "--train-window",
        "150",
    ]
    assert main(["--home", str(home), "optimize", *args, "--test-window", "100", "--out", str(opt)]) == 0
    (home / "runs" / "20260104T000000Z-broken").mkdir()  # a run that died before writing anything
    (home / "runs" / "20260104T000000Z-broken" / "run.json").write_text('{"status": "failed", "kind": "x"}')

    capsys.readouterr()
    assert main(["--home", str(home), "runs"]) == 0
    listed = capsys.readouterr().out
    assert "* 20260101T000000Z-sig-a" in listed and "20260102T000000Z-sig-b" in listed
    assert "optimise" in listed and "out of sample return" in listed and "broken" not in listed
    assert main(["--home", str(home), "runs", "--all"]) == 0
    assert "broken" in capsys.readouterr().out
    assert main(["--home", str(home), "runs", "compare", "20260101", "20260103"]) == 0
    compared = capsys.readouterr().out
    assert "1: 20260101T000000Z-sig-a (promoted)" in compared and "different kinds" in compared
    assert "deflated Sharpe" in compared and "Sharpe (annualised)" in compared

    monkeypatch.chdir(tmp_path)  # a kernel's folder (notebooks/), not the home
    room = ControlRoom(home)
    panel = room.control
    labels = dict((v, k) for k, v in panel.runner_signals.options)
    assert labels[str(older)].startswith("PROMOTED · signals · ") and "ago" in labels[str(older)]
    assert panel.runner_signals.value == str(older)  # the promoted run, though sig-b is newer
    assert panel.runner_genome.value == str(opt / "best_strategy_params.json")
    panel.runner_signals.value = str(newer)
    assert panel.runner_genome.value == ""  # no optimiser run over these signals: the profile's rules
    panel.runner_signals.value = str(older)
    # the placeholder's own path, typed relative: resolved against the home, whatever the kernel's folder
    panel.runner_params.value = "runs/20260103T000000Z-opt/best_strategy_params.json"
    config, _feed = runner_cmd.prepare(
        load_settings(home),
        signals=panel.runner_signals.value,
        params=panel.runner_params.value,
        mode="paper",
        replay=True,
        capital=1000.0,
        long_only=False,
        start=None,
        end=None,
        speed=0.0,
    )
    assert config.params_file == str(opt / "best_strategy_params.json")
    room.close()


@pytest.mark.slow
def test_sigterm_stops_the_page_and_everything_it_started(tmp_path: Path) -> None:
    """`aitrade control-room` stopped by SIGTERM (a service manager, `kill`): Voila and its kernels go with it."""
    import socket  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    home = _home(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AITRADE_HOME": str(home)}
    cli = subprocess.Popen(
        [sys.executable, "-m", "aitrade", "control-room", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url_file = home / "state" / "control-room.url"
    _wait(url_file.exists, 60, "the page's URL file")
    link = url_file.read_text().strip()

    def answers() -> bool:
        try:
            urllib.request.urlopen(link, timeout=5)
        except OSError:
            return False
        return True

    _wait(answers, 120, "the page to answer")
    group = os.getpgid(cli.pid)
    children = [int(p) for p in (Path("/proc") / str(cli.pid) / "task" / str(cli.pid) / "children").read_text().split()]
    assert children and all(os.getpgid(c) != group for c in children)  # Voila in a group of its own
    voila = children[0]
    cli.send_signal(signal.SIGTERM)
    assert cli.wait(timeout=60) == 0
    _wait(lambda: not pid_alive(voila), 30, "Voila to stop")
    assert port_free(port)


@pytest.mark.slow
def test_a_force_exit_closes_one_position_through_the_kill_path_and_trading_goes_on(
    tmp_path: Path, artifact: Path
) -> None:
    """TRADE's FORCE EXIT: with a runner alive it closes that symbol's position within a tick (a `kill` exit in the
    ledger, the event with its reason) and nothing else; the runner stays ACTIVE, the switch unarmed. With no runner
    alive, the command closes that one position at the venue itself."""
    from aitrade.commands import kill_cmd  # noqa: PLC0415
    from aitrade.runner.ledger import TradeLedger  # noqa: PLC0415
    from widgets import ControlRoom  # noqa: PLC0415

    home = _home(tmp_path)
    settings = load_settings(home)
    room = ControlRoom(home)
    panel, trade, mon = room.control, room.trade, room.monitor
    panel.load_runs()
    panel.runner_signals.options = [("sig", str(artifact))]
    panel.runner_signals.value = str(artifact)
    panel.runner_params.value = str(_params(tmp_path, HOLDING))
    panel.runner_speed.value = 20.0
    panel.start_runner()
    _wait(lambda: "runner started" in panel.runner_status.value or "error" in panel.runner_status.value, 90, "start")
    assert "runner started: pid" in panel.runner_status.value, panel.runner_status.value
    try:
        _wait(lambda: len((control.read_heartbeat(settings.state_dir) or control.Heartbeat()).positions) >= 2, 90, "2")
        mon.refresh()  # the TRADE view is drawn from the monitor's snapshot
        assert len(trade.exit_symbol.options) >= 2 and trade.exit_button.disabled  # no reason, no button
        symbol = trade.exit_symbol.value
        trade.exit_reason.value = "panel force-exit test"
        assert not trade.exit_button.disabled
        trade.exit_button.click()
        _wait(lambda: "flat in" in trade.exit_status.value or "still open" in trade.exit_status.value, 60, "done")
        assert f"{symbol} flat in" in trade.exit_status.value, trade.exit_status.value
        with TradeLedger(settings.state_dir / "trades.sqlite", read_only=True) as ledger:
            events = [e for e in ledger.events(200) if e["kind"] == "force_exit"]
            closed = [t for t in ledger.trades() if t["symbol"] == symbol and t["exit_reason"] == "kill"]
        assert events and events[0]["detail"]["reason"] == "panel force-exit test" and len(closed) == 1
        beat = control.read_heartbeat(settings.state_dir)
        assert beat is not None and beat.state == "ACTIVE" and not control.read_kill(settings.state_dir).engaged
        assert {p.symbol for p in beat.positions} - {symbol}  # the other position stays: one was closed, not all
    finally:
        panel.stop_runner()
        _wait(lambda: "stopped" in panel.runner_status.value, 60, "the runner to stop")
    room.close()

    # no runner alive: the command closes that one position at the (paper) venue, and only it
    held = {s for s, p in _paper(settings.state_dir)["positions"].items() if float(p["qty"])}
    if not held:
        pytest.fail("nothing left open after the stop: the no-runner path was not exercised")
    target = sorted(held)[0]
    out = kill_cmd.force_exit(settings, target, "no runner force-exit test")
    assert out["confirmed"] and out["runner"] is None and out["request"]["result"]["closed"] == 1
    after = {s for s, p in _paper(settings.state_dir)["positions"].items() if float(p["qty"])}
    assert after == held - {target}
