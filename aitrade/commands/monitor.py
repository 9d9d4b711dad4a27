"""What a supervisor sees of the runner, read from its files: the headless core of the LIVE MONITOR panel.

:func:`snapshot` reads the heartbeat, the kill switch and the trade ledger
(read-only, never a lock) and returns plain data: positions with stop, target
and unrealised P&L at the last close, open orders, protection coverage,
realised equity, heartbeat age and how stale it is, state, last error and
recent events. Nothing here can place or cancel an order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from aitrade.commands.accounts import AccountsView, read_accounts
from aitrade.commands.text import utc
from aitrade.config import Settings
from aitrade.errors import StateFileError, UserError
from aitrade.runner import control
from aitrade.runner.ledger import TradeLedger
from aitrade.runner.seams import num
from aitrade.strategy import OPEN, PENDING

LEDGER_FILE = "trades.sqlite"
FRESH_S, LATE_S = 5.0, 60.0  # heartbeat age: fresh below, late below, stale above


def staleness(age: float | None, phase: str | None = None) -> str:
    """``none`` (no heartbeat), ``ended`` (finished or stopped), ``fresh``, ``late`` or ``stale``."""
    if age is None:
        return "none"
    if phase in ("finished", "stopped"):
        return "ended"
    return "fresh" if age < FRESH_S else "late" if age < LATE_S else "stale"


@dataclass
class Snapshot:
    alive: bool
    pid: int | None
    state: str | None
    phase: str | None
    mode: str | None
    heartbeat_age_s: float | None
    staleness: str
    positions: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    coverage: dict[str, Any]
    equity: pd.Series  # realised, by exit time, from the starting capital
    kill: dict[str, Any]
    last_error: str | None
    events: list[dict[str, Any]]
    limits: dict[str, Any] = field(default_factory=dict)
    settings_applied_at: str | None = None
    problems: list[str] = field(default_factory=list)  # files that could not be read, said in words
    trades: list[dict[str, Any]] = field(default_factory=list)  # the last closed trades, newest first
    daily: list[dict[str, Any]] = field(default_factory=list)  # realised P&L per UTC day, newest first
    log_path: str | None = None  # the newest runner log
    log_tail: list[str] = field(default_factory=list)  # its last lines, secrets redacted
    source: str = "runner"  # where positions, orders and coverage come from: runner | accounts | none
    source_note: str = ""  # that, in words, with how old it is


class EquityTracker:
    """The realised equity series of one ledger, kept between refreshes: each read fetches only the new trades.

    A ledger replaced or reset under it (a new session, a lower row id, a different start) is read afresh.
    """

    def __init__(self) -> None:
        self._reset(None)

    def _reset(self, key: tuple[Any, ...] | None) -> None:
        self._key = key
        self._last_id = 0
        self._times: list[str] = []
        self._pnl: list[float] = []
        self._series = pd.Series(dtype=float, name="equity")

    def update(self, ledger: TradeLedger, session: dict[str, Any], capital: float) -> pd.Series:
        key = (str(ledger.path), os.stat(ledger.path).st_ino, json.dumps(session, sort_keys=True, default=str))
        if key != self._key:
            self._reset(key)
        new = ledger.exits_since(self._last_id)
        if not new and self._last_id and not ledger.exits_since(self._last_id - 1):  # rows gone: read afresh
            self._reset(key)
            new = ledger.exits_since(0)
        if new:
            self._last_id = new[-1][0]
            self._times += [t for _, t, _ in new]
            self._pnl += [p for _, _, p in new]
            times = pd.to_datetime(pd.Index(self._times), utc=True, format="ISO8601")
            pnl = pd.Series(self._pnl, index=times, dtype=float)
            self._series = (capital + pnl.sort_index(kind="stable").cumsum()).rename("equity")
        return self._series


class AccountsReader:
    """Reads the accounts for a monitor that refreshes every few seconds: paper accounts (local files) every time,
    venues at most every ``venue_every_s`` (their rate limits are shared with whatever trades there)."""

    def __init__(self, venue_every_s: float = 10.0) -> None:
        self.venue_every_s = venue_every_s
        self._last: AccountsView | None = None

    def __call__(self, settings: Settings) -> AccountsView:
        last = self._last
        if last is not None and last.mode != "paper" and self._age(last) < self.venue_every_s:
            return last
        self._last = read_accounts(settings)
        return self._last

    @staticmethod
    def _age(view: AccountsView) -> float:
        return (datetime.now(UTC) - view.read_at).total_seconds()


def has_accounts(settings: Settings) -> bool:
    """Whether there is anything to read: a ledger, an ownership ledger or a paper account in this home."""
    state = settings.state_dir
    return any(state.glob(f"{LEDGER_FILE}")) or any(state.glob("owned_*.sqlite")) or any(state.glob("paper_*.sqlite"))


def snapshot(
    settings: Settings,
    *,
    events: int = 20,
    trades: int = 20,
    log_lines: int = 20,
    equity: EquityTracker | None = None,
    accounts: Callable[[Settings], AccountsView] = read_accounts,
) -> Snapshot:
    """What the monitor shows. With a runner alive, positions and orders are its ledger's books, priced at the
    heartbeat's last closes; with none, they are what the accounts hold now (``accounts``), never a stale beat."""
    from aitrade.commands.runner_cmd import running_pid  # noqa: PLC0415

    problems: list[str] = []
    pid = running_pid(settings)
    try:
        beat = control.read_heartbeat(settings.state_dir) or control.Heartbeat()
    except StateFileError as exc:
        beat = control.Heartbeat()
        problems.append(f"heartbeat unreadable: {exc}")
    age = beat.age_s
    closes = beat.last_close
    positions: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    recent: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    capital = 0.0
    series = pd.Series(dtype=float, name="equity")
    path = settings.state_dir / LEDGER_FILE
    if path.exists():
        try:
            ledger = TradeLedger(path, read_only=True)
        except StateFileError as exc:
            problems.append(str(exc))
        else:
            with ledger:
                session = ledger.session() or {}
                capital = num(session.get("capital"))
                for book in ledger.books().values():
                    s = book.state
                    if s.mode == OPEN:
                        last = closes.get(book.symbol)
                        upnl = None if last is None else s.side * (last - s.entry) * s.qty
                        positions.append(
                            {
                                "symbol": book.symbol,
                                "side": "long" if s.side > 0 else "short",
                                "quantity": s.qty,
                                "entry": s.entry,
                                "stop": s.stop,
                                "target": s.target,
                                "last": last,
                                "unrealised_pnl": upnl,
                                "since": book.entry_bar,
                            }
                        )
                    elif s.mode == PENDING:
                        orders.append(
                            {
                                "symbol": book.symbol,
                                "side": "buy" if s.side > 0 else "sell",
                                "quantity": s.qty,
                                "limit": s.limit,
                                "client_id": book.entry_id,
                            }
                        )
                series = (equity or EquityTracker()).update(ledger, session, capital)
                recent = ledger.events(events)
                closed = ledger.recent_trades(trades)
    alive = pid is not None
    coverage = asdict(beat.coverage) if beat.time else {}
    if alive:
        source = "runner"
        said = "no heartbeat yet" if age is None else f"heartbeat {age:.0f} s ago"
        note = f"the runner's ledger and heartbeat ({said})"
        if staleness(age, beat.phase or None) in ("stale", "none"):
            note += ": the runner has not written for a while, this may be out of date"
    elif has_accounts(settings):
        view = accounts(settings)
        source, positions, orders, coverage = "accounts", view.positions, view.orders, view.coverage()
        note = f"no runner alive: read from the accounts ({view.where or view.mode}) at {utc(view.read_at)}"
        problems += [f"accounts: {e}" for e in view.errors]
    else:
        source, note, coverage = "none", "no runner alive and no session in this home", {}
    log, tail = log_tail(settings, log_lines)
    return Snapshot(
        alive=alive,
        pid=pid,
        state=beat.state or None,
        phase=beat.phase or None,
        mode=beat.mode or None,
        heartbeat_age_s=age,
        staleness=staleness(age, beat.phase or None),
        positions=positions,
        orders=orders,
        coverage=coverage,
        equity=series,
        kill=control.read_kill(settings.state_dir).__dict__,
        last_error=beat.last_error,
        events=recent,
        limits=beat.limits,
        settings_applied_at=beat.settings_applied_at,
        problems=problems,
        trades=closed,
        daily=daily_pnl(series, capital),
        log_path=str(log) if log else None,
        log_tail=tail,
        source=source,
        source_note=note,
    )


