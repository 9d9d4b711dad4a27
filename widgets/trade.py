"""TRADE: the runner's start and stop beside what it holds, what it closed, the day's P&L and its log (FreqUI's habit).

The figures are the LIVE MONITOR's snapshot (one read every refresh serves both): positions from the runner's
ledger while it is alive, from the accounts when it is not; closed trades and daily P&L from the ledger of the
session, finished or not; the newest runner log's last lines, secrets redacted.
"""

from __future__ import annotations

import ipywidgets as w

from aitrade.commands import monitor
from widgets.common import coloured, esc, heading, table

TRADE_COLUMNS = ["symbol", "side", "entry_time", "entry_price", "exit_time", "exit_price", "quantity", "pnl"]
DAY_COLUMNS = ["day", "trades", "pnl", "equity"]


class TradeView(w.VBox):
    def __init__(self, runner: w.Widget) -> None:
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
                columns,
                heading("Runner log"),
                self.log_name,
                self.log_text,
            ]
        )

    def show(self, snap: monitor.Snapshot) -> None:
        from widgets.monitor import ACCOUNT_COLUMNS, POSITION_COLUMNS  # noqa: PLC0415

        self.source.value = coloured(snap.source_note, "muted")
        cols = ACCOUNT_COLUMNS if snap.source == "accounts" else POSITION_COLUMNS
        self.positions.value = table(snap.positions, cols, empty="no open positions")
        rows = [{**t, "exit_reason": t.get("exit_reason")} for t in snap.trades]
        self.trades.value = table(rows, [*TRADE_COLUMNS, "exit_reason"], empty="no closed trades in this session")
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
