"""CONTROL: execution mode, research runs as background jobs, genome ranges, promotion with evidence, the runner."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from aitrade.cliargs import PRESETS, SOURCES
from aitrade.commands import control_panel as cp
from aitrade.commands import runner_cmd
from aitrade.config import Settings
from aitrade.defaults import CAPITAL, quick_look
from aitrade.optimize.ga import GENES
from widgets.common import (
    Status,
    coloured,
    error_label,
    esc,
    field_row,
    heading,
    in_background,
    set_options,
    show_errors,
)
from widgets.jobs import JobsView

if TYPE_CHECKING:
    from aitrade.runner.control import Heartbeat

LIVE_WORD = "LIVE"
JOBS_TITLE = "Jobs (they keep running when this page or kernel closes)"
PROFILE_RULES = "the profile's trading rules (no genome file)"


class ControlPanel(w.VBox):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.status = Status(settings)
        self.jobs = JobsView(settings, on_completed=lambda _job: self.load_runs())  # new runs offered at once
        self.sections = {
            "mode": self._mode(),
            "research": self._research(),
            "ranges": self._ranges(),
            "promote": self._promote(),
            "runner": self._runner(),
        }
        titles = {
            "mode": "Execution mode",
            "research": "Research",
            "ranges": "Optimiser genome ranges",
            "promote": "Promote a run to production",
            "runner": "Runner",
        }
        body: list[w.Widget] = []
        for key, section in self.sections.items():
            body += [heading(titles[key]), section]
            if key == "research":
                body += [heading(JOBS_TITLE), self.jobs]
        super().__init__(body)  # the whole form (the control room lays its sections out in tabs)
        self.refresh()

    def refresh(self) -> None:
        self.jobs.refresh()
        self._runner_state()

    # --- mode ------------------------------------------------------------------------------------------------
    def _mode(self) -> w.Widget:
        allowed, why = cp.live_choice(self.settings)
        self.live_allowed = allowed
        self.mode = w.RadioButtons(options=["paper", "live"], value="paper", layout=w.Layout(width="120px"))
        self.mode_note = w.HTML(coloured(why, "warn" if allowed else "muted"))
        self.mode.observe(self._mode_changed, "value")
        return w.HBox([self.mode, self.mode_note])

    def _mode_changed(self, change: dict[str, Any]) -> None:
        if change["new"] == "live" and not self.live_allowed:
            self.mode.value = "paper"
            self.mode_note.value = coloured(cp.live_choice(self.settings)[1], "error")

    # --- research --------------------------------------------------------------------------------------------
    def _research(self) -> w.Widget:
        q = quick_look  # the research notebooks' own defaults (aitrade.defaults), so the form and they agree
        f = {
            "symbols": w.Text(value=str(q("symbols")), layout=w.Layout(width="300px")),
            "source": w.Dropdown(options=list(SOURCES), value=q("source")),
            "interval": w.Text(value=str(q("interval")), layout=w.Layout(width="80px")),
            "start": w.Text(
                value=str(q("start") or ""), placeholder="YYYY-MM-DD (optional)", layout=w.Layout(width="160px")
            ),
            "end": w.Text(value=str(q("end") or ""), layout=w.Layout(width="160px")),
            "train_window": w.IntText(value=q("train_window"), layout=w.Layout(width="100px")),
            "trade_window": w.IntText(value=q("trade_window"), layout=w.Layout(width="100px")),
            "epochs": w.IntText(value=q("epochs"), layout=w.Layout(width="100px")),
            "seed": w.IntText(value=q("seed"), layout=w.Layout(width="100px")),
            "model": w.Dropdown(options=list(cp.MODELS), value=q("model"), description=""),
            "preset": w.Dropdown(options=list(PRESETS), value=q("preset")),
        }
        self.research_fields = f
        self.research_errors = {k: error_label() for k in f}
        for name, widget in f.items():
            widget.add_class(f"aitrade-research-{name.replace('_', '-')}")
        self.params_file = w.Text(
            placeholder="params/ci.yaml (optional: a YAML of notebook parameters)", layout=w.Layout(width="380px")
        )
        self.params_file.add_class("aitrade-research-params")
        self.use_form = w.Checkbox(
            value=True,
            description="the form's values override the file",
            indent=False,
            style={"description_width": "initial"},
            layout=w.Layout(width="auto"),
        )
        self.use_form.add_class("aitrade-research-use-form")
        buttons = []
        for name, label in cp.RESEARCH.items():
            b = w.Button(description=f"run {label}", layout=w.Layout(width="230px"))
            b.add_class(f"aitrade-run-{name.replace('_', '-')}")
            b.on_click(lambda _b, n=name: self.run_research(n))
            buttons.append(b)
        self.research_status = Status(self.settings)
        labels = {"model": "model (walk)", "preset": "preset (universal)"}
        rows = [field_row(labels.get(k, k.replace("_", " ")), v, self.research_errors[k]) for k, v in f.items()]
        return w.VBox(
            [
                *rows,
                field_row("parameter file", self.params_file),
                self.use_form,
                w.HBox(buttons[:2]),
                w.HBox(buttons[2:]),
                self.research_status,
            ]
        )

    def research_form(self) -> dict[str, Any]:
        return {
            k: (v.value if not isinstance(v.value, str) else v.value.strip()) for k, v in self.research_fields.items()
        }

    def run_research(self, notebook: str) -> dict[str, Any] | None:
        form = self.research_form() if self.use_form.value else {}
        _values, errors = cp.check_research(form)
        show_errors(self.research_errors, errors)
        if errors:
            self.research_status.say("not started: fix the fields marked in red", "error")
            return None
        params = self.params_file.value.strip() or None
        try:
            if params is not None:
                from aitrade.notebooks import params_path  # noqa: PLC0415

                params = str(params_path(self.settings, params))
            job = cp.start_research(self.settings, notebook, form, params_file=params)
        except Exception as exc:
            self.research_status.error(exc)
            return None
        self.research_status.say(f"started {cp.RESEARCH[notebook]} as job {job['id']} (pid {job['pid']})", "ok")
        self.jobs.refresh()
        return job

    # --- genome ranges ---------------------------------------------------------------------------------------
    def _ranges(self) -> w.Widget:
        files = cp.optimizer_files(self.settings)
        self.range_file = w.Dropdown(
            options=files,
            value="optimizer_demo.yaml" if "optimizer_demo.yaml" in files else (files[0] if files else None),
        )
        self.range_file.observe(lambda _: self.load_ranges(), "value")
        self.save_as = w.Text(layout=w.Layout(width="240px"))
        self.range_lo = {g: w.FloatText(layout=w.Layout(width="90px")) for g in GENES}
        self.range_hi = {g: w.FloatText(layout=w.Layout(width="90px")) for g in GENES}
        self.range_errors = {g: error_label() for g in GENES}
        self.save_ranges_button = w.Button(description="save ranges", button_style="primary")
        self.save_ranges_button.on_click(lambda _: self.save_ranges())
        self.ranges_status = Status(self.settings)
        rows = [
            w.HBox(
                [
                    w.Label(g, layout=w.Layout(width="90px")),
                    self.range_lo[g],
                    w.Label("to"),
                    self.range_hi[g],
                    self.range_errors[g],
                ]
            )
            for g in GENES
        ]
        self._range_data: dict[str, Any] = {}
        self.load_ranges()
        return w.VBox(
            [
                field_row("settings file", self.range_file),
                *rows,
                w.HBox([w.Label("save as params/"), self.save_as, self.save_ranges_button]),
                self.ranges_status,
            ]
        )

    def load_ranges(self) -> None:
        if not self.range_file.value:
            return
        try:
            data = cp.load_optimizer(self.settings, self.range_file.value)
        except Exception as exc:
            self.ranges_status.error(exc)
            return
        self._range_data = data
        for g, (lo, hi) in (data.get("ranges") or {}).items():
            if g in self.range_lo:
                self.range_lo[g].value, self.range_hi[g].value = float(lo), float(hi)
        self.save_as.value = self.range_file.value
        show_errors(self.range_errors, {})

    def save_ranges(self) -> Path | None:
        ranges = {g: [self.range_lo[g].value, self.range_hi[g].value] for g in GENES}
        errors = cp.check_ranges(ranges)
        show_errors(self.range_errors, errors)
        if errors:
            self.ranges_status.say("not saved: fix the ranges marked in red", "error")
            return None
        try:
            path = cp.save_optimizer(self.settings, self.save_as.value.strip(), {**self._range_data, "ranges": ranges})
        except Exception as exc:
            self.ranges_status.error(exc)
            return None
        self.ranges_status.say(f"saved {path}", "ok")
        return path

    # --- promotion -------------------------------------------------------------------------------------------
    def _promote(self) -> w.Widget:
        self.promote_run = w.Dropdown(options=[], layout=w.Layout(width="760px"))
        self.promote_run.add_class("aitrade-promote-run")
        self.evidence = w.HTML()
        self.promote_ok = w.Checkbox(
            value=False, description="I have read the evidence above", indent=False, layout=w.Layout(width="auto")
        )
        self.promote_ok.add_class("aitrade-promote-ok")
        self.promote_button = w.Button(description="promote", button_style="warning", disabled=True)
        self.promote_button.add_class("aitrade-promote")
        self.promote_ok.observe(lambda c: setattr(self.promote_button, "disabled", not c["new"]), "value")
        self.promote_run.observe(lambda _: self.show_evidence(), "value")
        self.promote_button.on_click(lambda _: self.promote())
        self.promote_status = Status(self.settings)
        reload = w.Button(description="reload runs")
        reload.on_click(lambda _: self.load_runs())
        self.load_runs()
        self.promote_override = w.Text(
            placeholder="only for a model worse than the class prior: why promote it anyway (recorded)",
            layout=w.Layout(width="560px"),
        )
        self.promote_override.add_class("aitrade-promote-override")
        confirm = w.VBox([self.promote_override, w.HBox([self.promote_ok, self.promote_button])])
        return w.VBox([w.HBox([self.promote_run, reload]), self.evidence, confirm, self.promote_status])

    def load_runs(self) -> None:
        runs = cp.signal_runs(self.settings)
        set_options(self.promote_run, [(r["label"], r["run"]) for r in runs])
        if hasattr(self, "runner_signals"):
            choices = [(r["label"], r["run"]) for r in runs]
            set_options(self.runner_signals, [*choices, ("model (the promoted bundle, live inference)", "model")])
            promoted = next((r["run"] for r in runs if r["promoted"]), None)
            if promoted is not None:  # the runner's default is what was promoted, not the newest run
                self.runner_signals.value = promoted
            self.load_genomes()
        self.show_evidence()

    def load_genomes(self) -> None:
        """The genome picker for the chosen signals: the newest optimiser run over them first."""
        found = cp.genomes(self.settings, self.runner_signals.value)
        set_options(self.runner_genome, [*((g["label"], g["path"]) for g in found), (PROFILE_RULES, "")])
        self.runner_genome.value = next((g["path"] for g in found if g["over"]), "")

    def show_evidence(self) -> None:
        self.promote_ok.value = False
        if hasattr(self, "promote_override"):
            self.promote_override.value = ""
        run = self.promote_run.value
        if not run:
            self.evidence.value = "<i>no complete signals run yet</i>"
            return
        ev = cp.evidence(self.settings, run)
        what = ", ".join(str(x) for x in (ev["mode"], ev["interval"], ", ".join(ev["symbols"] or [])) if x)
        parts = [f"<div><b>out of sample</b>{f' ({esc(what)})' if what else ''}: {esc(ev['research'])}</div>"]
        if ev.get("verdict"):
            said = coloured(f"verdict: {ev['verdict']}", ev["verdict_level"])
            parts.append(f"<div class='aitrade-verdict'>{said}</div>")
        for o in ev["optimisations"]:
            parts.append(
                f"<div><b>{esc(Path(o['run']).name)}</b>: Sharpe {o['sharpe'] or 0:.2f}, deflated Sharpe "
                f"{o['deflated_sharpe'] or 0:.3f} over {esc(o['trials'])} effective trials "
                f"({esc(o.get('evaluations'))} evaluated; {esc(o['dsr_verdict'])}); "
                f"PBO {o['pbo'] if o['pbo'] is None else round(o['pbo'], 3)} ({esc(o['pbo_verdict'])}). "
                f"<i>{esc(o['statistics'])}</i></div>"
            )
        if ev.get("note"):
            parts.append(coloured(ev["note"], "warn"))
        self.evidence.value = "".join(parts)

    def promote(self) -> None:
        try:
            out = cp.promote(
                self.settings,
                self.promote_run.value,
                confirm=self.promote_ok.value,
                override=self.promote_override.value,
            )
        except Exception as exc:
            self.promote_status.error(exc)
            return
        self.promote_status.say(f"promoted to {out['production']}: `--signals model` now trades it", "ok")
        self.promote_ok.value = False
        self.promote_override.value = ""

    # --- the runner ------------------------------------------------------------------------------------------
    def _runner(self) -> w.Widget:
        self.runner_signals = w.Dropdown(options=[], layout=w.Layout(width="760px"))
        self.runner_genome = w.Dropdown(options=[], layout=w.Layout(width="760px"))
        self.runner_params = w.Text(
            placeholder="or a genome file: runs/<optimise run>/best_strategy_params.json (against the home)",
            layout=w.Layout(width="760px"),
        )
        self.runner_signals.observe(lambda _: self.load_genomes(), "value")
        self.runner_replay = w.Checkbox(
            value=True, description="replay history through paper", indent=False, layout=w.Layout(width="auto")
        )
        self.runner_speed = w.FloatText(value=0.0, layout=w.Layout(width="100px"))
        self.runner_capital = w.FloatText(value=CAPITAL, layout=w.Layout(width="120px"))
        self.runner_start = w.Text(placeholder="replay from (UTC, optional)", layout=w.Layout(width="200px"))
        self.runner_end = w.Text(placeholder="replay up to (UTC, optional)", layout=w.Layout(width="200px"))
        self.runner_reset = w.Checkbox(
            value=False,
            description="archive the previous session first (--reset)",
            indent=False,
            layout=w.Layout(width="auto"),
        )
        self.live_confirm = w.Text(placeholder=f"type {LIVE_WORD} for a live start", layout=w.Layout(width="220px"))
        self.start_button = w.Button(description="start runner", button_style="success", icon="play")
        self.stop_button = w.Button(description="stop runner", icon="stop")
        self.runner_state = w.HTML()
        self.runner_status = Status(self.settings)
        for name in ("signals", "genome", "params", "replay", "speed", "capital", "reset"):
            getattr(self, f"runner_{name}").add_class(f"aitrade-runner-{name}")
        self.start_button.add_class("aitrade-runner-start")
        self.stop_button.add_class("aitrade-runner-stop")
        self.start_button.on_click(lambda _: self.start_runner())
        self.stop_button.on_click(lambda _: self.stop_runner())
        self.load_runs()
        return w.VBox(
            [
                field_row("signals", self.runner_signals),
                field_row("genome", self.runner_genome),
                field_row("", self.runner_params),
                w.HBox([self.runner_replay, w.Label("bars per second (0: fast)"), self.runner_speed]),
                field_row("capital", self.runner_capital),
                w.HBox([field_row("replay window", self.runner_start), self.runner_end]),
                self.runner_reset,
                self.live_confirm,
                w.HBox([self.start_button, self.stop_button]),
                self.runner_state,
                self.runner_status,
            ]
        )

    def start_runner(self) -> None:
        mode = self.mode.value
        if mode == "live" and self.live_confirm.value.strip() != LIVE_WORD:
            self.runner_status.say(f"a live start sends real orders: type {LIVE_WORD} in the box first", "error")
            return
        options = {
            "signals": self.runner_signals.value,
            "params": self.runner_params.value.strip() or self.runner_genome.value or None,
            "mode": mode,
            "replay": self.runner_replay.value,
            "speed": self.runner_speed.value,
            "capital": self.runner_capital.value,
            "reset": self.runner_reset.value,
            "start": self.runner_start.value.strip() or None,
            "end": self.runner_end.value.strip() or None,
        }
        if not options["signals"]:
            self.runner_status.say("choose the signals first", "error")
            return
        self.start_button.disabled = True
        self.runner_status.say(f"starting a {mode} runner ...")

        def done(out: Any, error: BaseException | None) -> None:
            self.start_button.disabled = False
            self.live_confirm.value = ""
            if error is not None:
                self.runner_status.error(error)
            else:
                archived = f"; archived the old session to {out['archived']}" if out.get("archived") else ""
                self.runner_status.say(
                    f"runner started: pid {out['pid']}, state {out['state']}, log {out['log']}{archived}", "ok"
                )
            self._runner_state()

        in_background(lambda: runner_cmd.start(self.settings, **options), done)

    def stop_runner(self) -> None:
        self.stop_button.disabled = True
        self.runner_status.say("asking the runner to stop after its tick ...")

        def done(out: Any, error: BaseException | None) -> None:
            self.stop_button.disabled = False
            if error is not None:
                self.runner_status.error(error)
            else:
                self.runner_status.say(
                    f"runner (pid {out['pid']}) stopped; positions and protections stay"
                    if out["stopped"]
                    else out["message"],
                    "ok",
                )
            self._runner_state()

        in_background(lambda: runner_cmd.stop(self.settings), done)

    def read_runner(self) -> tuple[int | None, Heartbeat | None]:
        """The runner's pid (None when none runs) and its last heartbeat: file reads, off the kernel's loop."""
        from aitrade.runner import control  # noqa: PLC0415

        try:
            beat = control.read_heartbeat(self.settings.state_dir)
        except Exception:  # mid-write or corrupt: LIVE MONITOR says which
            beat = None
        return runner_cmd.running_pid(self.settings), beat

    def show_runner(self, runner: tuple[int | None, Heartbeat | None]) -> None:
        pid, beat = runner
        if pid:
            state = (beat.state or "starting") if beat is not None and beat.pid == pid else "starting"
            kind = {"ACTIVE": "ok", "REDUCING": "warn", "HALTED": "error"}.get(state, "info")
            mode, feed = (beat.mode or "?", beat.feed) if beat is not None else ("?", "")
            text = f"running: pid {pid}, {mode} {feed}, state {state}"
            self.runner_state.value = coloured(text, kind, bold=True)
        else:
            last = f" (last session ended {esc(beat.phase)}, state {esc(beat.state)})" if beat else ""
            self.runner_state.value = coloured("not running", "muted") + last

    def _runner_state(self) -> None:
        self.show_runner(self.read_runner())
