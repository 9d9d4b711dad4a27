"""SQLite files shared by processes: WAL, a busy timeout, ``BEGIN IMMEDIATE`` transactions, fsync where it matters.

Both ledgers (the ownership inventory and the runner's trade ledger) are read
and written by several processes at once (runner, CLI, kernels, control room).
Every check-and-act is one immediate transaction; a lock held past the busy
timeout becomes the caller's one-line error.

Durability is chosen per transaction. A connection commits with
``synchronous=NORMAL`` in WAL: a commit survives a crash of the process, and an
OS crash or power cut may drop the commits since the last fsync of the WAL. A
transaction opened with ``durable=True`` commits with ``synchronous=FULL``: it
is on the disk when the commit returns, and so is every commit before it in
that file (the WAL is one sequential log; its fsync covers all earlier frames).
Whatever must survive a power cut (the write-ahead record of an order) is
written durably; everything re-derivable from the venue or from that record is
not, and becomes durable with the next durable commit or checkpoint.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: called with the connection after each fsynced commit (the power-loss model of the tests watches these)
FSYNCED: list[Callable[[sqlite3.Connection], None]] = []


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


def wal(db: sqlite3.Connection) -> None:
    """WAL with ``synchronous=NORMAL`` by default (see the module docstring for what a durable transaction adds)."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")


def fetch(db: sqlite3.Connection, sql: str, args: tuple[Any, ...], busy: Callable[[], Exception]) -> list[Any]:
    """Every row of one query; ``busy()`` builds the error raised when the file stays locked."""
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise busy() from exc
        raise


@contextmanager
def immediate(
    db: sqlite3.Connection, busy: Callable[[], Exception], *, durable: bool = False
) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction; ``busy()`` builds the error raised when the file stays locked.

    ``durable``: the commit is fsynced before this returns (``synchronous=FULL`` for this transaction only).
    """
    if durable:
        db.execute("PRAGMA synchronous=FULL")
        try:
            with immediate(db, busy) as tx:
                yield tx
        finally:
            db.execute("PRAGMA synchronous=NORMAL")
        for observer in FSYNCED:
            observer(db)
        return
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
