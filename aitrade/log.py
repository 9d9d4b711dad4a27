"""Logging: a rotating file under ``logs/`` plus the console, with secrets redacted.

Redaction (:func:`aitrade.redact.redact`, the same function every other output
path uses) happens in the formatter, on the final text of every record
(message, arguments and traceback alike), so no handler can leak a secret.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterable
from pathlib import Path

from aitrade.config import Settings
from aitrade.redact import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "aitrade_handler"
__all__ = ["RedactingFormatter", "redact", "setup_logging", "teardown_logging"]


class RedactingFormatter(logging.Formatter):
    """A formatter whose output never contains a configured secret."""

    def __init__(self, fmt: str = FORMAT, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class _NotOnConsole(logging.Filter):
    """Drop records logged with ``extra={"console": False}`` (already shown to the user)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "console", True)


def teardown_logging() -> None:
    """Detach and close the handlers :func:`setup_logging` attached."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()


def setup_logging(settings: Settings, *, console_level: str | None = None, console: bool = True) -> Path:
    """Attach the rotating file handler and the console handler to the root logger.

    Idempotent: handlers attached by an earlier call are replaced, never doubled.
    Returns the log file path.
    """
    teardown_logging()
    root = logging.getLogger()
    level = getattr(logging, settings.log_level, logging.INFO)
    root.setLevel(min(level, logging.INFO))
    formatter = RedactingFormatter(FORMAT, settings.secrets())

    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    path = settings.logs_dir / "aitrade.log"
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
    file_handler.setLevel(level)
    file_handler.setFormatter(formatter)
    setattr(file_handler, _MARK, True)
    root.addHandler(file_handler)

    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(getattr(logging, console_level or "WARNING", logging.WARNING))
        stream.setFormatter(formatter)
        stream.addFilter(_NotOnConsole())
        setattr(stream, _MARK, True)
        root.addHandler(stream)

    for noisy in ("asyncio", "aiohttp", "urllib3", "numba", "matplotlib", "papermill", "traitlets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
