"""The AiTrade control room: ipywidgets panels over the command functions the CLI uses.

``ControlRoom()`` shows the KILL SWITCH above the tabs: TRADE (the runner's start
and stop beside open positions, closed trades, daily P&L and its log), RESEARCH
(the research form and its jobs), PROMOTE, GENOME RANGES, LIVE MONITOR, WAR ROOM
and DATA FACTORY. The panels are clients: they read the ledger,
heartbeat, jobs and run folders, and act only through
:mod:`aitrade.commands`. Closing the notebook or losing the kernel never
touches a running runner or job; those are processes of their own.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from aitrade.commands.jobs import list_jobs  # by name: the package's own widgets.jobs would shadow the module
from widgets.common import Ticker, heading, settings_for
from widgets.control import JOBS_TITLE, ControlPanel
from widgets.datafactory import DataFactoryPanel
from widgets.kill import KillSwitchPanel
from widgets.monitor import LiveMonitorPanel
from widgets.trade import TradeView
from widgets.warroom import WarRoomPanel

TABS = ("TRADE", "RESEARCH", "PROMOTE", "GENOME RANGES", "LIVE MONITOR", "WAR ROOM", "DATA FACTORY")


class ControlRoom(w.VBox):
    """KILL SWITCH above the tabs; ``home`` defaults to $AITRADE_HOME (else the current folder)."""

    def __init__(self, home: Any = None, *, every_s: float = 2.0) -> None:
        self.settings = settings_for(home)
        self.kill = KillSwitchPanel(self.settings)
        self.control = ControlPanel(self.settings)
        self.warroom = WarRoomPanel(self.settings)
        self.monitor = LiveMonitorPanel(self.settings, every_s=every_s)
        self.factory = DataFactoryPanel(self.settings, lazy=True)  # its sample inventory: when its tab opens
        parts = self.control.sections
        self.trade = TradeView(self.settings, w.VBox([parts["mode"], parts["runner"]]))
        self.monitor.listeners.append(self.trade.show)
        if self.monitor.snap is not None:
            self.trade.show(self.monitor.snap)
        research = w.VBox([parts["research"], heading(JOBS_TITLE), self.control.jobs])
        views = [self.trade, research, parts["promote"], parts["ranges"], self.monitor, self.warroom, self.factory]
        self.tabs = w.Tab(children=views)
        for i, title in enumerate(TABS):
            self.tabs.set_title(i, title)
        self.tabs.observe(self._opened, "selected_index")
        banner = w.HTML(f"<b>AiTrade control room</b> · home <code>{self.settings.home}</code>")
        super().__init__([banner, self.kill, self.tabs])
        self.add_class("aitrade-control-room")
        # one ticker keeps the kill switch, jobs and runner state current; LIVE MONITOR has its own
        self.ticker = Ticker(self._read, self._show, every_s)
        self.start()

    def _opened(self, change: dict[str, Any]) -> None:
        if change["new"] == TABS.index("DATA FACTORY"):
            self.factory.opened()

    def _read(self) -> dict[str, Any]:
        """Every file read of a refresh, in the worker thread; the jobs folder is listed once for both views."""
        found = list_jobs(self.settings, limit=50)
        return {
            "kill": self.kill.read(),
            "jobs": self.control.jobs.select(found),
            "fetches": self.factory.jobs.select(found),
            "runner": self.control.read_runner(),
        }

    def _show(self, data: dict[str, Any]) -> None:
        self.kill.show(data["kill"])
        self.control.jobs.show(data["jobs"])
        self.factory.jobs.show(data["fetches"])
        self.control.show_runner(data["runner"])

    def start(self) -> None:
        """Start the timed refreshes (needs the kernel's running event loop; a no-op without one)."""
        self.ticker.start()
        self.monitor.start()

    def close(self) -> None:
        if hasattr(self, "ticker"):  # a room that failed half-built is closed by the garbage collector too
            self.ticker.stop()
            self.monitor.stop()
        super().close()


__all__ = [
    "ControlPanel",
    "ControlRoom",
    "DataFactoryPanel",
    "KillSwitchPanel",
    "LiveMonitorPanel",
    "TradeView",
    "WarRoomPanel",
]
