"""``aitrade control-room``: the control room notebook served alone by Voila on 127.0.0.1, behind a token.

Voila renders ``notebooks/00_control_room.ipynb`` without its code cells
(``strip_sources``) and without tracebacks; a request without the token is
refused by the server. The URL with the token goes to ``state/control-room.url``
(mode 0600), never to the console or a log. The page's kernel reads AITRADE_HOME, so the panels
work on the same home as the CLI that started it. Stopping the page (Ctrl-C)
never stops a runner or a job: they are processes of their own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from aitrade.commands.spawn import detached
from aitrade.config import Settings
from aitrade.errors import UserError
from aitrade.notebooks import REPO
from aitrade.statefile import atomic_write

NOTEBOOK = REPO / "notebooks" / "00_control_room.ipynb"
HOST = "127.0.0.1"
URL_FILE = "control-room.url"


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is free
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def voila_argv(port: int, notebook: Path = NOTEBOOK) -> list[str]:
    """Voila's command line. The token is not on it (``ps`` would show it): ``auto_token`` makes the server's
    identity provider take it from JUPYTER_TOKEN in the environment :func:`launch` gives the process."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        f"--port={port}",
        "--no-browser",
        f"--Voila.ip={HOST}",
        "--Voila.auto_token=True",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--VoilaConfiguration.file_allowlist=[]",
    ]


def url(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/?token={token}"


def launch(
    settings: Settings, port: int, *, token: str | None = None, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start Voila for ``settings.home`` on ``port``; returns the process and the URL with its token."""
    if not 1024 <= port <= 65535:
        raise UserError(f"--port must be between 1024 and 65535, got {port}")
    if not port_free(port):
        raise UserError(f"port {port} on {HOST} is in use; choose another with --port")
    if not NOTEBOOK.is_file():
        raise UserError(f"the control room notebook is missing: {NOTEBOOK}")
    token = token or secrets.token_urlsafe(24)
    # its own session: stopping the page's group stops Voila and the kernels it started
    proc = detached(voila_argv(port), settings, log, env={"JUPYTER_TOKEN": token}, cwd=NOTEBOOK.parent)
    return proc, url(port, token)


def write_url(settings: Settings, link: str) -> Path:
    """The page's URL with its token, in ``state/control-room.url`` readable by this user only (0600).

    The token is a secret, so it is never printed or logged; the user opens the URL written here.
    """
    path = settings.state_dir / URL_FILE

    def write(tmp: Path) -> None:
        os.chmod(tmp, 0o600)  # before the token is in it
        tmp.write_text(link + "\n", encoding="utf-8")

    atomic_write(path, write)
    return path


def serve(settings: Settings, port: int) -> int:
    """Run the page in the foreground until Ctrl-C; says where its URL is (the token is never printed)."""
    logs = settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "control-room.log"
    proc, link = launch(settings, port, log=log)
    url_file = write_url(settings, link)
    print(
        f"control room on http://{HOST}:{port}/ ; open the URL with its token written to {url_file} "
        "(readable only by you; the token is never printed or logged)"
    )
    print(f"  home {settings.home}; server log {log}. Ctrl-C stops the page only: runners and jobs keep running.")

    def stop_on(signum: int, _frame: Any) -> None:
        raise _Stopped(signum)

    previous = {sig: signal.signal(sig, stop_on) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return proc.wait()
    except (KeyboardInterrupt, _Stopped):
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_page(proc)


class _Stopped(Exception):
    """SIGTERM or SIGHUP reached ``aitrade control-room``."""


def stop_page(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Stop Voila and its kernels (its process group): SIGTERM, then SIGKILL after ``grace_s``. Runners and jobs
    started from the page are sessions of their own and keep running."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace_s)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # kernels that outlived their server
        os.killpg(proc.pid, signal.SIGKILL)
