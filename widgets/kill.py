"""KILL SWITCH, above the tabs: arm with a level and a reason, see what the runner did, release with typed words."""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w

from aitrade.commands import kill_cmd
from aitrade.commands.text import detail, utc
from aitrade.config import Settings
from aitrade.runner import control
from widgets.common import Status, coloured, esc, in_background

RELEASE_WORD = "RELEASE"


class KillSwitchPanel(w.VBox):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.level = w.ToggleButtons(
            options=[("pause entries", "pause"), ("flatten everything", "flatten")], value="pause", description="level"
        )
        self.reason = w.Text(
            placeholder="why (required, goes into the log and the alert)", layout=w.Layout(width="380px")
        )
        self.arm = w.Button(
            description="ARM KILL SWITCH", button_style="danger", disabled=True, layout=w.Layout(width="200px")
        )
        self.state = w.HTML()
        self.confirm_text = w.Text(placeholder=f"type {RELEASE_WORD} to release", layout=w.Layout(width="220px"))
        self.release = w.Button(description="release", button_style="success", disabled=True)
        self.status = Status(settings)
        self.reason.observe(lambda _: self._enable(), "value")
        self.confirm_text.observe(lambda _: self._enable(), "value")
        self.arm.on_click(self._arm)
        self.release.on_click(self._release)
        self.arm.add_class("aitrade-kill-arm")
        self.reason.add_class("aitrade-kill-reason")
        self.confirm_text.add_class("aitrade-kill-confirm")
        self.release.add_class("aitrade-kill-release")
        self.state.add_class("aitrade-kill-state")
        self.level.add_class("aitrade-kill-level")
        self._busy = False
        super().__init__(
            [
                w.HTML("<b>KILL SWITCH</b>"),
                w.HBox([self.level, self.reason, self.arm]),
                self.state,
                w.HBox([self.confirm_text, self.release]),
                self.status,
            ],
            layout=w.Layout(border="2px solid #b00020", padding="6px", margin="0 0 8px 0"),
        )
        self.refresh()

    def _enable(self) -> None:
        self.arm.disabled = self._busy or not self.reason.value.strip()
        self.release.disabled = self._busy or self.confirm_text.value.strip() != RELEASE_WORD

    def read(self) -> control.KillSwitch:
        return control.read_kill(self.settings.state_dir)

    def show(self, kill: control.KillSwitch) -> None:
        if kill.unreadable:
            self.state.value = coloured(
                f"kill switch file unreadable, counted as an armed flatten: {kill.unreadable}", "error", bold=True
            )
            return
        if not kill.engaged:
            released = f" (released {esc(utc(kill.released_at))})" if kill.released_at else ""
            self.state.value = coloured("not armed", "ok", bold=True) + released
            return
        acted = (
            "the runner has not confirmed yet"
            if not kill.acted_at
            else (f"acted at {esc(utc(kill.acted_at))}: {esc(_acted(kill.acted))}")
        )
        self.state.value = (
            coloured(f"ARMED: {kill.level}", "error", bold=True)
            + f" since {esc(utc(kill.armed_at))} by {esc(kill.armed_by)}, reason: <i>{esc(kill.reason)}</i>; {acted}"
        )

    def refresh(self) -> None:
        self.show(self.read())

    def _arm(self, _button: Any) -> None:
        level, reason = self.level.value, self.reason.value.strip()
        if not reason:
            self.status.say("give a reason first", "error")
            return
        self._busy = True
        self._enable()
        t0 = time.monotonic()
        self.status.say(f"arming {level} ... waiting for the runner to act")

        def done(result: Any, error: BaseException | None) -> None:
            self._busy = False
            self._enable()
            if error is not None:
                self.status.error(error)
            else:
                took = time.monotonic() - t0
                if result.get("confirmed"):
                    who = f"runner pid {result['runner']}" if result.get("runner") else "no runner alive: done here"
                    self.status.say(f"{level} confirmed in {took:.1f} s ({who})", "warn")
                else:
                    self.status.say(result.get("message", "armed, not confirmed"), "error")
                self.last_result = {**result, "seconds": took}
            self.refresh()

        in_background(lambda: kill_cmd.kill(self.settings, level, reason), done)

    def _release(self, _button: Any) -> None:
        if self.confirm_text.value.strip() != RELEASE_WORD:
            self.status.say(f"type {RELEASE_WORD} to release", "error")
            return
        try:
            out = kill_cmd.unkill(self.settings, confirm=True)
        except Exception as exc:
            self.status.error(exc)
            return
        self.confirm_text.value = ""
        self.reason.value = ""  # the next arming needs a reason of its own, not the last one still armed in the form
        runner = f"the runner (pid {out['runner']}) reconciles, then trades" if out["runner"] else "no runner alive"
        self.status.say(f"released; {runner}", "ok")
        self.refresh()


def _acted(acted: dict[str, Any]) -> str:
    keep = {k: v for k, v in acted.items() if k in ("state", "closed", "cancelled", "errors", "by", "flat")}
    return detail(keep or acted, 300)


__all__ = ["KillSwitchPanel"]