def log_tail(settings: Settings, lines: int = 20) -> tuple[Path | None, list[str]]:
    """The newest runner log and its last ``lines`` lines (read from the end; secrets redacted)."""
    from aitrade.redact import redact  # noqa: PLC0415

    logs = sorted((settings.state_dir / "logs").glob("runner-*.log"))
    if not logs or lines <= 0:
        return None, []
    path = logs[-1]
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(size - 64_000, 0))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return path, []
    secrets = settings.secrets()
    return path, [redact(line, secrets) for line in text.splitlines()[-lines:]]


def daily_pnl(equity: pd.Series, capital: float, days: int = 14) -> list[dict[str, Any]]:
    """Realised P&L per UTC day of exit from the equity series (newest first), with the day's trade count and
    the equity at its close."""
    if equity.empty:
        return []
    pnl = equity.diff()
    pnl.iloc[0] = equity.iloc[0] - capital
    frame = pd.DataFrame({"pnl": pnl, "equity": equity})
    out = [
        {
            "day": day.strftime("%Y-%m-%d"),
            "trades": len(g),
            "pnl": float(g["pnl"].sum()),
            "equity": float(g["equity"].iloc[-1]),
        }
        for day, g in frame.groupby(frame.index.floor("D"))
    ]
    return out[::-1][:days]


