"""Matplotlib figures for research runs (used by the notebooks and written to run folders)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def price_with_signals(signals: pd.DataFrame, symbol: str, threshold: float = 0.6, synthetic: bool = False) -> Figure:
    """Close price with the bars where p_long or p_short passed ``threshold``, and both probabilities."""
    s = signals[signals["symbol"] == symbol].set_index("ts")
    fig = Figure(figsize=(11, 6))
    (ax, axp) = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    ax.plot(s.index, s["close"], color="0.3", lw=0.8, label="close")
    longs, shorts = s[s["p_long"] > threshold], s[s["p_short"] > threshold]
    ax.scatter(longs.index, longs["close"], marker="^", color="tab:green", s=14, label=f"p_long > {threshold}")
    ax.scatter(shorts.index, shorts["close"], marker="v", color="tab:red", s=14, label=f"p_short > {threshold}")
    title = f"{symbol}: out-of-sample signals" + (" (SYNTHETIC DATA)" if synthetic else "")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    axp.plot(s.index, s["p_long"], color="tab:green", lw=0.6, label="p_long")
    axp.plot(s.index, s["p_short"], color="tab:red", lw=0.6, label="p_short")
    axp.axhline(threshold, color="0.5", ls="--", lw=0.7)
    axp.set_ylim(0, 1)
    axp.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def probability_histograms(signals: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    bins = np.linspace(0, 1, 41).tolist()
    ax.hist(signals["p_long"], bins=bins, alpha=0.6, color="tab:green", label="p_long")
    ax.hist(signals["p_short"], bins=bins, alpha=0.6, color="tab:red", label="p_short")
    ax.set_xlabel("probability")
    ax.set_ylabel("bars")
    ax.set_title("Out-of-sample probability distribution")
    ax.legend()
    fig.tight_layout()
    return fig


def fold_metrics_figure(records: list[dict[str, Any]]) -> Figure:
    rows = pd.DataFrame([r for r in records if r.get("n")])
    fig = Figure(figsize=(11, 3.5))
    (a1, a2) = fig.subplots(1, 2)
    if not rows.empty:
        per = rows.groupby("fold")[["log_loss", "baseline_log_loss", "auc_long", "auc_short"]].mean()
        a1.plot(per.index, per["log_loss"], marker="o", label="model")
        a1.plot(per.index, per["baseline_log_loss"], marker="x", ls="--", label="class prior")
        a1.set_title("log loss per fold (lower is better)")
        a1.legend()
        a2.plot(per.index, per["auc_long"], marker="o", color="tab:green", label="AUC long")
        a2.plot(per.index, per["auc_short"], marker="o", color="tab:red", label="AUC short")
        a2.axhline(0.5, color="0.5", ls="--", lw=0.7)
        a2.set_title("AUC per fold (0.5 = no skill)")
        a2.legend()
    for a in (a1, a2):
        a.set_xlabel("fold")
    fig.tight_layout()
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def show(fig: Figure) -> None:
    """Show a figure in Jupyter whatever the matplotlib backend (figures here never touch pyplot)."""
    from IPython.display import Image, display  # noqa: PLC0415 (only in notebooks)

    display(Image(data=png(fig), format="png"))


def metrics_table(metrics: dict[str, Any], column: str) -> Any:
    """A metrics dict as a two-column table a trader reads: labels in words, values as percentages, fixed decimals
    or counts (:data:`aitrade.commands.text.METRICS`); nested values, lists and sentences (verdicts and scopes,
    printed in full by the notebooks) are left out, so nothing is cut."""
    from aitrade.commands.text import metric_label, metric_value  # noqa: PLC0415

    rows = {
        k: v
        for k, v in metrics.items()
        if not isinstance(v, dict | list | tuple) and not (isinstance(v, str) and len(v) > 40)
    }
    frame = pd.DataFrame(
        {"metric": [metric_label(k) for k in rows], column: [metric_value(k, v) for k, v in rows.items()]}
    )
    return frame.style.hide(axis="index").set_properties(**{"text-align": "left"})


def trades_table(trades: pd.DataFrame) -> Any:
    """Closed trades with headers in words, prices to six significant digits, P&L to the cent, UTC to the second."""
    from aitrade.commands.text import cell, header  # noqa: PLC0415
    from aitrade.rules import TRADE_COLUMNS  # noqa: PLC0415

    cols = [c for c in TRADE_COLUMNS if c in trades]
    frame = pd.DataFrame({header(c): [cell(c, v) for v in trades[c]] for c in cols})
    return frame.style.hide(axis="index")


def windows_table(report: pd.DataFrame) -> Any:
    """The optimiser's windows (``wfo_report.csv``): test period, out-of-sample figures in percentages, the genes
    chosen, the in-sample PBO; headers in words."""
    from aitrade.commands.text import utc  # noqa: PLC0415

    out = pd.DataFrame(
        {
            "window": report["window"],
            "trained (UTC)": [
                f"{utc(a, suffix=False)} .. {utc(b, suffix=False)}"
                for a, b in zip(report["train_start"], report["train_end"], strict=True)
            ],
            "traded out of sample (UTC)": [
                f"{utc(a, suffix=False)} .. {utc(b, suffix=False)}"
                for a, b in zip(report["test_start"], report["test_end"], strict=True)
            ],
            "return": report["oos_total_return"],
            "Sharpe": report["oos_sharpe"],
            "max drawdown": report["oos_max_drawdown"],
            "trades": report["oos_trades"],
            "win rate": report["oos_win_rate"],
            "PBO (in sample)": report.get("is_pbo"),
        }
    )
    genes = [
        g
        for g in report.columns
        if g not in {"window", "train_start", "train_end", "test_start", "test_end", "is_fitness", "is_pbo"}
        and not g.startswith("oos_")
    ]
    for g in genes:
        out[g] = report[g]
    formats = {
        "return": "{:+.2%}",
        "Sharpe": "{:.2f}",
        "max drawdown": "{:.2%}",
        "win rate": "{:.1%}",
        "PBO (in sample)": "{:.2f}",
        **dict.fromkeys(genes, "{:.3g}"),
    }
    return out.style.hide(axis="index").format(formats, na_rep="n/a")


def reliability_figure(signals: pd.DataFrame, label: dict[str, Any] | None = None, bins: int = 10) -> Figure:
    """Calibration of the out-of-sample probabilities: predicted against observed, per decile, long and short.

    Labels are re-derived from the artifact's own bars with the run's label
    config (``meta["label_config"]``); a point on the diagonal means the
    probability can be read as a frequency.
    """
    from aitrade.labels import LabelConfig, triple_barrier  # noqa: PLC0415

    cfg = LabelConfig(**(label or {}))
    ys, ps = [], []
    for _, g in signals.groupby("symbol", sort=False):
        bars = g.set_index("ts")[["open", "high", "low", "close"]]
        y = triple_barrier(bars, g["atr"].to_numpy(), cfg).to_numpy()
        ys.append(y)
        ps.append(g[["p_long", "p_short"]].to_numpy())
    y, p = np.concatenate(ys), np.concatenate(ps)
    ok = y >= 0
    fig = Figure(figsize=(9, 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, col, cls, colour, name in ((axes[0], 0, 1, "tab:green", "long"), (axes[1], 1, 2, "tab:red", "short")):
        pred, hit = p[ok, col], (y[ok] == cls).astype(float)
        edges = np.unique(np.quantile(pred, np.linspace(0, 1, bins + 1))) if len(pred) else np.array([0.0, 1.0])
        which = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, max(0, len(edges) - 2))
        xs = [pred[which == b].mean() for b in range(len(edges) - 1) if (which == b).any()]
        obs = [hit[which == b].mean() for b in range(len(edges) - 1) if (which == b).any()]
        ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=0.8, label="perfect calibration")
        ax.plot(xs, obs, marker="o", color=colour, label=f"p_{name} deciles")
        ax.set_xlabel(f"predicted p_{name}")
        ax.set_title(f"{name}: observed frequency per decile")
        ax.legend(loc="upper left", fontsize=8)
    axes[0].set_ylabel("observed frequency (out of sample)")
    fig.tight_layout()
    return fig
