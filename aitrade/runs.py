"""Research runs: ``runs/<run_id>/`` folders, and promotion to ``state/production/``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aitrade.config import Settings
from aitrade.errors import UserError
from aitrade.statefile import atomic_write_json


def git_commit(cwd: Path | None = None) -> str | None:
    """The current commit of the source tree, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=cwd or Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def new_run_dir(
    settings: Settings,
    kind: str,
    params: dict[str, Any],
    out: str | Path | None = None,
    *,
    exist_ok: bool = False,
    params_name: str = "params.json",
) -> Path:
    """A fresh run folder: ``out`` when given, else ``runs/<UTC stamp>-<kind>-<hash>``.

    ``exist_ok`` lets a notebook write into the folder its runner made for it.
    """
    if out is not None:
        path = Path(out).expanduser()
        if path.exists() and any(path.iterdir()) and not exist_ok:
            raise UserError(f"output folder {path} exists and is not empty")
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:6]
        path = settings.runs_dir / f"{stamp}-{kind}-{digest}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the run folder {path}: {exc.strerror or exc}") from exc
    atomic_write_json(path / params_name, params)
    return path


PROMOTED = ("signals.parquet", "meta.json", "metrics.json", "params.json")


def promote(settings: Settings, run: str | Path) -> Path:
    """Copy a run's signals and models to ``state/production/`` (replaced as a whole)."""
    src = Path(run).expanduser()
    if not src.is_absolute() and not src.exists():
        src = settings.home / src
    if not (src / "signals.parquet").is_file() or not (src / "meta.json").is_file():
        raise UserError(f"{src} is not a finished research run (no signals.parquet/meta.json)")
    from aitrade.signals.artifact import load_signals  # noqa: PLC0415 (validates before promoting)

    load_signals(src)
    dest = settings.state_dir / "production"
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".production-", dir=settings.state_dir))
    try:
        for name in PROMOTED:
            if (src / name).is_file():
                shutil.copy2(src / name, staging / name)
        if (src / "models").is_dir():
            shutil.copytree(src / "models", staging / "models")
        atomic_write_json(staging / "promoted.json", {"run": str(src.resolve()), "at": datetime.now(UTC).isoformat()})
        old = None
        if dest.exists():
            old = dest.with_name(f".production-old-{os.getpid()}")
            os.replace(dest, old)
        os.replace(staging, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest
