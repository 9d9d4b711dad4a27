"""DATA FACTORY: what is cached, fetching as a job, the quality report, fold metrics and validation images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as w

from aitrade.cliargs import SOURCES
from aitrade.commands import data_cmd, jobs
from aitrade.commands.text import metric_label, metric_value, research_line
from aitrade.config import Settings
from widgets.common import Status, coloured, esc, field_row, heading, in_background, table
from widgets.jobs import JobsView

#: one asset-fold's figures (out of sample), in words
FOLD_COLUMNS = {
    "n": "rows",
    "auc_long": "AUC long",
    "auc_short": "AUC short",
    "log_loss": "log loss",
    "baseline_log_loss": "class prior's log loss",
    "accuracy": "accuracy",
    "baseline_accuracy": "class prior's accuracy",
}


class DataFactoryPanel(w.VBox):
    """The cache and samples, fetch jobs, the quality report and the latest research figures (``lazy``: read when
    :meth:`opened` is first called, as the control room does when its tab is first shown)."""

    def __init__(self, settings: Settings, *, lazy: bool = False) -> None:
        self.settings = settings
        self.loaded = False
        self.inventory = w.HTML("<i>reading the cache and the embedded samples...</i>")
        self.samples = w.HTML()
        self.source = w.Dropdown(options=[s for s in SOURCES if s != "csv"], value="bitget")
        self.symbols = w.Text(placeholder="BTCUSDT,ETHUSDT", layout=w.Layout(width="300px"))
        self.interval = w.Text(value="1h", layout=w.Layout(width="80px"))
        self.start = w.Text(placeholder="YYYY-MM-DD", layout=w.Layout(width="140px"))
        self.end = w.Text(placeholder="YYYY-MM-DD (optional)", layout=w.Layout(width="160px"))
        self.fetch_button = w.Button(
            description="fetch (background job)", button_style="primary", layout=w.Layout(width="200px")
        )
        self.fetch_button.on_click(lambda _: self.fetch())
        self.fetch_status = Status(settings)
        self.jobs = JobsView(settings, kind="fetch", limit=5)
        self.quality_button = w.Button(description="run the quality report")
        self.quality_button.on_click(lambda _: self.quality())
        self.quality_table = w.HTML()
        self.metrics = w.HTML()
        self.images = w.VBox()
        reload = w.Button(description="reload")
        reload.on_click(lambda _: self.refresh())
        super().__init__(
            [
                w.HBox([heading("Cache inventory"), reload]),
                self.inventory,
                self.samples,
                heading("Fetch bars"),
                field_row("source", self.source),
                field_row("symbols", self.symbols),
                field_row("interval", self.interval),
                w.HBox([field_row("start", self.start), field_row("end", self.end, width="50px")]),
                w.HBox([self.fetch_button, self.fetch_status]),
                self.jobs,
                heading("Quality report"),
                self.quality_button,
                self.quality_table,
                heading("Latest signals run: out-of-sample fold metrics against the class prior"),
                self.metrics,
                heading("Latest validation report"),
                self.images,
            ]
        )
        if not lazy:
            self.refresh()

    def opened(self) -> None:
        """The tab came into view: read everything the first time."""
        if not self.loaded:
            self.refresh()

    def refresh(self) -> None:
        self.loaded = True
        inv = data_cmd.inventory(self.settings)
        by_symbol: dict[str, list[str]] = {}
        for r in inv["samples"]:
            by_symbol.setdefault(str(r.get("symbol")), []).append(f"{r.get('interval')} ({r.get('rows')} rows)")
        samples = "; ".join(f"{s} {', '.join(v)}" for s, v in by_symbol.items())
        self.samples.value = f"<div style='font-size:12px;color:#555'><b>embedded samples</b>: {esc(samples)}</div>"
        rows = [{"where": "cache", **r} for r in inv["cache"]]
        cols = [
            c
            for c in ("where", "source", "symbol", "interval", "rows", "start", "end", "error")
            if any(c in r for r in rows)
        ]
        self.inventory.value = table(rows, cols, empty="nothing fetched into the cache yet")
        self.jobs.refresh()
        self._metrics()
        self._images()

    def fetch(self) -> dict[str, Any] | None:
        try:
            request = data_cmd.fetch_request(
                source=self.source.value,
                symbols=self.symbols.value,
                interval=self.interval.value.strip(),
                start=self.start.value.strip() or None,
                end=self.end.value.strip() or None,
            )
            job = jobs.start_fetch(self.settings, request)
        except Exception as exc:
            self.fetch_status.error(exc)
            return None
        self.fetch_status.say(f"fetch started as job {job['id']}", "ok")
        self.jobs.refresh()
        return job

    def quality(self) -> None:
        self.quality_button.disabled = True
        self.quality_table.value = "<i>checking ...</i>"

        def done(rows: Any, error: BaseException | None) -> None:
            self.quality_button.disabled = False
            if error is not None:
                self.quality_table.value = coloured(str(error), "error")
                return
            self.quality_table.value = table(
                [{**r, "ok": "yes" if r.get("ok") else "NO"} for r in rows],
                ["source", "symbol", "interval", "rows", "start", "end", "ok", "report"],
            )

        in_background(lambda: data_cmd.quality(self.settings), done)

    def _metrics(self) -> None:
        found = data_cmd.fold_metrics(self.settings)
        if found is None:
            self.metrics.value = "<i>no signals run yet</i>"
            return
        folds = [
            {FOLD_COLUMNS.get(k, metric_label(k)): metric_value(k, v) for k, v in row.items()}
            for row in found["folds"].to_dict("records")
        ]
        self.metrics.value = (
            f"<div><code>{esc(Path(found['run']).name)}</code>: "
            f"{esc(research_line(found['summary']))}</div>" + table(folds, empty="no folds")
        )

    def _images(self) -> None:
        found = data_cmd.validation_images(self.settings)
        if found is None:
            self.images.children = [w.HTML("<i>no optimise run yet</i>")]
            return
        kids: list[w.Widget] = [w.HTML(f"<code>{esc(Path(found['run']).name)}</code>: {esc(found['note'])}")]
        for path in found["images"][:6]:
            kids.append(w.Image(value=Path(path).read_bytes(), format="png", layout=w.Layout(max_width="900px")))
        self.images.children = kids
