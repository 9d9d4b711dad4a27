"""The runner: replay parity with the backtest, crash and restart, the kill switch, one runner per home, bad input."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from aitrade.brokers.paperstore import PaperStore
from aitrade.cli import main
from aitrade.commands import kill_cmd, runner_cmd
from aitrade.config import load_settings
from aitrade.errors import StateFileError, UserError
from aitrade.runner import control
from aitrade.runner.ledger import TradeLedger
from aitrade.runner.parity import compare
from aitrade.signals import write_signals
from aitrade.strategy import FLAT, OPEN
from tests.test_backtest import make_signals

GENOMES = {
    "trailing": {
        "sl": 1.2,
        "tp": 3.0,
        "conf": 0.55,
        "pullback": 0.3,
        "fill_wait": 3,
        "max_hold": 30,
        "trail_act": 0.8,
        "trail_off": 0.5,
        "vol_exit": 4.0,
        "abort": 0.8,
    },
    "market_like": {
        "sl": 2.0,
        "tp": 2.0,
        "conf": 0.6,
        "pullback": 0.0,
        "fill_wait": 1,
        "max_hold": 12,
        "trail_act": 100.0,
        "trail_off": 1.0,
        "vol_exit": 100.0,
        "abort": 0.5,
    },
}


def _home(tmp_path: Path, name: str = "home") -> Path:
    home = tmp_path / name
    home.mkdir()
    (home / ".env").write_text("MAX_OPEN_POSITIONS=50\nBITGET_MARKET=futures\nMAX_DAILY_DRAWDOWN=0.99\n")
    return home


def _cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AITRADE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "aitrade", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signals(tmp_path_factory.mktemp("runner") / "sig", n=700, seed=3)


def _paper(state: Path) -> dict:
    """The paper account as the simulated broker keeps it (read-only)."""
    store = PaperStore(state / "paper_bitget.sqlite", read_only=True)
    try:
        return store.load()
    finally:
        store.close()


def _params(tmp_path: Path, genes: dict) -> Path:
    path = tmp_path / "genome.json"
    path.write_text(json.dumps(genes))
    return path


def _backtest(home: Path, artifact: Path, params: Path) -> pd.DataFrame:
    out = home / "bt"
    assert (
        main(["--home", str(home), "backtest", "--signals", str(artifact), "--params", str(params), "--out", str(out)])
        == 0
    )
    return pd.read_csv(out / "trades.csv")


def _wait(predicate: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("genes", list(GENOMES), ids=list(GENOMES))
def test_a_paper_replay_makes_the_backtests_trades(tmp_path: Path, artifact: Path, genes: str) -> None:
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES[genes])
    code = main(
        [
            "--home",
            str(home),
            "runner",
            "start",
            "--signals",
            str(artifact),
            "--params",
            str(params),
            "--replay",
            "--foreground",
        ]
    )
    assert code == 0
    expected = _backtest(home, artifact, params)
    settings = load_settings(home)
    got = runner_cmd.trades(settings)
    report = compare(expected, got)
    assert len(expected) > 20 and report.ok, report.diff.head().to_string()
    assert set(got["side"]) == {"long", "short"} and report.max_rel["pnl"] < 1e-9
    # every order the venue filled belongs to a recorded trade (an entry and an exit) or to a position still open
    paper = _paper(settings.state_dir)
    filled = [o for o in paper["orders"].values() if o["status"] == "filled"]
    assert len(filled) == 2 * len(got) + report.still_open
    assert main(["--home", str(home), "parity"]) == 0


def test_kill_9_anywhere_then_restart_gives_the_same_trades(tmp_path: Path, artifact: Path) -> None:
    """Killed at arbitrary points (intent written, sent, filled, protection armed...), restarted each time."""
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    env = {**os.environ, "AITRADE_HOME": str(home)}
    cmd = [
        sys.executable,
        "-m",
        "aitrade",
        "runner",
        "start",
        "--signals",
        str(artifact),
        "--params",
        str(params),
        "--replay",
        "--foreground",
        "--speed",
        "150",
    ]
    rng = random.Random(7)
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state = home / "state"

        def running(pid: int = proc.pid, state: Path = state) -> bool:
            try:
                beat = control.read_heartbeat(state) or control.Heartbeat()
            except StateFileError:
                return False
            return beat.pid == pid and beat.ticks >= 3

        _wait(lambda p=proc: running(p.pid) or p.poll() is not None, what="the runner ticking")
        time.sleep(rng.uniform(0.0, 0.4))  # somewhere between a decision and its protection
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert final.returncode == 0, final.stderr
    assert kills >= 3
    expected = _backtest(home, artifact, params)
    settings = load_settings(home)
    got = runner_cmd.trades(settings)
    report = compare(expected, got)
    assert report.ok, report.diff.head().to_string()
    paper = _paper(settings.state_dir)
    filled = [o for o in paper["orders"].values() if o["status"] == "filled"]
    assert len(filled) == 2 * len(got) + report.still_open  # no order twice
    ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
    starts = [e for e in ledger.events(1000) if e["kind"] == "start"]
    ledger.close()
    assert len(starts) == 5  # every process started by recovering; none double-sent


def test_kill_switch_flatten_pause_persistence_and_one_runner(tmp_path: Path, artifact: Path) -> None:
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    settings = load_settings(home)
    start = ["runner", "start", "--signals", str(artifact), "--params", str(params), "--replay", "--speed", "25"]
    first = _cli(home, *start)
    assert first.returncode == 0, first.stderr
    assert "runner started in the background: pid" in first.stdout
    try:
        second = _cli(home, *start)
        assert second.returncode == 2 and "in use by process" in second.stderr  # one runner per home
        _wait(lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).positions, what="a position")
        t0 = time.monotonic()
        killed = _cli(home, "kill", "--level", "flatten", "--reason", "test flatten")
        took = time.monotonic() - t0
        assert killed.returncode == 0, killed.stderr
        assert "confirmed" in killed.stdout
        kill = control.read_kill(settings.state_dir)
        assert kill.engaged and kill.flatten and kill.acted_at and kill.acted["state"] == "HALTED"
        _wait(
            lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).state == "HALTED", what="HALTED"
        )
        paper = _paper(settings.state_dir)
        assert all(float(p["qty"]) == 0 for p in paper["positions"].values())
        assert not paper["protections"]
        assert not [o for o in paper["orders"].values() if o["status"] == "new"]
        assert took < 30
        # a restarted runner stays halted
        assert _cli(home, "runner", "stop").returncode == 0
        again = _cli(home, *start)
        assert again.returncode == 0 and "state HALTED" in again.stdout
        trades_before = len(runner_cmd.trades(settings))
        time.sleep(1.5)
        assert len(runner_cmd.trades(settings)) == trades_before
        # released: the runner reconciles and trades again; pause then stops new entries
        refused = _cli(home, "unkill")
        assert refused.returncode == 2 and "--confirm" in refused.stderr
        assert _cli(home, "unkill", "--confirm").returncode == 0
        _wait(
            lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).state == "ACTIVE", what="ACTIVE"
        )
        paused = _cli(home, "kill", "--reason", "pause test")
        assert paused.returncode == 0 and "REDUCING" in paused.stdout
        ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
        armed_at = pd.Timestamp(control.read_kill(settings.state_dir).acted_at)
        time.sleep(1.5)
        entries = [i for i in ledger.open_intents()] + []
        late = ledger._rows(
            "SELECT count(*) FROM intents WHERE leg = 'entry' AND created > ?", (armed_at.isoformat(),)
        )[0][0]
        ledger.close()
        assert late == 0 and isinstance(entries, list)
        status = _cli(home, "runner", "status", "--json")
        assert status.returncode == 0 and json.loads(status.stdout)["state"] == "REDUCING"
    finally:
        _cli(home, "runner", "stop")
    assert runner_cmd.running_pid(settings) is None


def test_kill_without_a_runner_flattens_through_the_router(tmp_path: Path, artifact: Path) -> None:
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    assert (
        main(
            [
                "--home",
                str(home),
                "runner",
                "start",
                "--signals",
                str(artifact),
                "--params",
                str(params),
                "--replay",
                "--foreground",
                "--end",
                "2022-06-01",
            ]
        )
        == 0
    )
    settings = load_settings(home)
    before = _paper(settings.state_dir)
    assert main(["--home", str(home), "kill", "--level", "flatten", "--reason", "no runner"]) == 0
    after = _paper(settings.state_dir)
    assert all(float(p["qty"]) == 0 for p in after["positions"].values()) and not after["protections"]
    assert control.read_kill(settings.state_dir).acted_at is not None
    assert isinstance(before, dict)


@pytest.mark.parametrize("damage", ["deleted", "emptied"])
def test_a_lost_ledger_over_held_positions_refuses_a_fresh_session(
    tmp_path: Path, artifact: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    base = [
        "--home",
        str(home),
        "runner",
        "start",
        "--signals",
        str(artifact),
        "--params",
        str(params),
        "--replay",
        "--foreground",
    ]
    settings = load_settings(home)
    end = next(
        e
        for e in ("2022-03-01", "2022-03-15", "2022-04-01", "2022-05-01", "2022-06-01")
        if main([*base, "--end", e]) == 0 and runner_cmd.holdings_without_ledger(settings, "paper")
    )
    ledger = settings.state_dir / "trades.sqlite"
    for f in settings.state_dir.glob("trades.sqlite-*"):
        f.unlink()
    if damage == "deleted":
        ledger.unlink()
    else:
        ledger.write_bytes(b"")
    capsys.readouterr()
    assert main([*base, "--end", end]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hold positions AiTrade opened" in err[0] and "nothing started" in err[0]
    assert (ledger.exists() and ledger.stat().st_size == 0) or not ledger.exists()  # nothing written over it


def test_kill_of_a_stuck_runner_stops_it_by_pid_and_flattens_here(tmp_path: Path, artifact: Path) -> None:
    """SIGSTOPped runner: `aitrade kill --level flatten` waits its grace, stops the process, flattens itself."""
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    settings = load_settings(home)
    start = ["runner", "start", "--signals", str(artifact), "--params", str(params), "--replay", "--speed", "25"]
    assert _cli(home, *start).returncode == 0
    pid = runner_cmd.running_pid(settings)
    assert pid is not None
    try:
        _wait(lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).positions, what="a position")
        os.kill(pid, signal.SIGSTOP)
        out = kill_cmd.kill(settings, "flatten", "stuck runner", wait_s=1.0, grace_s=2.0)
        assert out["confirmed"] and out["stopped"] == pid and out["close_all"]["flat"], out
        assert runner_cmd.running_pid(settings) is None
        paper = _paper(settings.state_dir)
        assert all(float(p["qty"]) == 0 for p in paper["positions"].values()) and not paper["protections"]
        assert "stuck" in control.read_kill(settings.state_dir).acted["by"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--signals", "nowhere", "--replay"], "does not exist"),
        (["--signals", "model", "--replay"], "no promoted model"),
        (["--signals", "{run}", "--replay", "--source", "sample"], "go with --signals model"),
        (["--signals", "{run}"], "add --replay"),
        (["--signals", "{run}", "--replay", "--mode", "live"], "paper only"),
        (["--signals", "model", "--mode", "live"], "ALLOW_LIVE=1"),
        (["--signals", "model", "--start", "2024-01-01"], "go with --replay"),
        (["--signals", "{run}", "--replay", "--speed", "-1"], "--speed"),
        (["--signals", "{run}", "--replay", "--params", "{bad}"], "gene sl"),
        (["--signals", "{run}", "--replay", "--start", "2030-01-01", "--foreground"], "holds no bars"),
    ],
)
def test_bad_starts_are_one_line_and_send_nothing(
    tmp_path: Path, artifact: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sl": -1}))
    filled = [a.format(run=artifact, bad=bad) for a in args]
    assert main(["--home", str(home), "runner", "start", *filled]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (home / "state" / "paper_bitget.sqlite").exists()


def test_a_corrupt_kill_switch_counts_as_armed_and_another_session_is_refused(
    tmp_path: Path, artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    state = home / "state"
    state.mkdir()
    (state / "kill_switch.json").write_text("{not json")
    kill = control.read_kill(state)
    assert kill.engaged and kill.flatten and kill.unreadable
    (state / "runner_heartbeat.json").write_text("[1, 2")
    assert main(["--home", str(home), "runner", "status"]) == 0
    out = capsys.readouterr().out
    assert "heartbeat unreadable" in out and "ARMED (flatten)" in out
    (state / "kill_switch.json").unlink()
    (state / "runner_heartbeat.json").unlink()
    params = _params(tmp_path, GENOMES["trailing"])
    base = [
        "--home",
        str(home),
        "runner",
        "start",
        "--signals",
        str(artifact),
        "--params",
        str(params),
        "--replay",
        "--foreground",
    ]
    assert main([*base, "--end", "2022-03-01"]) == 0
    capsys.readouterr()
    assert main([*base, "--end", "2022-04-01"]) == 2
    assert "another runner session" in capsys.readouterr().err
    assert main([*base, "--end", "2022-04-01", "--reset"]) == 0
    assert list((state / "archive").iterdir())


def test_the_demos_paper_replay_keeps_its_state_apart_and_matches(tmp_path: Path, artifact: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    settings = load_settings(home)
    params = _params(tmp_path, GENOMES["trailing"])
    out = runner_cmd.paper_replay(settings, artifact, params, tmp_path / "replay", start="2022-02-01", end="2022-04-01")
    assert out["ok"] and out["session_trades"] > 5 and out["finished"]
    assert not (home / "state").exists()  # the user's state is untouched
    assert (tmp_path / "replay" / "state" / "trades.sqlite").exists() and (tmp_path / "replay" / "parity.csv").exists()


async def _sell_by_hand(state: Path, symbol: str, qty: str) -> None:
    from decimal import Decimal  # noqa: PLC0415

    from aitrade.brokers.base import OrderRequest, Side  # noqa: PLC0415
    from aitrade.brokers.quotes import PaperPrices  # noqa: PLC0415
    from aitrade.brokers.simulated import SimulatedBroker  # noqa: PLC0415
    from aitrade.costs import costs_for  # noqa: PLC0415

    prices = PaperPrices(None)
    sim = SimulatedBroker("bitget-paper", state / "paper_bitget.sqlite", prices, costs_for("crypto"), bars_only=True)
    prices.broker = sim
    await sim.connect()
    await sim.place_order(OrderRequest(symbol, Side.SELL, Decimal(qty), "manual-1"))  # the user's own order
    await sim.close()


def test_a_position_sold_by_hand_while_the_runner_was_down_is_followed(tmp_path: Path, artifact: Path) -> None:
    import asyncio  # noqa: PLC0415

    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text("MAX_OPEN_POSITIONS=50\nMAX_DAILY_DRAWDOWN=0.99\n")  # spot: long only
    params = _params(tmp_path, GENOMES["trailing"])
    settings = load_settings(home)
    for end in ("2022-02-10", "2022-02-11", "2022-02-12", "2022-02-14", "2022-02-16", "2022-02-18"):
        runner_cmd.reset_session(settings)
        args = [
            "--home",
            str(home),
            "runner",
            "start",
            "--signals",
            str(artifact),
            "--params",
            str(params),
            "--replay",
            "--foreground",
            "--end",
            end,
        ]
        assert main(args) == 0
        ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
        held = [b for b in ledger.books().values() if b.state.mode == OPEN]
        ledger.close()
        if held:
            break
    assert held, "no run left a position open"
    book = held[0]
    asyncio.run(_sell_by_hand(settings.state_dir, book.symbol, repr(book.state.qty)))
    trades_before = len(runner_cmd.trades(settings))
    assert main(args) == 0  # the same session resumes: recovery follows the venue
    ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
    after = ledger.books()[book.symbol]
    kinds = [e["kind"] for e in ledger.events(50)]
    ledger.close()
    assert after.state.mode == FLAT and "external_close" in kinds
    trades = runner_cmd.trades(settings)
    assert len(trades) == trades_before + 1 and (trades["exit_reason"] == "external").sum() == 1
    paper = _paper(settings.state_dir)
    assert paper["orders"]["manual-1"]["status"] == "filled" and not paper["protections"]


def test_close_all_with_a_runner_alive_is_delegated_and_settings_are_picked_up(tmp_path: Path, artifact: Path) -> None:
    from aitrade.config import save_runtime_settings  # noqa: PLC0415

    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    settings = load_settings(home)
    start = ["runner", "start", "--signals", str(artifact), "--params", str(params), "--replay", "--speed", "20"]
    assert _cli(home, *start).returncode == 0
    try:
        _wait(lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).ticks > 3, what="ticks")
        save_runtime_settings(settings, {"RISK_PER_TRADE": 0.01, "MAX_OPEN_POSITIONS": 7, "EXECUTION_MODE": "live"})
        _wait(
            lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).settings_applied_at is not None,
            what="the runtime settings picked up",
        )
        beat = control.read_heartbeat(settings.state_dir) or control.Heartbeat()
        assert beat.limits["risk_per_trade"] == 0.01 and beat.limits["max_open_positions"] == 7
        ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
        applied = [e for e in ledger.events(200) if e["kind"] == "settings"]
        ledger.close()
        assert applied and "needs_restart" in applied[0]["detail"]  # a mode change waits for a restart
        _wait(lambda: (control.read_heartbeat(settings.state_dir) or control.Heartbeat()).positions, what="a position")
        done = _cli(home, "close-all", "--confirm")
        assert done.returncode == 0 and "delegated to the runner" in done.stdout, done.stdout + done.stderr
        kill = control.read_kill(settings.state_dir)
        assert kill.flatten and kill.acted_at and kill.reason.startswith("close-all")
        paper = _paper(settings.state_dir)
        assert all(float(p["qty"]) == 0 for p in paper["positions"].values())
    finally:
        _cli(home, "runner", "stop")


def test_a_daily_drawdown_beyond_the_limit_pauses_the_runner(tmp_path: Path, artifact: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text("MAX_OPEN_POSITIONS=50\nBITGET_MARKET=futures\nMAX_DAILY_DRAWDOWN=0.004\n")
    params = _params(tmp_path, GENOMES["trailing"])
    assert (
        main(
            [
                "--home",
                str(home),
                "runner",
                "start",
                "--signals",
                str(artifact),
                "--params",
                str(params),
                "--replay",
                "--foreground",
            ]
        )
        == 0
    )
    settings = load_settings(home)
    kill = control.read_kill(settings.state_dir)
    assert kill.engaged and kill.level == "pause" and "daily drawdown" in kill.reason and kill.acted_at
    beat = control.read_heartbeat(settings.state_dir) or control.Heartbeat()
    assert beat.state == "REDUCING"
    ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
    when = next(e["time"] for e in ledger.events(5000) if e["kind"] == "kill")
    late = ledger._rows("SELECT count(*) FROM intents WHERE leg = 'entry' AND created > ?", (when,))[0][0]
    ledger.close()
    assert late == 0  # no entry after the guard tripped; exits went on


async def test_a_venue_without_native_stops_is_protected_by_the_runner(tmp_path: Path, artifact: Path) -> None:
    import aiohttp  # noqa: PLC0415

    from aitrade.brokers.quotes import PaperPrices  # noqa: PLC0415
    from aitrade.brokers.simulated import SimulatedBroker  # noqa: PLC0415
    from aitrade.costs import costs_for  # noqa: PLC0415
    from aitrade.router import Router  # noqa: PLC0415
    from aitrade.runner.engine import Runner  # noqa: PLC0415

    home = _home(tmp_path)
    settings = load_settings(home)
    params = _params(tmp_path, GENOMES["trailing"])
    config, feed = runner_cmd.prepare(
        settings,
        signals=str(artifact),
        params=str(params),
        mode="paper",
        replay=True,
        capital=1000.0,
        long_only=False,
        start=None,
        end="2022-03-01",
        speed=0.0,
    )
    prices = PaperPrices(None)
    sim = SimulatedBroker(
        "bitget-paper",
        settings.state_dir / "paper_bitget.sqlite",
        prices,
        costs_for("crypto"),
        bars_only=True,
        native_protections=False,
    )
    prices.broker = sim
    ledger = TradeLedger(settings.state_dir / "trades.sqlite")
    async with aiohttp.ClientSession() as http:
        router = Router(
            settings,
            http,
            mode="paper",
            symbols=list(config.rules),
            routing=dict.fromkeys(config.rules, "bitget"),
            brokers={"bitget": sim},
        )
        async with router:
            await Runner(config, router, ledger, settings.state_dir, feed).run()
    trades = pd.DataFrame(ledger.trades())
    kinds = [e["kind"] for e in ledger.events(5000)]
    ledger.close()
    assert len(trades) > 10 and "synthetic_exit" in kinds
    assert {"sl", "tp"} <= set(trades["exit_reason"]) or {"sl", "trail"} <= set(trades["exit_reason"])
    paper = _paper(settings.state_dir)
    assert not paper["protections"]  # nothing was held at the venue
    assert all(o["client_id"].startswith("at-") for o in paper["orders"].values())


def _market(seed: int, n: int, symbols: tuple[str, ...]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    frames = []
    for sym in symbols:
        c = 100 * np.exp(np.cumsum(rng.standard_t(4, n) * 0.01))
        o = np.r_[c[0], c[:-1]] * np.exp(rng.normal(0, 0.002, n))  # gaps at the open
        hi = np.maximum(o, c) * (1 + np.abs(rng.normal(0, 0.004, n)))
        lo = np.minimum(o, c) * (1 - np.abs(rng.normal(0, 0.004, n)))
        pl = rng.uniform(0, 0.95, n)
        frames.append(
            pd.DataFrame(
                {
                    "symbol": sym,
                    "ts": idx,
                    "p_long": pl,
                    "p_short": rng.uniform(0, 1 - pl),
                    "regime": 0,
                    "open": o,
                    "high": hi,
                    "low": lo,
                    "close": c,
                    "atr": c * rng.uniform(0.004, 0.02),
                    "fold": 0,
                }
            )
        )
    return pd.concat(frames)


@settings_(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    sl=st.floats(0.3, 3.0),
    tp=st.floats(0.5, 4.0),
    conf=st.floats(0.4, 0.8),
    pullback=st.floats(0.0, 1.0),
    fill_wait=st.integers(1, 5),
    max_hold=st.integers(2, 60),
    trail_act=st.floats(0.2, 5.0),
    trail_off=st.floats(0.1, 2.0),
    vol_exit=st.floats(1.0, 8.0),
    abort=st.floats(0.3, 1.0),
)
def test_replay_parity_over_generated_markets(
    tmp_path_factory: pytest.TempPathFactory, seed: int, **genes: float
) -> None:
    root = tmp_path_factory.mktemp("gen")
    home = _home(root)
    frame = _market(seed, 400, ("BTCUSDT", "ETHUSDT"))
    run = root / "sig"
    write_signals(run, frame, {"mode": "test", "synthetic": ["BTCUSDT", "ETHUSDT"]})
    params = _params(root, genes)
    assert (
        main(
            [
                "--home",
                str(home),
                "runner",
                "start",
                "--signals",
                str(run),
                "--params",
                str(params),
                "--replay",
                "--foreground",
            ]
        )
        == 0
    )
    expected = _backtest(home, run, params)
    report = compare(expected, runner_cmd.trades(load_settings(home)))
    assert report.ok, report.diff.head().to_string()


@pytest.mark.parametrize(
    ("point", "nth"), [("intent_written", 7), ("order_sent", 9), ("fill_seen", 5), ("protection_placed", 3)]
)
def test_killed_at_each_point_between_decision_and_protection(
    tmp_path: Path, artifact: Path, point: str, nth: int
) -> None:
    """SIGKILL at a named point (the n-th time it is reached), then a restart: the backtest's trades, no order
    twice, every open position protected once the restarted runner has reconciled."""
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    cmd = [
        sys.executable,
        "-m",
        "aitrade",
        "runner",
        "start",
        "--signals",
        str(artifact),
        "--params",
        str(params),
        "--replay",
        "--foreground",
    ]
    env = {**os.environ, "AITRADE_HOME": str(home)}
    died = subprocess.run(
        cmd,
        env={**env, "AITRADE_FAILPOINT": f"{point}:{nth}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    settings = load_settings(home)
    expected = _backtest(home, artifact, params)
    got = runner_cmd.trades(settings)
    report = compare(expected, got)
    assert report.ok, report.diff.head().to_string()
    paper = _paper(settings.state_dir)
    filled = [o for o in paper["orders"].values() if o["status"] == "filled"]
    assert len(filled) == 2 * len(got) + report.still_open
    ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
    open_books = [b for b in ledger.books().values() if b.state.mode == OPEN]
    ledger.close()
    held = {p["symbol"] for p in paper["protections"].values() if p["kind"] == "stop_loss"}
    assert all(b.symbol in held for b in open_books)


def test_killed_in_the_middle_of_a_flatten_finishes_it_on_restart(tmp_path: Path, artifact: Path) -> None:
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    settings = load_settings(home)
    env = {**os.environ, "AITRADE_HOME": str(home)}
    base = [
        sys.executable,
        "-m",
        "aitrade",
        "runner",
        "start",
        "--signals",
        str(artifact),
        "--params",
        str(params),
        "--replay",
        "--foreground",
        "--speed",
        "20",
    ]
    proc = subprocess.Popen(
        base, env={**env, "AITRADE_FAILPOINT": "flatten"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait(
            lambda: len((control.read_heartbeat(settings.state_dir) or control.Heartbeat()).positions or []) >= 2,
            what="two positions",
        )
        control.arm(settings.state_dir, "flatten", "mid-flatten test")
        assert proc.wait(timeout=60) == -signal.SIGKILL  # died after closing the first book
    finally:
        if proc.poll() is None:
            proc.kill()
    assert control.read_kill(settings.state_dir).acted_at is None  # not confirmed: it did not finish
    again = subprocess.Popen(base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: control.read_kill(settings.state_dir).acted_at is not None, what="the flatten confirmed")
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)
    paper = _paper(settings.state_dir)
    assert all(float(p["qty"]) == 0 for p in paper["positions"].values()) and not paper["protections"]
    ledger = TradeLedger(settings.state_dir / "trades.sqlite", read_only=True)
    assert all(b.state.mode == FLAT for b in ledger.books().values())
    ledger.close()


async def test_a_slow_venue_holds_up_only_its_own_symbols(tmp_path: Path, artifact: Path) -> None:
    import asyncio  # noqa: PLC0415
    from decimal import Decimal  # noqa: PLC0415

    import aiohttp  # noqa: PLC0415

    from aitrade.brokers.quotes import PaperPrices  # noqa: PLC0415
    from aitrade.brokers.simulated import SimulatedBroker  # noqa: PLC0415
    from aitrade.costs import costs_for  # noqa: PLC0415
    from aitrade.router import Router  # noqa: PLC0415
    from aitrade.runner.engine import Runner  # noqa: PLC0415

    starts: dict[str, list[float]] = {"slow": [], "fast": []}

    class Timed(SimulatedBroker):
        delay = 0.0

        async def on_bar(self, symbol: str, high: Decimal, low: Decimal, close: Decimal, **kw: object) -> list[str]:
            starts[self.name].append(asyncio.get_running_loop().time())
            await asyncio.sleep(self.delay)
            return await super().on_bar(symbol, high, low, close, **kw)  # type: ignore[arg-type]

    home = _home(tmp_path)
    settings = load_settings(home)
    params = _params(tmp_path, GENOMES["trailing"])
    config, feed = runner_cmd.prepare(
        settings,
        signals=str(artifact),
        params=str(params),
        mode="paper",
        replay=True,
        capital=1000.0,
        long_only=False,
        start=None,
        end="2022-01-05",
        speed=0.0,
    )
    sims = {}
    for name, delay in (("slow", 0.2), ("fast", 0.0)):
        prices = PaperPrices(None)
        sim = Timed(name, settings.state_dir / f"paper_{name}.sqlite", prices, costs_for("crypto"), bars_only=True)
        sim.delay, prices.broker = delay, sim
        sims[name] = sim
    ledger = TradeLedger(settings.state_dir / "trades.sqlite")
    async with aiohttp.ClientSession() as http:
        routing = {"BTCUSDT": "slow", "ETHUSDT": "fast"}  # BTCUSDT comes first in a tick
        router = Router(settings, http, mode="paper", symbols=list(routing), routing=routing, brokers=sims)
        async with router:
            await Runner(config, router, ledger, settings.state_dir, feed).run()
    ledger.close()
    pairs = list(zip(starts["slow"], starts["fast"], strict=True))
    assert len(pairs) >= 8
    assert all(fast - slow < 0.1 for slow, fast in pairs)  # the fast venue did not wait for the slow one


def test_the_monitor_snapshot_reads_what_the_runner_left(tmp_path: Path, artifact: Path) -> None:
    from aitrade.commands import monitor  # noqa: PLC0415

    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    settings = load_settings(home)
    empty = monitor.snapshot(settings)
    assert not empty.alive and empty.staleness == "none" and not empty.positions and empty.equity.empty
    for end in ("2022-02-10", "2022-02-11", "2022-02-12", "2022-02-14", "2022-02-16", "2022-02-18"):
        runner_cmd.reset_session(settings)
        assert (
            main(
                [
                    "--home",
                    str(home),
                    "runner",
                    "start",
                    "--signals",
                    str(artifact),
                    "--params",
                    str(params),
                    "--replay",
                    "--foreground",
                    "--end",
                    end,
                ]
            )
            == 0
        )
        snap = monitor.snapshot(settings)
        if snap.positions:
            break
    pos = snap.positions[0]
    assert pos["last"] is not None and pos["unrealised_pnl"] == pytest.approx(
        (1 if pos["side"] == "long" else -1) * (pos["last"] - pos["entry"]) * pos["quantity"]
    )
    assert pos["stop"] < pos["last"] if pos["side"] == "long" else pos["stop"] > pos["last"]  # not hit: still open
    trades = runner_cmd.trades(settings)
    assert len(snap.equity) == len(trades) and snap.equity.iloc[-1] == pytest.approx(1000 + trades["pnl"].sum())
    assert snap.staleness == "ended" and snap.state == "ACTIVE" and not snap.kill["engaged"] and snap.events
    (settings.state_dir / "runner_heartbeat.json").write_text("{oops")
    broken = monitor.snapshot(settings)
    assert broken.problems and "heartbeat unreadable" in broken.problems[0] and broken.positions


def test_reset_never_archives_a_session_a_runner_holds(tmp_path: Path) -> None:
    home = _home(tmp_path)
    settings = load_settings(home)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / "trades.sqlite").write_bytes(b"a session in use")
    held = runner_cmd.runner_lock(settings)
    held.acquire("runner")
    try:
        with pytest.raises(UserError, match="stop it before --reset"):
            runner_cmd.reset_session(settings)
        assert (settings.state_dir / "trades.sqlite").exists() and not (settings.state_dir / "archive").exists()
    finally:
        held.release()
    assert runner_cmd.reset_session(settings) is not None and not (settings.state_dir / "trades.sqlite").exists()


def test_parity_calls_a_trade_booked_twice_different() -> None:
    from aitrade.runner.parity import compare  # noqa: PLC0415

    row = {
        "symbol": "BTCUSDT",
        "side": "long",
        "entry_time": "2024-01-01T00:00:00Z",
        "entry_price": 100.0,
        "exit_time": "2024-01-02T00:00:00Z",
        "exit_price": 110.0,
        "quantity": 1.0,
        "fees": 0.1,
        "pnl": 9.9,
        "exit_reason": "tp",
    }
    backtest = pd.DataFrame([row])
    assert compare(backtest, pd.DataFrame([row])).ok
    twice = compare(backtest, pd.DataFrame([row, row]))
    assert not twice.ok and twice.duplicated == 1 and twice.matched == 1
    assert "booked twice" in twice.summary() and "DIFFERENT" in twice.summary()
    assert list(twice.diff["problem"]) == ["booked twice"]


def test_open_books_over_a_deleted_paper_account_are_refused_in_one_line(
    tmp_path: Path, artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home(tmp_path)
    params = _params(tmp_path, GENOMES["trailing"])
    base = [
        "--home",
        str(home),
        "runner",
        "start",
        "--signals",
        str(artifact),
        "--params",
        str(params),
        "--replay",
        "--foreground",
        "--end",
        "2022-03-01",
    ]
    assert main(base) == 0
    settings = load_settings(home)
    assert kill_cmd.held_symbols(settings)  # the session holds open books
    for f in settings.state_dir.glob("paper_*"):
        f.unlink()
    capsys.readouterr()
    assert main(base) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "paper account state/paper_bitget.sqlite is missing" in err[0]
    assert not control.read_kill(settings.state_dir).engaged  # refused before anything, nothing armed
