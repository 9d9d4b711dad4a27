"""Research runs: ``runs/<run_id>/`` folders, and promotion to ``state/production/``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aitrade.config import Settings
from aitrade.errors import UserError
from aitrade.locks import pid_alive
from aitrade.redact import redact
from aitrade.statefile import atomic_write_json, read_json_object


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


RUN_FILE = "run.json"


def new_run_dir(
    settings: Settings,
    kind: str,
    params: dict[str, Any],
    out: str | Path | None = None,
    *,
    exist_ok: bool = False,
    params_name: str = "params.json",
) -> Path:
    """A fresh run folder, marked ``running`` in ``run.json`` until :func:`finish_run` or :func:`fail_run`.

    ``out`` when given (it must not hold files), else ``runs/<UTC stamp to the
    microsecond>-<kind>-<params hash>-<random>``: two runs started in the same
    second never share a folder. ``exist_ok`` lets a notebook write into the
    folder its runner made for it (its status stays the runner's to set).
    Create it only after every input has been validated.
    """
    if out is not None:
        path = Path(out).expanduser()
        if path.exists() and not path.is_dir():
            raise UserError(f"output folder {path} is a file")
        if path.exists() and any(path.iterdir()) and not exist_ok:
            raise UserError(f"output folder {path} exists and is not empty (choose another --out)")
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:6]
        path = settings.runs_dir / f"{stamp}-{kind}-{digest}-{secrets.token_hex(2)}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the run folder {path}: {exc.strerror or exc}") from exc
    atomic_write_json(path / params_name, params)
    if not (exist_ok and (path / RUN_FILE).exists()):
        atomic_write_json(
            path / RUN_FILE,
            {
                "status": "running",
                "kind": kind,
                "pid": os.getpid(),
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
    return path


def _mark(path: Path, status: str, **extra: Any) -> None:
    record = read_json_object(path / RUN_FILE, {}) if (path / RUN_FILE).exists() else {}
    record.update(status=status, ended=datetime.now(UTC).isoformat(timespec="seconds"), **extra)
    atomic_write_json(path / RUN_FILE, record)


def finish_run(path: str | Path) -> None:
    """Mark a run complete: its artifacts are whole and may be used."""
    _mark(Path(path), "complete")


def fail_run(path: str | Path, error: BaseException | str) -> None:
    """Mark a run failed with a one-line reason (secret-shaped text redacted)."""
    text = error if isinstance(error, str) else f"{error.__class__.__name__}: {error}"
    _mark(Path(path), "failed", error=redact(" ".join(str(text).split()))[:500])


def run_json(path: str | Path) -> dict[str, Any]:
    """A run folder's JSON file as a mapping; empty when missing or unreadable (panels show what they can,
    and never move a run's files aside)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def signals_summary(meta: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """A signals run's out-of-sample summary from its ``meta.json`` and ``metrics.json`` records: the artifact's own
    (what promotion gates on), else the metrics file's; every verdict on the run reads it here."""
    summary = meta.get("summary") or metrics.get("summary")
    return summary if isinstance(summary, dict) else {}


def runs_using(settings: Settings, signals_run: str | Path) -> list[Path]:
    """Run folders under the home's ``runs/`` made over ``signals_run`` (their ``params.json`` or
    ``notebook_params.json`` names it, or it is their own ``signals/``), newest first."""
    target = Path(signals_run).resolve()
    root = settings.home / "runs"
    out = []
    for run in sorted(root.iterdir(), reverse=True) if root.is_dir() else []:
        used = run_json(run / "params.json").get("signals") or run_json(run / "notebook_params.json").get("signals")
        if (used and Path(str(used)).resolve() == target) or (run / "signals").resolve() == target:
            out.append(run)
    return out


def run_status(path: str | Path) -> str:
    """``complete``, ``failed``, ``running``, ``interrupted`` (its process is gone), or ``unknown`` (no run.json)."""
    file = Path(path) / RUN_FILE
    if not file.exists():
        return "unknown"
    record = read_json_object(file, {})
    status = str(record.get("status", "unknown"))
    if status == "running" and not pid_alive(record.get("pid")):
        return "interrupted"
    return status


def require_complete(path: str | Path, what: str, *, allow_running: bool = False) -> None:
    """Refuse to use a run that is still running (unless ``allow_running``), failed or was interrupted."""
    status = run_status(path)
    if status in ("failed", "interrupted") or (status == "running" and not allow_running):
        reason = read_json_object(Path(path) / RUN_FILE, {}).get("error")
        raise UserError(f"{what} {path} is {status}" + (f" ({reason})" if reason else "") + "; use a complete run")


@contextmanager
def run_scope(path: str | Path) -> Iterator[Path]:
    """Mark the run complete when the block ends, failed (with the reason) when it raises or is interrupted."""
    p = Path(path)
    try:
        yield p
    except BaseException as exc:
        with contextlib.suppress(Exception):
            fail_run(p, "interrupted" if isinstance(exc, KeyboardInterrupt) else exc)
        raise
    finish_run(p)


@contextmanager
def staged_output(out: str | Path, *, force: bool, names: tuple[str, ...]) -> Iterator[Path]:
    """Write a results folder under a temporary name and swap it in whole when the block succeeds.

    Existing results (any of ``names`` in ``out``) are replaced only with
    ``force``; a failure leaves ``out`` as it was.
    """
    dest = Path(out).expanduser()
    if dest.exists() and not dest.is_dir():
        raise UserError(f"output folder {dest} is a file")
    clash = [n for n in names if (dest / n).exists()]
    if clash and not force:
        raise UserError(f"{dest} already holds {', '.join(clash)}; add --force to replace them")
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        yield stage
        dest.mkdir(exist_ok=True)
        for item in stage.iterdir():
            os.replace(item, dest / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


PROMOTED = ("signals.parquet", "meta.json", "metrics.json", "params.json")


MIN_REASON = 12  # characters of a typed override reason: a sentence, not "ok"


def promote(settings: Settings, run: str | Path, *, override: str | None = None) -> Path:
    """Copy a run's signals and models to ``state/production/`` (replaced as a whole).

    A model whose pooled out-of-sample log loss is worse than the class prior's is refused unless
    ``override`` gives a typed reason; the reason and the two figures go into ``promoted.json``.
    """
    src = settings.resolve_path(run)
    require_complete(src, "run")
    if not (src / "signals.parquet").is_file() or not (src / "meta.json").is_file():
        raise UserError(f"{src} is not a finished research run (no signals.parquet/meta.json)")
    from aitrade.signals.artifact import load_signals  # noqa: PLC0415 (validates before promoting)
    from aitrade.signals.baseline import worse_than_prior  # noqa: PLC0415

    summary = signals_summary(load_signals(src).meta, run_json(src / "metrics.json"))
    worse = worse_than_prior(summary)
    reason = " ".join((override or "").split())
    if worse is not None and len(reason) < MIN_REASON:
        raise UserError(
            f"{src.name}: the model's out-of-sample log loss {worse[0]:.4f} is worse than the class prior's "
            f"{worse[1]:.4f} (it is overconfident); promote it only with a typed reason of at least {MIN_REASON} "
            "characters (--override 'why')" + (f", not {reason!r}" if reason else "")
        )
    record: dict[str, Any] = {"run": str(src.resolve()), "at": datetime.now(UTC).isoformat()}
    if worse is not None:
        record["override"] = {"reason": redact(reason), "model_log_loss": worse[0], "prior_log_loss": worse[1]}
    dest = settings.state_dir / "production"
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".production-", dir=settings.state_dir))
    try:
        for name in PROMOTED:
            if (src / name).is_file():
                shutil.copy2(src / name, staging / name)
        if (src / "models").is_dir():
            shutil.copytree(src / "models", staging / "models")
        atomic_write_json(staging / "promoted.json", record)
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
