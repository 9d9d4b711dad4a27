"""Secrets never reach a state file, and the files the runner writes are owner-only."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from aitrade.commands.doctor import local_checks
from aitrade.config import load_settings
from aitrade.runner import control
from aitrade.runner.ledger import TradeLedger

KEY, PASSPHRASE = "bg-live-key-7Q2Z", "pp-live-9XK1"


def test_an_echoed_header_never_reaches_the_ledger_the_heartbeat_or_the_kill_file(tmp_path: Path) -> None:
    home = tmp_path
    (home / ".env").write_text(
        f"BITGET_API_KEY={KEY}\nBITGET_API_PASSPHRASE={PASSPHRASE}\nBITGET_API_SECRET=s3cr3t-x\n"
    )
    os.chmod(home / ".env", 0o600)
    settings = load_settings(home)
    state = settings.state_dir
    echo = f"Invalid request; headers were {{'ACCESS-KEY': '{KEY}', 'ACCESS-PASSPHRASE': '{PASSPHRASE}'}}"
    with TradeLedger(state / "trades.sqlite") as ledger:
        ledger.event("error", "BTCUSDT", {"error": echo, "plain": f"key {KEY} in a sentence"})
    control.write_heartbeat(state, control.Heartbeat(last_error=echo))
    kill = control.arm(state, "flatten", "test")
    control.confirm(state, kill, {"errors": [echo]})
    files = [p for p in state.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert KEY.encode() not in data and PASSPHRASE.encode() not in data, path
    assert json.loads((state / control.HEARTBEAT_FILE).read_text())["last_error"].count("****") >= 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))


def test_doctor_flags_a_world_readable_env_holding_keys(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"BITGET_API_KEY={KEY}\n")
    os.chmod(tmp_path / ".env", 0o644)
    checks = {c.name: c for c in local_checks(load_settings(tmp_path))}
    assert checks[".env permissions"].status == "fail" and "chmod 600" in checks[".env permissions"].detail
    os.chmod(tmp_path / ".env", 0o600)
    assert ".env permissions" not in {c.name for c in local_checks(load_settings(tmp_path))}


def test_state_databases_are_created_owner_only_and_memory_stays_in_memory(tmp_path: Path, monkeypatch) -> None:
    from aitrade.sqlitedb import connect  # noqa: PLC0415

    monkeypatch.chdir(tmp_path)
    connect(":memory:", 1.0).close()
    assert not (tmp_path / ":memory:").exists()
    db = connect(tmp_path / "deep" / "x.sqlite", 1.0)
    db.execute("CREATE TABLE t (a)")
    db.close()
    assert stat.S_IMODE((tmp_path / "deep" / "x.sqlite").stat().st_mode) == 0o600