# --- the risk editor ------------------------------------------------------------------------------------------
RISK_KEYS = ("RISK_PER_TRADE", "MAX_OPEN_POSITIONS", "MAX_POSITION_NOTIONAL", "MAX_DAILY_DRAWDOWN")


def risk_values(settings: Settings) -> dict[str, Any]:
    """The risk limits in force for this home (environment, .env, then the runtime file)."""
    from aitrade.config import FIELDS_BY_VAR  # noqa: PLC0415

    return {key: getattr(settings, FIELDS_BY_VAR[key].attr) for key in RISK_KEYS}


def apply_risk(settings: Settings, updates: dict[str, Any]) -> dict[str, Any]:
    """Validate and save ``updates`` to ``state/runtime_settings.json`` (atomic); the runner applies them next tick."""
    from aitrade.config import save_runtime_settings  # noqa: PLC0415

    unknown = sorted(set(updates) - set(RISK_KEYS))
    if unknown:
        raise UserError(f"not a risk setting: {', '.join(unknown)}; allowed: {', '.join(RISK_KEYS)}")
    saved_at = pd.Timestamp.now(tz="UTC")
    new = save_runtime_settings(settings, updates)
    return {"saved_at": saved_at.isoformat(), "values": risk_values(new), "path": str(new.runtime_settings_path)}


def picked_up(snap: Snapshot, saved_at: str | None) -> bool | None:
    """Whether the runner re-read the settings after ``saved_at`` (None: no runner to pick them up)."""
    if saved_at is None or not snap.alive:
        return None
    applied = snap.settings_applied_at
    return applied is not None and pd.Timestamp(applied) >= pd.Timestamp(saved_at)
