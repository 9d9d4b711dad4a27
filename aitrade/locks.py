"""Advisory process locks: one process at a time may act on a venue account (or a home).

A lock is an ``flock`` on a small file under ``state/``. The kernel releases it
when the holder exits, however it exits (``kill -9`` included), so a stale
lock file never blocks anyone. The file holds the holder's pid, command line and
start time, written after the lock is taken, so a refused process can say who
holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from aitrade.errors import LockHeld


def pid_alive(pid: Any) -> bool:
    """Whether process ``pid`` exists (one of another user's counts); False for no pid or a bad one."""
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


class ProcessLock:
    """An exclusive, non-blocking lock on ``path``; ``what`` names the thing it guards in messages."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._fh: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def acquire(self, purpose: str = "") -> None:
        """Take the lock or raise :class:`LockHeld` naming the holder's pid."""
        if self._fh is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held open while locked)
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise LockHeld(self.refusal()) from None
        fh.seek(0)
        fh.truncate()
        info = {
            "pid": os.getpid(),
            "purpose": purpose,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv[:4]),
        }
        fh.write(json.dumps(info))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now (pid, purpose, since, command), or None when nobody does."""
        if self._fh is not None:
            return self._info()
        if not self.path.exists():
            return None
        with open(self.path, encoding="utf-8") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return self._info()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return None

    def _info(self) -> dict[str, Any]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            value = {}
        return value if isinstance(value, dict) else {}

    def refusal(self) -> str:
        info = self._info()
        pid = info.get("pid", "unknown")
        purpose = f" ({info['purpose']})" if info.get("purpose") else ""
        since = f" since {info['since']}" if info.get("since") else ""
        return f"{self.what} is in use by process {pid}{purpose}{since}; only one process may place orders there"

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
