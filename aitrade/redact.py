"""One redaction for every output path: log files, the console, JSON and text output, tracebacks, notebooks.

:func:`redact` replaces the configured secret values and anything shaped like
a secret on the wire (``ACCESS-KEY``/``ACCESS-SIGN``/``ACCESS-PASSPHRASE``
headers, ``Bearer`` tokens, Telegram ``bot<id>:<token>`` URLs,
``token=``/``secret=``/``passphrase=`` pairs) with ``****``.
:class:`RedactingStream` applies it to a text stream line by line, so the CLI
can put it in front of stdout and stderr once and nothing it prints (a venue's
error body echoing our headers, a traceback under ``--debug``) can leak.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from typing import Any, TextIO

MASK = "****"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"), r"\1****"),
    (re.compile(r"(?i)(bot)\d{3,}:[A-Za-z0-9_-]{10,}"), r"\1****"),
    (
        re.compile(r"(?i)((?:access-(?:key|sign|passphrase))['\"]?\s*[:=]\s*['\"]?)[^'\",\s}]+"),
        r"\1****",
    ),
    (
        re.compile(
            r"(?i)((?:api[_-]?key|api[_-]?secret|secret|passphrase|token|password|authorization)['\"]?\s*[:=]\s*"
            r"['\"]?)(?!\*\*\*\*|<unset>|null\b|true\b|false\b|[{\[])[^'\",\s}&]+"
        ),
        r"\1****",
    ),
)


_KNOWN: set[str] = set()  # secret values of the settings this process loaded


def remember_secrets(values: Iterable[str]) -> None:
    """Secret values every later :func:`redact` masks in this process (the settings register theirs on load)."""
    _KNOWN.update(v for v in values if v and len(v) >= 4)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret value and secret-shaped substring with ``****``."""
    for value in sorted({s for s in (*secrets, *_KNOWN) if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(value, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingStream(io.TextIOBase):
    """A text stream that redacts each complete line before passing it on; ``secrets`` may be set later."""

    def __init__(self, inner: TextIO, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.secrets: tuple[str, ...] = tuple(secrets)
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            done, self._pending = self._pending.rsplit("\n", 1)
            self.inner.write(redact(done + "\n", self.secrets))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.inner.write(redact(self._pending, self.secrets))
            self._pending = ""
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")


def redact_json(obj: Any) -> Any:
    """A copy of a JSON-able object with every secret masked (what state files and ledger events hold)."""
    return json.loads(redact(json.dumps(obj, default=str)))
