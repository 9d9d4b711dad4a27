"""The files through which the runner and its supervisors talk: the kill switch and the heartbeat.

* ``state/kill_switch.json``: armed by ``aitrade kill`` (or the control room,
  or the runner itself on an automatic trigger) with a level, ``pause`` (no
  new entries; exits and protections go on) or ``flatten`` (cancel AiTrade's
  orders and protections, close its positions, halt), and a reason. The
  runner confirms by writing ``acted_at`` and what it did. It stays armed
  across restarts until ``aitrade unkill --confirm`` releases it. A file that
  cannot be read counts as armed at ``flatten``: a kill switch never fails
  open.
* ``state/runner_heartbeat.json``: written atomically every tick.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aitrade.errors import StateFileError, UserError
from aitrade.redact import redact_json
from aitrade.runner.seams import JsonMap, JsonObject, text
from aitrade.statefile import atomic_write_json, read_json_object

KILL_FILE = "kill_switch.json"
HEARTBEAT_FILE = "runner_heartbeat.json"
LEVELS = ("pause", "flatten")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class KillSwitch:
    engaged: bool = False
    level: str = "pause"
    reason: str = ""
    armed_at: str | None = None
    armed_by: str = ""
    acted_at: str | None = None  # when the runner confirmed
    acted: JsonObject = field(default_factory=dict)  # what it did
    released_at: str | None = None
    unreadable: str | None = None  # why the file could not be read (then it counts as armed)

    @property
    def blocks_entries(self) -> bool:
        return self.engaged

    @property
    def flatten(self) -> bool:
        return self.engaged and self.level == "flatten"


def read_kill(state_dir: Path) -> KillSwitch:
    path = Path(state_dir) / KILL_FILE
    try:
        data = read_json_object(path, {}, move_aside=False)
        if path.exists() and "engaged" not in data:  # emptied or cut: only unkill --confirm releases the switch
            raise StateFileError(f"state file {path} does not say whether the switch is engaged")
        known = {k: data[k] for k in KillSwitch.__dataclass_fields__ if k in data and k != "unreadable"}
        kill = KillSwitch(**known)
        if kill.level not in LEVELS:
            raise StateFileError(f"state file {path}: unknown kill level {kill.level!r}")
        return kill
    except (StateFileError, TypeError) as exc:
        return KillSwitch(True, "flatten", "the kill-switch file cannot be read", unreadable=str(exc))


def arm(state_dir: Path, level: str, reason: str, *, by: str = "") -> KillSwitch:
    if level not in LEVELS:
        raise UserError(f"kill level {level!r}: choose one of {', '.join(LEVELS)}")
    reason = " ".join(str(reason).split())
    if not reason:
        raise UserError("the kill switch needs a reason (--reason TEXT)")
    current = read_kill(state_dir)
    if current.engaged and not current.unreadable and current.level == "flatten" and level == "pause":
        level = "flatten"  # arming never weakens an engaged flatten
    kill = KillSwitch(True, level, reason, _now(), by or f"pid {os.getpid()}")
    atomic_write_json(Path(state_dir) / KILL_FILE, asdict(kill))
    return kill


def confirm(state_dir: Path, kill: KillSwitch, acted: JsonMap) -> KillSwitch:
    """The runner's confirmation that it acted on ``kill`` (written only if the switch was not re-armed since)."""
    current = read_kill(state_dir)
    if current.armed_at != kill.armed_at or current.unreadable:
        return current
    done = KillSwitch(**{**asdict(current), "acted_at": _now(), "acted": redact_json(acted)})
    atomic_write_json(Path(state_dir) / KILL_FILE, asdict(done))
    return done


def release(state_dir: Path) -> KillSwitch:
    kill = KillSwitch(False, "pause", "", released_at=_now())
    atomic_write_json(Path(state_dir) / KILL_FILE, asdict(kill))
    return kill


# --- heartbeat -------------------------------------------------------------------------------------
def write_heartbeat(state_dir: Path, beat: JsonMap) -> None:
    atomic_write_json(Path(state_dir) / HEARTBEAT_FILE, redact_json({**beat, "time": _now()}))


def read_heartbeat(state_dir: Path) -> JsonObject | None:
    """The last heartbeat, or None when there is none; a corrupt file raises :class:`StateFileError`."""
    path = Path(state_dir) / HEARTBEAT_FILE
    if not path.exists():
        return None
    return read_json_object(path, {}, move_aside=False)


def heartbeat_age(beat: JsonObject) -> float:
    """Seconds since the heartbeat was written."""
    return (datetime.now(UTC) - datetime.fromisoformat(text(beat["time"]) or "")).total_seconds()
