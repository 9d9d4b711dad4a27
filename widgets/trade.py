"""TRADE: the runner's start and stop beside what it holds, what it closed, the day's P&L and its log (FreqUI's habit).

The figures are the LIVE MONITOR's snapshot (one read every refresh serves both): positions from the runner's
ledger while it is alive, from the accounts when it is not; closed trades and daily P&L from the ledger of the
session, finished or not; the newest runner log's last lines, secrets redacted.
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w

from aitrade import rules
from aitrade.commands import kill_cmd, monitor
from aitrade.commands.text import detail
from aitrade.config import Settings
from widgets.common import Status, coloured, esc, heading, in_background, set_options, table

TRADE_COLUMNS = [c for c in rules.TRADE_COLUMNS if c != "fees"]
DAY_COLUMNS = ["day", "trades", "pnl", "equity"]


class TradeView(w.VBox):
    def __init__(self, settings: Settings, runner: w.Widget) -> None:
        self.settings = settings
        self.source = w.HTML()
        self.positions = w.HTML()
        self.positions.add_class("aitrade-trade-positions")
        self.trades = w.HTML()
        self.trades.add_class("aitrade-trade-closed")
        self.daily = w.HTML()
        self.log_name = w.HTML()
        self.log_text = w.HTML()
        self.log_text.add_class("aitrade-trade-log")
        columns = w.HBox(
            [
                w.VBox([heading("Closed trades (newest first)"), self.trades], layout=w.Layout(margin="0 24px 0 0")),
                w.VBox([heading("Realised P&L by day (UTC)"), self.daily]),
            ]
        )
        super().__init__(
            [
                heading("Runner"),
                runner,
                heading("Open positions"),
                self.source,
                self.positions,
                self._force_exit(),
                columns,
                heading("Runner log"),
                self.log_name,
                self.log_text,
            ]
        )

    # --- per-trade force exit: the kill switch's path for one position -------------------------------------
    def _force_exit(self) -> w.Widget:
        self.exit_symbol = w.Dropdown(options=[], layout=w.Layout(width="160px"))
        self.exit_reason = w.Text(placeholder="why (required, recorded)", layout=w.Layout(width="320px"))
        self.exit_button = w.Button(description="FORCE EXIT", button_style="danger", disabled=True)
        self.exit_status = Status(self.settings)
        for name in ("symbol", "reason", "button"):
            getattr(self, f"exit_{name}").add_class(f"aitrade-force-exit-{name}")
        self.exit_reason.observe(lambda _: self._enable(), "value")
        self.exit_symbol.observe(lambda _: self._enable(), "value")
        self.exit_button.on_click(lambda _: self.force_exit())
        self._busy = False
        label = w.HTML("close one position now (its close first, its protections once filled; trading goes on):")
        return w.VBox([label, w.HBox([self.exit_symbol, self.exit_reason, self.exit_button]), self.exit_status])

    def _enable(self) -> None:
        self.exit_button.disabled = self._busy or not self.exit_symbol.value or not self.exit_reason.value.strip()

    def force_exit(self) -> None:
        symbol, reason = self.exit_symbol.value, self.exit_reason.value.strip()
        if not symbol or not reason:
            self.exit_status.say("choose a position and give a reason first", "error")
            return
        self._busy = True
        self._enable()
        t0 = time.monotonic()
        self.exit_status.say(f"closing {symbol} ...")

        def done(out: Any, error: BaseException | None) -> None:
            self._busy = False
            if error is not None:
                self.exit_status.error(error)
            elif out["confirmed"]:
                result = out["request"]["result"]
                who = f"runner pid {out['runner']}" if out["runner"] else "no runner alive: closed here"
                kept = detail({k: v for k, v in result.items() if k in ("closed", "cancelled", "note")})
                self.exit_status.say(f"{symbol} flat in {time.monotonic() - t0:.1f} s ({who}): {kept}", "warn")
                self.exit_reason.value = ""
            else:
                self.exit_status.say(out["message"], "error")
            self._enable()

        in_background(lambda: kill_cmd.force_exit(self.settings, symbol, reason), done)

    def show(self, snap: monitor.Snapshot) -> None:
        from widgets.monitor import ACCOUNT_COLUMNS, POSITION_COLUMNS  # noqa: PLC0415

        self.source.value = coloured(snap.source_note, "muted")
        cols = ACCOUNT_COLUMNS if snap.source == "accounts" else POSITION_COLUMNS
        self.positions.value = table(snap.positions, cols, empty="no open positions")
        held = sorted({str(p["symbol"]) for p in [*snap.positions, *snap.orders]})
        if held != sorted(str(o) for o in self.exit_symbol.options):
            set_options(self.exit_symbol, held)
            self._enable()
        self.trades.value = table(snap.trades, TRADE_COLUMNS, empty="no closed trades in this session")
        self.daily.value = table(snap.daily, DAY_COLUMNS, empty="no realised P&L yet")
        if snap.log_path is None:
            self.log_name.value = coloured("no runner log yet (state/logs/runner-*.log)", "muted")
            self.log_text.value = ""
            return
        self.log_name.value = coloured(f"last lines of {snap.log_path}", "muted")
        text = "\n".join(snap.log_tail) or "(the runner has written nothing to its log yet)"
        self.log_text.value = (
            "<pre style='font-size:11px;max-height:260px;overflow:auto;background:#f7f7f7;padding:6px;margin:0'>"
            f"{esc(text)}</pre>"
        )


__all__ = ["TradeView"]
