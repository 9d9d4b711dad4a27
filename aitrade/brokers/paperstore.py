"""Where a paper account lives: one SQLite file, a row per order, protection, position, fill and symbol mark.

The simulated broker works on an in-memory copy and saves what changed after
each call, in one transaction: the cost of a save grows neither with the
account's history (a JSON file rewritten whole did, quadratically over a long
replay) nor with its symbols (a symbol's last bar and price are its own row).

Durability: nothing here waits for the disk (:mod:`aitrade.sqlitedb`). A
process crash loses nothing committed; a power cut may roll the paper account
back to its last checkpoint, as if the venue had never seen the last orders.
The runner's write-ahead intents (fsynced) still know every order it sent: a
restart looks each one up here, and one this account no longer knows is
decided again under the same client id by the bar that re-processes it.
An account kept in the former JSON file is imported once and that
file renamed ``*.imported``. An unreadable file is moved aside and the
account starts afresh, said in the log.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from aitrade.errors import LedgerBusy, StateFileError
from aitrade.sqlitedb import connect, immediate, is_busy, wal
from aitrade.statefile import quarantine, read_json_object

log = logging.getLogger(__name__)
TABLES = ("orders", "protections", "positions", "marks")
SCALARS = ("cash", "currency", "seq")
MARKS = ("bars", "last")  # per symbol: the last bar applied and the last price seen, one ``marks`` row each
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS scalars (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS orders (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS protections (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS positions (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fills (id INTEGER PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class PaperStore:
    """``load()`` the account as a dict; ``save(state, dirty)`` writes the rows named in ``dirty``."""

    def __init__(self, path: Path, *, read_only: bool = False, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.busy_timeout_s = busy_timeout_s
        self._db: sqlite3.Connection | None = None
        self._fills_saved = 0
        self._unsaved_marks: set[str] = set()

    def _busy(self) -> LedgerBusy:
        return LedgerBusy(f"paper account {self.path} stayed locked for more than {self.busy_timeout_s:g} s")

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            if not self.path.exists():
                db = connect(":memory:", self.busy_timeout_s)
                for sql in _SCHEMA:
                    db.execute(sql)
                return db
            db = connect(f"{self.path.resolve().as_uri()}?mode=ro", self.busy_timeout_s, uri=True)
            db.execute("SELECT count(*) FROM orders").fetchone()
            return db
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = connect(self.path, self.busy_timeout_s)
        wal(db)
        with immediate(db, self._busy):
            for sql in _SCHEMA:
                db.execute(sql)
        db.execute("SELECT count(*) FROM orders").fetchone()
        return db

    def load(self, legacy_json: Path | None = None) -> dict[str, Any]:
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
                raise self._busy() from exc
            if self.read_only:
                raise StateFileError(f"paper account {self.path} is unreadable ({exc})") from exc
            aside = quarantine(self.path)
            log.error(
                "paper account %s was unreadable (%s); moved aside to %s; starting afresh", self.path, exc, aside.name
            )
            self._db = self._open()
        db = self._db
        state: dict[str, Any] = {name: json.loads(v) for name, v in db.execute("SELECT name, value FROM scalars")}
        for table in TABLES:
            state[table] = {k: json.loads(v) for k, v in db.execute(f"SELECT key, value FROM {table}")}  # noqa: S608
        marks = state.pop("marks")
        for name in MARKS:  # an account saved before the marks table kept them as two all-symbol scalars
            legacy = dict(state.get(name) or {})
            self._unsaved_marks |= set(legacy)  # written as rows by the next save
            state[name] = legacy | {k: m[name] for k, m in marks.items() if m.get(name)}
        state["fills"] = [json.loads(v) for (v,) in db.execute("SELECT value FROM fills ORDER BY id")]
        self._fills_saved = len(state["fills"])
        if legacy_json is not None and legacy_json.exists() and not state.get("seq") and not self.read_only:
            old = read_json_object(legacy_json, {}, move_aside=True)
            state.update({k: old[k] for k in (*SCALARS, *MARKS, *TABLES, "fills") if k in old})
            dirty = {t: set(state.get(t, {})) for t in TABLES}
            dirty["marks"] = set(state.get("bars", {})) | set(state.get("last", {}))
            self.save(state, dirty)
            os.replace(legacy_json, legacy_json.with_name(legacy_json.name + ".imported"))
            log.info("paper account imported from %s", legacy_json)
        return state

    def save(self, state: dict[str, Any], dirty: dict[str, set[str]]) -> None:
        """Write the scalars, the named rows of each table (deleted when gone from ``state``) and new fills."""
        if self.read_only or self._db is None:
            return
        fills = state.get("fills", [])
        with immediate(self._db, self._busy) as db:
            for name in SCALARS:
                if name in state:
                    db.execute("INSERT OR REPLACE INTO scalars VALUES (?, ?)", (name, json.dumps(state[name])))
            db.execute("DELETE FROM scalars WHERE name IN ('bars', 'last')")  # now rows of ``marks``
            for key in set(dirty.get("marks", ())) | self._unsaved_marks:
                mark = {name: state.get(name, {}).get(key) for name in MARKS}
                db.execute("INSERT OR REPLACE INTO marks VALUES (?, ?)", (key, json.dumps(mark)))
            for table in (t for t in TABLES if t != "marks"):
                rows = state.get(table, {})
                for key in dirty.get(table, ()):
                    if key in rows:
                        db.execute(
                            f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",  # noqa: S608 (table names)
                            (key, json.dumps(rows[key])),
                        )
                    else:
                        db.execute(f"DELETE FROM {table} WHERE key = ?", (key,))  # noqa: S608 (table names)
            for fill in fills[self._fills_saved :]:
                db.execute("INSERT INTO fills (value) VALUES (?)", (json.dumps(fill),))
        self._fills_saved = len(state.get("fills", []))
        self._unsaved_marks = set()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
