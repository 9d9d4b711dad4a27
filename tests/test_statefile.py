"""Atomic state files: never half-written, corrupt files kept aside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aitrade.errors import StateFileError
from aitrade.statefile import atomic_write, atomic_write_json, read_json, read_json_object


def test_round_trip_and_no_temp_left(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "kill_switch.json"
    atomic_write_json(path, {"enabled": True, "reason": "manual"})
    assert read_json(path) == {"enabled": True, "reason": "manual"}
    assert [p.name for p in path.parent.iterdir()] == ["kill_switch.json"]


def test_failed_write_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "protections.json"
    atomic_write_json(path, {"BTCUSDT": {"sl": 1.0}})

    def crash(tmp: Path) -> None:
        tmp.write_text('{"BTCUSDT": {"sl"')  # half a document, then the process "dies"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, crash)
    assert json.loads(path.read_text()) == {"BTCUSDT": {"sl": 1.0}}
    assert [p.name for p in tmp_path.iterdir()] == ["protections.json"]


def test_missing_file_gives_default(tmp_path: Path) -> None:
    assert read_json(tmp_path / "none.json", {"a": 1}) == {"a": 1}


@pytest.mark.parametrize("content", [b"{trunc", b"\xff\xfe\x00", b""])
def test_corrupt_file_is_an_error_and_moved_aside(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "protections.json"
    path.write_bytes(content)
    with pytest.raises(StateFileError) as err:
        read_json(path)
    assert "protections.json" in str(err.value) and "moved aside" in str(err.value)
    assert not path.exists()
    aside = list(tmp_path.glob("protections.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content


def test_object_required(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("[1, 2]")
    with pytest.raises(StateFileError, match="JSON object"):
        read_json_object(path)
    assert list(tmp_path.glob("state.json.corrupt-*"))
