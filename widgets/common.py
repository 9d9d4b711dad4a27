"""What every panel shares: the home's settings, HTML tables, status lines, background calls and timed refresh.

Panels never block the kernel for long: a command that waits (a kill switch
confirmation, a runner start) runs in a worker thread and reports back; the
periodic refresh reads files in a worker thread and updates the widgets on
the kernel's event loop. Without a running loop (a test driving a panel from
plain Python) nothing is scheduled and ``refresh()`` is called directly.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

from aitrade.commands.text import cell, header
from aitrade.config import Settings, load_settings
from aitrade.errors import AiTradeError
from aitrade.redact import redact

COLOURS = {"ok": "#1b7f3b", "warn": "#b26a00", "error": "#b00020", "info": "#333333", "muted": "#777777"}
STALENESS = {"fresh": "ok", "late": "warn", "stale": "error", "none": "muted", "ended": "muted"}


def settings_for(home: Any = None) -> Settings:
    return load_settings(home)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def heading(text: str) -> w.HTML:
    return w.HTML(f"<h4 style='margin:8px 0 4px 0'>{esc(text)}</h4>")


def coloured(text: str, kind: str = "info", *, bold: bool = False) -> str:
    weight = "font-weight:bold;" if bold else ""
    return f"<span style='color:{COLOURS.get(kind, kind)};{weight}'>{esc(text)}</span>"


def table(rows: Iterable[dict[str, Any]], columns: list[str] | None = None, *, empty: str = "none") -> str:
    """An HTML table of ``rows`` (escaped), each value written as its column's kind (prices, money, UTC times:
    :func:`aitrade.commands.text.cell`); ``empty`` when there are none."""
    rows = list(rows)
    if not rows:
        return f"<i style='color:{COLOURS['muted']}'>{esc(empty)}</i>"
    cols = columns or list(rows[0])
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{esc(header(c))}</th>" for c in cols)
    wrap = {c: "" if c == "detail" else ";white-space:nowrap" for c in cols}  # only sentences wrap
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 8px{wrap[c]}'>{esc(cell(c, r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table style='border-collapse:collapse;font-size:12px'><tr>{head}</tr>{body}</table>"


class Status(w.HTML):
    """One line saying what the last action did (or why it was refused)."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__("")
        self._secrets = settings.secrets() if settings is not None else ()

    def say(self, text: str, kind: str = "info") -> None:
        self.value = coloured(redact(text, self._secrets), kind)

    def error(self, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, AiTradeError) else f"{type(exc).__name__}: {exc}"
        self.say(text, "error")


def in_background(work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> threading.Thread:
    """Run ``work`` in a thread and call ``done(result, error)`` when it ends (widgets may be set from there)."""

    def target() -> None:
        try:
            result = work()
        except BaseException as exc:  # reported to the panel in words
            done(None, exc)
        else:
            done(result, None)

    thread = threading.Thread(target=target, daemon=True, name="aitrade-panel")
    thread.start()
    return thread


class Ticker:
    """Calls ``read`` in a worker thread every ``every_s`` seconds and ``show`` with its result on the loop."""

    def __init__(self, read: Callable[[], Any], show: Callable[[Any], None], every_s: float = 2.0) -> None:
        self.read, self.show, self.every_s = read, show, every_s
        self._task: asyncio.Task[None] | None = None
        self.errors = 0

    def start(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            try:
                loop = asyncio.get_event_loop()
            except RuntimeError:
                return False
            if not loop.is_running():
                return False
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return True

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = await loop.run_in_executor(None, self.read)
                self.show(data)
            except asyncio.CancelledError:
                raise
            except Exception:  # a file mid-write or gone: try again next time, count it
                self.errors += 1
            await asyncio.sleep(self.every_s)


def field_row(label: str, widget: w.Widget, error: w.HTML | None = None, width: str = "140px") -> w.HBox:
    parts: list[w.Widget] = [w.Label(label, layout=w.Layout(width=width)), widget]
    if error is not None:
        parts.append(error)
    return w.HBox(parts)


def error_label() -> w.HTML:
    return w.HTML("", layout=w.Layout(margin="0 0 0 8px"))


def show_errors(labels: dict[str, w.HTML], errors: dict[str, str]) -> None:
    for name, label in labels.items():
        label.value = coloured(errors[name], "error") if name in errors else ""


def set_options(dropdown: w.Dropdown, options: list[Any]) -> None:
    """Replace a dropdown's options, keeping its value when still offered, else choosing the first."""
    old = dropdown.value
    dropdown.options = options
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    dropdown.value = old if old in values else (values[0] if values else None)
