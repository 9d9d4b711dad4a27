"""SQLite files shared by processes: WAL, full sync, a busy timeout, and ``BEGIN IMMEDIATE`` transactions.

Both ledgers (the ownership inventory and the runner's trade ledger) are read
and written by several processes at once (runner, CLI, kernels, control room).
Every check-and-act is one immediate transaction; a lock held past the busy
timeout becomes the caller's one-line error.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def connect(target: str | Path, busy_timeout_s: float, *, uri: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with the busy timeout set.

    A new database file is created owner-only (0600); SQLite gives its WAL and shared-memory files the same mode.
    """
    if not uri and str(target) != ":memory:":
        path = Path(target)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    db = sqlite3.connect(str(target), isolation_level=None, timeout=busy_timeout_s, uri=uri, check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    return db


def durable(db: sqlite3.Connection) -> None:
    """WAL with ``synchronous=FULL``: a committed record survives an OS crash, not only a process crash."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")


def fetch(db: sqlite3.Connection, sql: str, args: tuple[Any, ...], busy: Callable[[], Exception]) -> list[Any]:
    """Every row of one query; ``busy()`` builds the error raised when the file stays locked."""
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise busy() from exc
        raise


@contextmanager
def immediate(db: sqlite3.Connection, busy: Callable[[], Exception]) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction; ``busy()`` builds the error raised when the file stays locked."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise busy() from exc
        raise
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    try:
        db.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        db.execute("ROLLBACK")
        if is_busy(exc):
            raise busy() from exc
        raise
