"""The kill-switch file never fails open: only ``aitrade unkill --confirm`` releases it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aitrade.runner import control


@pytest.mark.parametrize("content", ["", "{}", '{"level": "pause"}', "{not json", "[]"])
def test_an_emptied_or_cut_kill_file_counts_as_armed(tmp_path: Path, content: str) -> None:
    control.arm(tmp_path, "flatten", "test")
    (tmp_path / control.KILL_FILE).write_text(content)
    kill = control.read_kill(tmp_path)
    assert kill.engaged and kill.flatten and kill.unreadable


def test_no_file_is_not_armed_and_a_release_is_explicit(tmp_path: Path) -> None:
    assert not control.read_kill(tmp_path).engaged
    control.arm(tmp_path, "pause", "test")
    assert control.read_kill(tmp_path).engaged
    control.release(tmp_path)
    assert not control.read_kill(tmp_path).engaged
