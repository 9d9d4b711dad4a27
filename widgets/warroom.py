"""WAR ROOM: one asset of a signals run, with trades, stop and target, probabilities and indicators.

Drawn with plotly's ``FigureWidget``: zoom, pan and hover in JupyterLab and in
the Voila page with no extra extension (it is an anywidget), shared x-axes
across the price, probability and indicator rows; each drawing is a new widget.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aitrade.commands import control_panel as cp
from aitrade.commands import warroom
from aitrade.commands.text import signed_money
from aitrade.config import Settings
from widgets.common import Status, esc, field_row, set_options


def segments(x0: Any, x1: Any, y: Any) -> tuple[list[Any], list[Any]]:
    """Horizontal segments (x0 -> x1 at y) as one line trace with gaps."""
    xs: list[Any] = []
    ys: list[Any] = []
    for a, b, v in zip(x0, x1, y, strict=True):
        xs += [a, b, None]
        ys += [v, v, None]
    return xs, ys


def figure(ch: warroom.Chart) -> go.Figure:
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.5, 0.18, 0.16, 0.16],
        subplot_titles=(
            f"{ch.symbol}: price, trades, levels",
            "p_long / p_short (out of sample)",
            "RSI and ADX",
            "ATR",
        ),
    )
    b, ind = ch.bars, ch.indicators
    fig.add_trace(
        go.Candlestick(
            x=b.index, open=b["open"], high=b["high"], low=b["low"], close=b["close"], name="price", showlegend=False
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=ind.index, y=ind["support"], name="support", line={"color": "#2ca02c", "width": 1, "dash": "dot"}),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=ind.index, y=ind["resistance"], name="resistance", line={"color": "#d62728", "width": 1, "dash": "dot"}
        ),
        row=1,
        col=1,
    )
    t = ch.trades
    if len(t):
        long = t["side"] == "long"
        for mask, symbol, colour, label in (
            (long, "triangle-up", "#1f77b4", "long entry"),
            (~long, "triangle-down", "#9467bd", "short entry"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=t.loc[mask, "entry_time"],
                    y=t.loc[mask, "entry_price"],
                    mode="markers",
                    name=label,
                    marker={"symbol": symbol, "size": 10, "color": colour},
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=t["exit_time"],
                y=t["exit_price"],
                mode="markers",
                name="exit",
                text=t["exit_reason"],
                hovertemplate="exit %{text}: %{y}<extra></extra>",
                marker={"symbol": "x", "size": 8, "color": "black"},
            ),
            row=1,
            col=1,
        )
        if "stop" in t:
            xs, ys = segments(t["entry_time"], t["exit_time"], t["stop"])
            fig.add_trace(
                go.Scatter(x=xs, y=ys, mode="lines", name="initial stop", line={"color": "#d62728", "width": 2}),
                row=1,
                col=1,
            )
            xs, ys = segments(t["entry_time"], t["exit_time"], t["target"])
            fig.add_trace(
                go.Scatter(x=xs, y=ys, mode="lines", name="initial target", line={"color": "#2ca02c", "width": 2}),
                row=1,
                col=1,
            )
    fig.add_trace(go.Scatter(x=b.index, y=b["p_long"], name="p_long", line={"color": "#1f77b4"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=b.index, y=b["p_short"], name="p_short", line={"color": "#ff7f0e"}), row=2, col=1)
    fig.add_trace(go.Scatter(x=ind.index, y=ind["rsi"], name="RSI", line={"color": "#8c564b"}), row=3, col=1)
    fig.add_trace(go.Scatter(x=ind.index, y=ind["adx"], name="ADX", line={"color": "#e377c2"}), row=3, col=1)
    fig.add_trace(go.Scatter(x=ind.index, y=ind["atr"], name="ATR", line={"color": "#7f7f7f"}), row=4, col=1)
    fig.update_layout(
        height=860,
        width=1250,
        margin={"l": 60, "r": 10, "t": 90, "b": 30},
        xaxis_rangeslider_visible=False,
        dragmode="zoom",
        legend={"orientation": "h", "y": 1.1, "x": 0, "yanchor": "bottom"},
    )
    return fig


class WarRoomPanel(w.VBox):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.run = w.Dropdown(options=[], layout=w.Layout(width="760px"))
        self.symbol = w.Dropdown(options=[])
        self.symbol.add_class("aitrade-warroom-symbol")
        self.trades_from = w.Dropdown(options=[], layout=w.Layout(width="560px"))
        self.draw_button = w.Button(description="draw", button_style="primary")
        self.draw_button.add_class("aitrade-warroom-draw")
        self.reload = w.Button(description="reload runs")
        self.notes = w.HTML()
        self.status = Status(settings)
        self.fig = go.FigureWidget()
        self.chart = w.Box([self.fig])
        self.chart.add_class("aitrade-warroom-chart")
        self.run.observe(lambda _: self._run_changed(), "value")
        self.draw_button.on_click(lambda _: self.draw())
        self.reload.on_click(lambda _: self.load_runs())
        super().__init__(
            [
                w.HBox([field_row("signals run", self.run, width="100px"), self.reload]),
                field_row("asset", self.symbol, width="100px"),
                field_row("trades", self.trades_from, width="100px"),
                w.HBox([self.draw_button, self.status]),
                self.notes,
                self.chart,
            ]
        )
        self.load_runs()

    def load_runs(self) -> None:
        runs = cp.signal_runs(self.settings)
        set_options(self.run, [(r["label"], r["run"]) for r in runs])
        self._run_changed()

    def _run_changed(self) -> None:
        run = self.run.value
        if not run:
            set_options(self.symbol, [])
            set_options(self.trades_from, [])
            return
        from aitrade.signals.artifact import load_signals  # noqa: PLC0415

        try:
            set_options(self.symbol, load_signals(run).symbols)
            sources = warroom.trade_sources(self.settings, run)
        except Exception as exc:
            self.status.error(exc)
            return
        set_options(self.trades_from, [*sources.items(), ("no trades", "")])
        self.trades_from.value = next(iter(sources.values()), "")  # the newest trades by default

    def draw(self) -> warroom.Chart | None:
        if not self.run.value or not self.symbol.value:
            self.status.say("choose a run and an asset", "error")
            return None
        try:
            ch = warroom.chart(self.settings, self.run.value, self.symbol.value, trades_from=self.trades_from.value)
        except Exception as exc:
            self.status.error(exc)
            return None
        # a new widget per drawing: its traces and layout are in the state the page renders it from. Deleting and
        # adding traces on the shown widget are messages a view still loading plotly.js can miss (an empty chart
        # until a reload)
        old, self.fig = self.fig, go.FigureWidget(figure(ch))
        self.chart.children = [self.fig]
        old.close()
        closed = len(ch.trades)
        pnl = float(np.nansum(ch.trades["pnl"])) if closed else 0.0
        self.status.say(
            f"{ch.symbol}: {len(ch.bars):,} bars, {closed} trades from {ch.source}, P&L {signed_money(pnl)}", "ok"
        )
        self.notes.value = "".join(f"<div style='color:#555'>{esc(n)}</div>" for n in ch.notes)
        return ch
