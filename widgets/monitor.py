"""LIVE MONITOR: the runner as its files tell it (refreshed every few seconds), and the risk editor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import plotly.graph_objects as go

from aitrade.commands import monitor
from aitrade.config import Settings
from widgets.common import STALENESS, Status, Ticker, coloured, esc, field_row, heading, table

POSITION_COLUMNS = ["symbol", "side", "quantity", "entry", "stop", "target", "last", "unrealised_pnl", "since"]
ACCOUNT_COLUMNS = ["symbol", "venue", "side", "quantity", "entry", "stop", "target", "last", "unrealised_pnl"]
ORDER_COLUMNS = ["symbol", "side", "quantity", "limit", "client_id"]


class LiveMonitorPanel(w.VBox):
    def __init__(self, settings: Settings, *, every_s: float = 2.0) -> None:
        self.settings = settings
        self.header = w.HTML()
        self.positions = w.HTML()
        self.orders = w.HTML()
        self.coverage = w.HTML()
        self.errors = w.HTML()
        self.events = w.HTML()
        self.source = w.HTML()
        self.source.add_class("aitrade-monitor-source")
        self.header.add_class("aitrade-monitor-header")
        self.positions.add_class("aitrade-monitor-positions")
        self.orders.add_class("aitrade-monitor-orders")
        self.equity = go.FigureWidget(
            data=[go.Scatter(x=[], y=[], mode="lines", name="realised equity")],
            layout=go.Layout(
                height=220,
                margin={"l": 50, "r": 10, "t": 30, "b": 30},
                title={"text": "equity from the ledger (realised, at each exit)", "font": {"size": 12}},
            ),
        )
        self.auto = w.Checkbox(
            value=True,
            description=f"refresh every {every_s:g} s",
            indent=False,
            layout=w.Layout(width="auto", margin="0 0 0 16px"),
        )
        self.auto.observe(self._toggle, "value")
        self.ticker = Ticker(self.read, self.show, every_s)
        self.snap: monitor.Snapshot | None = None
        self.listeners: list[Callable[[monitor.Snapshot], None]] = []  # other views of the same snapshot (TRADE)
        self._equity_mark: tuple[int, float | None] = (-1, None)
        self._equity_tracker = monitor.EquityTracker()  # reads only the trades booked since the last refresh
        self._accounts = monitor.AccountsReader()  # with no runner alive: the accounts, venues at most every 10 s
        self._risk()
        super().__init__(
            [
                w.HBox([self.header, self.auto]),
                heading("Positions (AiTrade's own)"),
                self.source,
                self.positions,
                heading("Open orders"),
                self.orders,
                heading("Protection coverage"),
                self.coverage,
                self.equity,
                heading("Last error and recent events"),
                self.errors,
                self.events,
                heading("Risk settings (state/runtime_settings.json)"),
                self.risk_box,
            ]
        )
        self.refresh()

    # --- the snapshot -----------------------------------------------------------------------------------
    def read(self) -> monitor.Snapshot:
        return monitor.snapshot(self.settings, events=12, equity=self._equity_tracker, accounts=self._accounts)

    def show(self, snap: monitor.Snapshot) -> None:
        self.snap = snap
        for listener in self.listeners:
            listener(snap)
        age = "no heartbeat" if snap.heartbeat_age_s is None else f"heartbeat {snap.heartbeat_age_s:,.1f} s ago"
        kill = snap.kill or {}
        kill_text = (
            coloured(f"kill switch ARMED ({kill.get('level')})", "error", bold=True)
            if kill.get("engaged")
            else coloured("kill switch off", "ok")
        )
        beat = (
            f"state <b class='aitrade-state'>{esc(snap.state or '-')}</b> · phase {esc(snap.phase or '-')} · "
            f"mode {esc(snap.mode or '-')} · <span class='aitrade-heartbeat' data-staleness='{esc(snap.staleness)}'>"
            f"{coloured(age, STALENESS.get(snap.staleness, 'info'), bold=True)}</span>"
        )
        if snap.alive:
            runner = f"<b>runner pid {snap.pid}</b> · {beat}"
        else:  # what a dead runner last said is history, written small and grey
            runner = f"<b>no runner running</b> · <span style='color:#777'>its last word: {beat}</span>"
        self.header.value = f"{runner} · {kill_text}"
        stale = snap.source == "runner" and snap.staleness in ("stale", "none")
        self.source.value = (
            f"<span data-source='{esc(snap.source)}'>"
            f"{coloured(snap.source_note, 'warn' if stale else 'muted', bold=stale)}</span>"
        )
        accounts = snap.source == "accounts"
        self.positions.value = table(
            snap.positions, ACCOUNT_COLUMNS if accounts else POSITION_COLUMNS, empty="no open positions"
        )
        self.orders.value = table(
            snap.orders, ORDER_COLUMNS + (["venue"] if accounts else []), empty="no resting entry orders"
        )
        self.coverage.value = coverage_line(snap, stale)
        problems = "".join(f"<div>{coloured(p, 'error')}</div>" for p in snap.problems)
        last = coloured(snap.last_error, "error") if snap.last_error else coloured("no error", "ok")
        self.errors.value = problems + f"<div>last error: {last}</div>"
        self.events.value = table(
            [
                {
                    "time": e.get("time"),
                    "kind": e.get("kind"),
                    "symbol": e.get("symbol"),
                    "detail": e.get("detail"),
                }
                for e in snap.events
            ],
            empty="no events",
        )
        eq = snap.equity
        mark = (len(eq), float(eq.iloc[-1]) if len(eq) else None)
        if mark != self._equity_mark:  # redraw only when a trade closed: 10,000 points cost ~40 ms to send
            self._equity_mark = mark
            with self.equity.batch_update():
                self.equity.data[0].x = eq.index.to_numpy()
                self.equity.data[0].y = eq.to_numpy()
        self._show_pickup()

    def refresh(self) -> None:
        self.show(self.read())

    def start(self) -> None:
        if self.auto.value:
            self.ticker.start()

    def stop(self) -> None:
        self.ticker.stop()

    def _toggle(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.ticker.start()
        else:
            self.ticker.stop()

    # --- the risk editor --------------------------------------------------------------------------------
    def _risk(self) -> None:
        values = monitor.risk_values(self.settings)
        # plain text fields, not bounded ones: a bounded field would clip a bad value silently; apply_risk refuses it
        # with the allowed range instead
        self.risk_fields = {
            "RISK_PER_TRADE": w.FloatText(value=values["RISK_PER_TRADE"], step=0.001),
            "MAX_OPEN_POSITIONS": w.IntText(value=values["MAX_OPEN_POSITIONS"]),
            "MAX_POSITION_NOTIONAL": w.FloatText(value=values["MAX_POSITION_NOTIONAL"]),
            "MAX_DAILY_DRAWDOWN": w.FloatText(value=values["MAX_DAILY_DRAWDOWN"], step=0.01),
        }
        for key, field in self.risk_fields.items():
            field.add_class(f"aitrade-risk-{key.lower().replace('_', '-')}")
        self.apply = w.Button(description="APPLY & SAVE", button_style="primary")
        self.apply.on_click(self._apply)
        self.risk_status = Status(self.settings)
        self.pickup = w.HTML()
        self.saved_at: str | None = None
        rows = [field_row(k.lower().replace("_", " "), f, width="200px") for k, f in self.risk_fields.items()]
        self.risk_box = w.VBox([*rows, w.HBox([self.apply, self.risk_status]), self.pickup])

    def _apply(self, _button: Any) -> None:
        updates = {k: f.value for k, f in self.risk_fields.items()}
        try:
            out = monitor.apply_risk(self.settings, updates)
        except Exception as exc:
            self.risk_status.error(exc)
            return
        self.saved_at = out["saved_at"]
        self.risk_status.say(f"saved to {out['path']} at {out['saved_at']}", "ok")
        self._show_pickup()

    def _show_pickup(self) -> None:
        if self.saved_at is None or self.snap is None:
            return
        state = monitor.picked_up(self.snap, self.saved_at)
        if state is None:
            self.pickup.value = coloured("no runner is running: the next start uses these limits", "muted")
        elif state:
            self.pickup.value = coloured(f"picked up by the runner at {self.snap.settings_applied_at}", "ok")
        else:
            self.pickup.value = coloured(
                "waiting for the runner to pick them up (it re-reads the file each tick)", "warn"
            )


def coverage_line(snap: monitor.Snapshot, stale: bool) -> str:
    """Protection coverage in words, green only when it is fresh and whole."""
    cov = snap.coverage or {}
    if not cov:
        return coloured("no coverage reported yet", "muted")
    open_, covered = cov.get("open", 0), cov.get("protected", 0)
    if snap.source == "accounts":
        text = f"{covered} of {open_} open positions hold a stop at the venue (no runner alive: no synthetic stops)"
    else:
        text = (
            f"{covered} of {open_} open positions protected; seconds uncovered so far "
            f"{cov.get('seconds_uncovered', 0):,.0f}"
        )
    if stale:
        return coloured(f"{text}, as of the last heartbeat (out of date)", "warn")
    return coloured(text, "ok" if covered >= open_ else "error", bold=covered < open_)


__all__ = ["LiveMonitorPanel"]
