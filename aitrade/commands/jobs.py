"""Background jobs: notebook runs and data fetches that outlive the notebook or page that started them.

A job is its own process group (``python -m aitrade.commands.jobs ID``,
started in a new session) with its state in ``state/jobs/ID.json``, written
atomically. The launcher writes the file once (``starting``); after that only
the job process writes it (``running`` with its run folder, then
``completed``, ``failed`` or ``cancelled``), except that :func:`cancel` records
``cancelled`` itself when it had to SIGKILL the group. A job whose process is
gone without a final status reads as ``died``. Progress of a notebook job is
read from the executed copy papermill saves at every cell.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aitrade.commands.spawn import detached
from aitrade.config import Settings, load_settings
from aitrade.errors import StateFileError, UserError
from aitrade.locks import pid_alive
from aitrade.notebooks import NOTEBOOKS, execute_notebook, notebook_progress, prepare_notebook
from aitrade.redact import redact
from aitrade.statefile import atomic_write_json, read_json

FINAL = ("completed", "failed", "cancelled", "died")
CANCEL_GRACE_S = 10.0


def jobs_dir(settings: Settings) -> Path:
    return settings.state_dir / "jobs"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _path(settings: Settings, job_id: str) -> Path:
    if not job_id or "/" in job_id or job_id.startswith("."):
        raise UserError(f"no job {job_id!r}")
    return jobs_dir(settings) / f"{job_id}.json"


def _read(path: Path) -> dict[str, Any]:
    data = read_json(path, move_aside=False)
    if not isinstance(data, dict):
        raise StateFileError(f"{path} does not hold a job")
    return data


def start_notebook(
    settings: Settings,
    name: str,
    *,
    params_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start ``name`` (a notebook of :data:`NOTEBOOKS`) as a background job. The job process checks its parameters
    against the notebook; a bad one ends the job ``failed`` with the reason."""
    if name not in NOTEBOOKS:
        raise UserError(f"unknown notebook {name!r}; known: {', '.join(NOTEBOOKS)}")
    spec = {"name": name, "params_file": str(params_file) if params_file else None, "overrides": overrides or {}}
    return _launch(settings, "notebook", NOTEBOOKS[name], spec)


def start_fetch(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    """Start a fetch (:func:`aitrade.commands.data_cmd.fetch_request`'s options) as a background job."""
    from aitrade.commands.data_cmd import describe_request  # noqa: PLC0415

    return _launch(settings, "fetch", describe_request(request), {"request": request})


def _launch(settings: Settings, kind: str, title: str, spec: dict[str, Any]) -> dict[str, Any]:
    folder = jobs_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    job_id = f"{stamp}-{kind}-{secrets.token_hex(3)}"
    log = folder / f"{job_id}.log"
    job: dict[str, Any] = {
        "id": job_id,
        "kind": kind,
        "title": title,
        "spec": spec,
        "status": "starting",
        "created_at": _now(),
        "pid": None,
        "log": str(log),
    }
    atomic_write_json(_path(settings, job_id), job)
    proc = detached([sys.executable, "-m", "aitrade.commands.jobs", job_id], settings, log)
    threading.Thread(target=proc.wait, name=f"reap {job_id}", daemon=True).start()  # no zombie while we live
    job["pid"] = proc.pid
    return job


def _execute(job_id: str) -> int:
    """The job process: run the job, keeping its file current; SIGTERM ends it as ``cancelled``."""
    settings = load_settings()
    path = _path(settings, job_id)
    job = _read(path)

    def record(**fields: Any) -> None:
        job.update(fields)
        atomic_write_json(path, job)

    record(status="running", pid=os.getpid(), started_at=_now())

    def cancelled(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt("cancelled")

    signal.signal(signal.SIGTERM, cancelled)
    try:
        if job["kind"] == "notebook":
            spec = job["spec"]
            run = prepare_notebook(settings, spec["name"], params_file=spec["params_file"], overrides=spec["overrides"])
            record(run_dir=str(run.run_dir), executed=str(run.executed))
            execute_notebook(settings, run)
        elif job["kind"] == "fetch":  # the command core, as `aitrade data fetch` calls it
            import asyncio  # noqa: PLC0415

            from aitrade.commands.data_cmd import fetch, fetch_table  # noqa: PLC0415
            from aitrade.log import setup_logging  # noqa: PLC0415

            setup_logging(settings)
            print(fetch_table(asyncio.run(fetch(settings, **job["spec"]["request"]))), flush=True)
        else:
            raise UserError(f"unknown job kind {job['kind']!r}")
    except KeyboardInterrupt:
        record(status="cancelled", ended_at=_now())
        return 130
    except BaseException as exc:  # every failure is recorded in words
        traceback.print_exc()
        message = exc.args[0] if isinstance(exc, UserError) and exc.args else f"{type(exc).__name__}: {exc}"
        record(status="failed", ended_at=_now(), error=redact(str(message), settings.secrets()))
        return 1
    record(status="completed", ended_at=_now())
    return 0


def _view(job: dict[str, Any]) -> dict[str, Any]:
    """A job as a panel shows it: status (``died`` when its process is gone), progress, elapsed seconds."""
    out = dict(job)
    if out.get("status") not in FINAL and out.get("pid") and not pid_alive(out["pid"]):
        out["status"] = "died"
    if out.get("executed"):
        out["progress"] = notebook_progress(out["executed"])
    elif out.get("kind") == "fetch" and out.get("log"):
        out["progress"] = {"done": 0, "total": None, "current": _last_line(Path(out["log"]))}
    start = out.get("started_at") or out.get("created_at")
    end = out.get("ended_at")
    if start:
        t0 = datetime.fromisoformat(start)
        t1 = datetime.fromisoformat(end) if end else datetime.now(UTC)
        out["elapsed_s"] = max(0.0, (t1 - t0).total_seconds())
    return out


def _last_line(log: Path) -> str | None:
    """The last line a job printed (a fetch says which symbol it is on)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, log.stat().st_size - 2048))
            lines = [x for x in fh.read().decode("utf-8", "replace").splitlines() if x.strip()]
    except OSError:
        return None
    return lines[-1][:200] if lines else None


def get(settings: Settings, job_id: str) -> dict[str, Any]:
    path = _path(settings, job_id)
    if not path.exists():
        raise UserError(f"no job {job_id!r} in {jobs_dir(settings)}")
    return _view(_read(path))


def list_jobs(settings: Settings, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest jobs first; an unreadable job file is listed as such, never skipped silently."""
    folder = jobs_dir(settings)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json"), reverse=True)[:limit]:
        try:
            out.append(_view(_read(path)))
        except StateFileError as exc:
            out.append({"id": path.stem, "status": "unreadable", "error": str(exc), "title": path.name})
    return out


def cancel(settings: Settings, job_id: str, *, grace_s: float = CANCEL_GRACE_S) -> dict[str, Any]:
    """SIGTERM the job's process group (the job records ``cancelled``); SIGKILL it after ``grace_s``."""
    job = get(settings, job_id)
    if job["status"] in FINAL:
        return {**job, "message": f"job {job_id} already {job['status']}"}
    pid = int(job["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.2)
        raw = _read(_path(settings, job_id))
        raw.update(status="cancelled", ended_at=_now(), error=f"killed after {grace_s:g} s")
        atomic_write_json(_path(settings, job_id), raw)
    return get(settings, job_id)


if __name__ == "__main__":
    sys.exit(_execute(sys.argv[1]))
