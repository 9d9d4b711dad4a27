"""Atomic state files: write to a temp file, fsync, rename; never half-written.

A corrupt JSON file is never treated as empty: it is moved aside to
``<name>.corrupt-<UTC stamp>`` and a :class:`StateFileError` names both paths.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aitrade.errors import StateFileError


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` then fsync and rename the temp file onto ``path``.

    The temp file lives in the target directory so the rename is atomic. On any
    failure the temp file is removed and the old ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically replace ``path`` with ``data``."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    return atomic_write(path, write)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically replace ``path`` with ``obj`` as pretty, sorted JSON."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    # Decimal and other numbers-as-text keep their exact digits.
    return str(value)


def quarantine(path: Path) -> Path:
    """Move a bad file aside under a new, unique name and return that name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, aside)
    return aside


def read_json(path: str | os.PathLike[str], default: Any = None, *, move_aside: bool = True) -> Any:
    """Read a JSON state file.

    A missing file gives ``default``. A file that is not valid JSON is moved
    aside (see :func:`quarantine`; a reader that must not write passes
    ``move_aside=False``) and raises :class:`StateFileError`.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return default
    except IsADirectoryError as exc:
        raise StateFileError(f"state file {p} is a directory, not a file") from exc
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if not move_aside:
            raise StateFileError(f"state file {p} is corrupt ({exc.__class__.__name__}: {exc})") from exc
        aside = quarantine(p)
        raise StateFileError(
            f"state file {p} is corrupt ({exc.__class__.__name__}: {exc}); it was moved aside to {aside.name}"
        ) from exc


def read_json_object(
    path: str | os.PathLike[str], default: dict[str, Any] | None = None, *, move_aside: bool = True
) -> dict[str, Any]:
    """Like :func:`read_json` but the top level must be a JSON object."""
    value = read_json(path, default if default is not None else {}, move_aside=move_aside)
    if not isinstance(value, dict):
        p = Path(path)
        if not move_aside:
            raise StateFileError(f"state file {p} must hold a JSON object, found {type(value).__name__}")
        aside = quarantine(p)
        raise StateFileError(
            f"state file {p} must hold a JSON object, found {type(value).__name__}; it was moved aside to {aside.name}"
        )
    return value
