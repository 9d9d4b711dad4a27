"""Start a process that outlives its caller: the runner, a research job, the control room's Voila page."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from aitrade.config import Settings


def detached(
    cmd: Sequence[str],
    settings: Settings,
    log: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Run ``cmd`` in its own session (a signal to its group reaches everything it starts, a signal to ours
    does not reach it), with ``AITRADE_HOME`` set to ``settings.home`` and ``env`` added, no stdin, and
    stdout and stderr appended to ``log`` (discarded when ``None``)."""
    full_env = {**os.environ, "AITRADE_HOME": str(settings.home), **(env or {})}
    out = open(log, "ab") if log is not None else None  # noqa: SIM115 (handed to the child, closed below)
    try:
        return subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
            list(cmd),
            cwd=None if cwd is None else str(cwd),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        if out is not None:
            out.close()
