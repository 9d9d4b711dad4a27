"""Background jobs as rows: progress (cells done of total, the cell running), elapsed time, cancel, run folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from aitrade.commands import jobs
from aitrade.config import Settings
from widgets.common import Status, coloured, esc, in_background

KIND = {
    "completed": "ok",
    "running": "info",
    "starting": "info",
    "failed": "error",
    "cancelled": "warn",
    "died": "error",
    "unreadable": "error",
}


class JobRow(w.HBox):
    def __init__(self, view: JobsView, job_id: str) -> None:
        self.view, self.job_id = view, job_id
        self.title = w.HTML(layout=w.Layout(width="230px"))
        self.bar = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="160px"))
        self.info = w.HTML(layout=w.Layout(flex="1 1 auto", margin="0 0 0 8px"))
        self.cancel = w.Button(description="cancel", button_style="warning", layout=w.Layout(width="80px"))
        self.cancel.on_click(self._cancel)
        super().__init__([self.title, self.bar, self.cancel, self.info], layout=w.Layout(width="100%"))
        self.add_class("aitrade-job")

    def update(self, job: dict[str, Any]) -> None:
        status = job.get("status", "?")
        self.title.value = f"<code>{esc(job.get('title'))}</code>"
        progress = job.get("progress") or {}
        total, done = progress.get("total"), progress.get("done", 0)
        if total:
            self.bar.max, self.bar.value = total, min(done, total)
        elif status == "completed":
            self.bar.max, self.bar.value = 1, 1
        self.bar.bar_style = {"completed": "success", "failed": "danger", "died": "danger", "cancelled": "warning"}.get(
            status, "info"
        )
        parts = [coloured(status, KIND.get(status, "info"), bold=True)]
        if total:
            parts.append(f"{done}/{total} cells")
        if job.get("elapsed_s") is not None:
            parts.append(f"{job['elapsed_s']:.0f} s")
        if status in ("running", "starting") and progress.get("current"):
            parts.append(f"now: <code>{esc(progress['current'])}</code>")
        if job.get("error"):
            parts.append(coloured(job["error"][:300], "error"))
        if job.get("run_dir") and status in ("completed", "failed", "cancelled"):
            run = Path(job["run_dir"])
            shown = run.relative_to(self.view.settings.home) if run.is_relative_to(self.view.settings.home) else run
            parts.append(f"run folder: <code class='aitrade-run-dir'>{esc(shown)}</code>")
        self.info.value = " · ".join(parts)
        active = status in ("starting", "running")
        self.cancel.disabled = not active
        self.cancel.layout.visibility = "visible" if active else "hidden"
        self.status = status

    def _cancel(self, _button: Any) -> None:
        self.cancel.disabled = True
        self.view.status.say(f"cancelling {self.job_id} ...")
        in_background(lambda: jobs.cancel(self.view.settings, self.job_id), self.view._cancelled)


class JobsView(w.VBox):
    """The newest jobs, updated in place by :meth:`refresh` (rows keep their widgets between refreshes)."""

    def __init__(
        self,
        settings: Settings,
        *,
        kind: str | None = None,
        limit: int = 8,
        on_completed: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.settings, self.kind, self.limit, self.on_completed = settings, kind, limit, on_completed
        self.rows: dict[str, JobRow] = {}
        self.status = Status(settings)
        self.box = w.VBox()
        super().__init__([self.box, self.status])

    def select(self, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """This view's jobs among ``found`` (one listing can serve several views)."""
        return [j for j in found if self.kind is None or j.get("kind") == self.kind][: self.limit]

    def read(self) -> list[dict[str, Any]]:
        return self.select(jobs.list_jobs(self.settings, limit=50))

    def show(self, found: list[dict[str, Any]]) -> None:
        for job in found:
            row = self.rows.get(job["id"])
            if row is None:
                row = self.rows[job["id"]] = JobRow(self, job["id"])
            before = getattr(row, "status", None)
            row.update(job)
            if before not in (None, "completed") and row.status == "completed" and self.on_completed is not None:
                self.on_completed(job)
        order = [self.rows[j["id"]] for j in found]
        if list(self.box.children) != order:
            self.box.children = order
        if not found:
            self.box.children = [w.HTML("<i>no jobs yet</i>")]

    def refresh(self) -> None:
        self.show(self.read())

    def _cancelled(self, result: Any, error: BaseException | None) -> None:
        if error is not None:
            self.status.error(error)
        else:
            self.status.say(f"job {result['id']}: {result['status']}", "warn")
        self.refresh()
