"""The files through which the runner and its supervisors talk: the kill switch and the heartbeat.

* ``state/kill_switch.json``: armed by ``aitrade kill`` (or the control room,
  or the runner itself on an automatic trigger) with a level, ``pause`` (no
  new entries; exits and protections go on) or ``flatten`` (cancel AiTrade's
  orders and protections, close its positions, halt), and a reason. The
  runner confirms by writing ``acted_at`` and what it did. It stays armed
  across restarts until ``aitrade unkill --confirm`` releases it. A file that
  cannot be read counts as armed at ``flatten``: a kill switch never fails
  open.
* ``state/force_exit/<id>.json``: a request to close one position now (the
  kill switch's path for one symbol: its close first, its protections once
  filled), with a reason; the runner confirms in the same file, or, with no
  runner alive, the command that made it closes the position through the router.
  One file per request: the writer never edits it, the runner only confirms it.
* ``state/runner_heartbeat.json``: written atomically every tick.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from aitrade.errors import StateFileError, UserError
from aitrade.redact import redact_json
from aitrade.runner.seams import JsonMap, JsonObject, items, num, obj, text
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


# --- force exit of one position ---------------------------------------------------------------------
FORCE_DIR = "force_exit"


@dataclass(frozen=True)
class ForceExit:
    """A request to close one symbol's position now, and (once done) what the venue said."""

    id: str
    symbol: str
    reason: str
    requested_at: str
    by: str = ""
    done_at: str | None = None
    result: JsonObject = field(default_factory=dict)


def request_exit(state_dir: Path, symbol: str, reason: str, *, by: str = "") -> ForceExit:
    """Write a force-exit request (atomic, one file); a reason is required."""
    reason = " ".join(str(reason).split())
    symbol = str(symbol).strip().upper()
    if not symbol:
        raise UserError("name the symbol whose position to close")
    if not reason:
        raise UserError("a force exit needs a reason (it goes into the ledger and the alert)")
    stamp = datetime.now(UTC)
    req = ForceExit(f"{stamp:%Y%m%dT%H%M%S%f}-{symbol}", symbol, reason, stamp.isoformat(), by or f"pid {os.getpid()}")
    folder = Path(state_dir) / FORCE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / f"{req.id}.json", asdict(req))
    return req


def read_exit(state_dir: Path, request_id: str) -> ForceExit | None:
    path = Path(state_dir) / FORCE_DIR / f"{request_id}.json"
    if not path.exists():
        return None
    data = read_json_object(path, {}, move_aside=False)
    known = {k: data[k] for k in ForceExit.__dataclass_fields__ if k in data}
    try:
        return ForceExit(**known)
    except TypeError as exc:
        raise StateFileError(f"state file {path} is not a force-exit request: {exc}") from None


def pending_exits(state_dir: Path) -> list[ForceExit]:
    """Requests not yet done, oldest first (a file that cannot be read is skipped here and reported by its reader)."""
    folder = Path(state_dir) / FORCE_DIR
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            req = read_exit(state_dir, path.stem)
        except StateFileError:
            continue
        if req is not None and req.done_at is None:
            out.append(req)
    return out


def confirm_exit(state_dir: Path, req: ForceExit, result: JsonMap) -> ForceExit:
    """Record what closing it did (the venue's word); done once."""
    done = replace(req, done_at=_now(), result=redact_json(dict(result)))
    atomic_write_json(Path(state_dir) / FORCE_DIR / f"{req.id}.json", asdict(done))
    return done


# --- heartbeat -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Held:
    """An open position as the runner's book holds it."""

    symbol: str
    side: str  # "long" | "short"
    quantity: float
    entry: float
    stop: float
    target: float
    protected: bool  # the book holds a stop (at the venue, or watched by the runner where the venue holds none)


@dataclass(frozen=True)
class Coverage:
    """How many open positions the runner's books hold, how many of them protected, seconds ever without."""

    open: int = 0
    protected: int = 0
    seconds_uncovered: float = 0.0


@dataclass(frozen=True)
class Heartbeat:
    """What the runner says of itself, written atomically every tick (what the CLI and the control room read).

    ``time`` is stamped by :func:`write_heartbeat`. A file of an older AiTrade reads with defaults for what it
    lacks.
    """

    pid: int | None = None
    mode: str = ""
    feed: str = ""
    phase: str = ""  # running | finished | stopped
    state: str = ""  # ACTIVE | REDUCING | HALTED
    ticks: int = 0
    last_bar: dict[str, str] = field(default_factory=dict)
    positions: tuple[Held, ...] = ()
    pending: int = 0
    coverage: Coverage = Coverage()
    last_error: str | None = None
    kill: JsonObject = field(default_factory=dict)
    equity: float = 0.0
    day_start_equity: float = 0.0
    last_close: dict[str, float] = field(default_factory=dict)
    settings_applied_at: str | None = None
    limits: JsonObject = field(default_factory=dict)
    realised_cash: float | None = None
    time: str | None = None

    @property
    def age_s(self) -> float | None:
        """Seconds since it was written (None before it was)."""
        if self.time is None:
            return None
        return (datetime.now(UTC) - datetime.fromisoformat(self.time)).total_seconds()

    @property
    def ended(self) -> bool:
        return self.phase in ("finished", "stopped")

    def to_json(self) -> JsonObject:
        data: JsonObject = {**asdict(self)}
        data["positions"] = [asdict(p) for p in self.positions]
        return data

    @classmethod
    def from_json(cls, data: JsonObject) -> Heartbeat:
        pid = data.get("pid")
        cover = obj(data.get("coverage"))
        positions = tuple(
            Held(
                symbol=text(p.get("symbol")) or "",
                side=text(p.get("side")) or "",
                quantity=num(p.get("quantity")),
                entry=num(p.get("entry")),
                stop=num(p.get("stop"), math.nan),
                target=num(p.get("target"), math.nan),
                protected=bool(p.get("protected")),
            )
            for p in map(obj, items(data.get("positions")))
        )
        cash = data.get("realised_cash")
        return cls(
            pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
            mode=text(data.get("mode")) or "",
            feed=text(data.get("feed")) or "",
            phase=text(data.get("phase")) or "",
            state=text(data.get("state")) or "",
            ticks=int(num(data.get("ticks"))),
            last_bar={k: v for k, v in obj(data.get("last_bar")).items() if isinstance(v, str)},
            positions=positions,
            pending=int(num(data.get("pending"))),
            coverage=Coverage(
                int(num(cover.get("open"))), int(num(cover.get("protected"))), num(cover.get("seconds_uncovered"))
            ),
            last_error=text(data.get("last_error")),
            kill=obj(data.get("kill")),
            equity=num(data.get("equity")),
            day_start_equity=num(data.get("day_start_equity")),
            last_close={k: num(v) for k, v in obj(data.get("last_close")).items()},
            settings_applied_at=text(data.get("settings_applied_at")),
            limits=obj(data.get("limits")),
            realised_cash=None if cash is None else num(cash),
            time=text(data.get("time")),
        )


def write_heartbeat(state_dir: Path, beat: Heartbeat) -> None:
    stamped = replace(beat, time=_now())
    atomic_write_json(Path(state_dir) / HEARTBEAT_FILE, redact_json(stamped.to_json()))


def read_heartbeat(state_dir: Path) -> Heartbeat | None:
    """The last heartbeat, or None when there is none; a corrupt file raises :class:`StateFileError`."""
    path = Path(state_dir) / HEARTBEAT_FILE
    if not path.exists():
        return None
    return Heartbeat.from_json(read_json_object(path, {}, move_aside=False))
