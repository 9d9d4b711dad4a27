"""The home's research runs as a trader picks them: kind, symbols, interval, age, status and the key metric.

One reader for every list of runs: ``aitrade runs``, the control room's signals, genome and promotion pickers,
and the WAR ROOM. A run is read from its own files (``run.json``, ``meta.json``, ``metrics.json``,
``params.json``); a file missing or damaged leaves that part blank, never the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aitrade.config import Settings
from aitrade.runs import run_json, run_status, signals_summary

SIGNALS, OPTIMISE, BACKTEST, OTHER = "signals", "optimise", "backtest", "other"
KINDS = (SIGNALS, OPTIMISE, BACKTEST, OTHER)
USABLE = ("complete", "unknown")  # what load_signals and promote accept (unknown: a run made before run.json)


@dataclass(frozen=True)
class RunInfo:
    path: Path
    name: str
    kind: str
    status: str
    started: datetime | None
    symbols: tuple[str, ...] = ()
    interval: str | None = None
    metric: str = ""  # the key figure in words
    verdict: str = "info"  # ok | warn | error | info: the colour the metric deserves
    promoted: bool = False
    signals: Path | None = None  # the signals run an optimiser or backtest run is over
    genome: Path | None = None  # an optimiser run's best genome
    figures: dict[str, Any] = field(default_factory=dict)  # the numbers `runs compare` sets side by side

    @property
    def usable(self) -> bool:
        return self.status in USABLE

    def age(self, now: datetime | None = None) -> str:
        if self.started is None:
            return "-"
        seconds = ((now or datetime.now(UTC)) - self.started).total_seconds()
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if seconds >= size:
                return f"{seconds / size:.0f} {unit} ago"
        return f"{max(seconds, 0):.0f} s ago"

    def universe(self, most: int = 3) -> str:
        shown = ", ".join(self.symbols[:most])
        return shown + (f" +{len(self.symbols) - most}" if len(self.symbols) > most else "") or "-"

    def label(self) -> str:
        """One line for a picker: what it is, over what, how old, how good."""
        parts = [self.kind, self.universe(), self.interval or "-", self.age()]
        if self.status not in USABLE:
            parts.append(self.status.upper())
        if self.metric:
            parts.append(self.metric)
        star = "PROMOTED · " if self.promoted else ""
        return f"{star}{' · '.join(parts)} · {self.name}"


def _started(run: Path, record: dict[str, Any]) -> datetime | None:
    text = record.get("started")
    if text:
        try:
            stamp = datetime.fromisoformat(str(text))
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        return datetime.fromtimestamp(run.stat().st_mtime, UTC)
    except OSError:
        return None


def _kind(run: Path, params: dict[str, Any], metrics: dict[str, Any]) -> str:
    if (run / "signals.parquet").is_file():
        return SIGNALS
    if params.get("kind") == "optimize" or (run / "best_strategy_params.json").is_file():
        return OPTIMISE
    if "buy_and_hold_return" in metrics or params.get("kind") == "backtest" or (run / "trades.csv").is_file():
        return BACKTEST
    return OTHER


def _signals_figures(summary: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    from aitrade.signals.baseline import worse_than_prior  # noqa: PLC0415

    if not summary:
        return "no out-of-sample metrics", "warn", {}
    figures = {
        "AUC long (pooled, out of sample)": summary.get("pooled_auc_long"),
        "AUC short (pooled, out of sample)": summary.get("pooled_auc_short"),
        "log loss (pooled, out of sample)": summary.get("pooled_log_loss"),
        "training prior's log loss": summary.get("pooled_prior_log_loss", summary.get("pooled_baseline_log_loss")),
        "linear baseline's log loss": summary.get("linear_pooled_log_loss"),
        "out-of-sample rows": summary.get("pooled_n", summary.get("oos_rows")),
    }
    auc = f"AUC {_n(summary.get('pooled_auc_long'), 3)}/{_n(summary.get('pooled_auc_short'), 3)}"
    loss, prior = summary.get("pooled_log_loss"), figures["training prior's log loss"]
    if worse_than_prior(summary):
        return f"{auc}, log loss {_n(loss, 4)} WORSE than the prior {_n(prior, 4)}", "error", figures
    return f"{auc}, log loss {_n(loss, 4)} vs prior {_n(prior, 4)}", "ok", figures


def _strategy_figures(metrics: dict[str, Any], kind: str) -> tuple[str, str, dict[str, Any]]:
    if not metrics:
        return "no metrics", "warn", {}
    ret = metrics.get("total_return")
    figures = {
        "return": ret,
        "Sharpe (annualised)": metrics.get("sharpe"),
        "max drawdown": metrics.get("max_drawdown"),
        "trades": metrics.get("trades"),
        "win rate": metrics.get("win_rate"),
        "deflated Sharpe": metrics.get("deflated_sharpe"),
        "PBO": metrics.get("pbo_mean"),
        "buy and hold": metrics.get("buy_and_hold_return"),
    }
    text = f"return {_pct(ret)}, Sharpe {_n(metrics.get('sharpe'), 2)}"
    colour = "ok" if (ret or 0) > 0 else "error"
    if kind == OPTIMISE:
        text = f"out of sample {text}, DSR {_n(metrics.get('deflated_sharpe'), 2)}"
        if "luck" in str(metrics.get("dsr_verdict", "")) or (metrics.get("pbo_mean") or 0) >= 0.5:
            colour = "warn"
    hold = metrics.get("buy_and_hold_return")
    if hold is not None:
        text += f" vs buy and hold {_pct(hold)}"
        if ret is not None and ret < hold:
            colour = "warn"
    if metrics.get("sample") == "in-sample":
        text += " (in sample)"
    return text, colour, figures


def _n(value: Any, digits: int) -> str:
    return "n/a" if value is None else f"{float(value):.{digits}f}"


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):+.2%}"


def promoted_run(settings: Settings) -> Path | None:
    """The signals run now in ``state/production/`` (as ``promoted.json`` names it), if any."""
    record = run_json(settings.state_dir / "production" / "promoted.json")
    return Path(str(record["run"])) if record.get("run") else None


def read_run(run: Path, promoted: Path | None = None, owner: Path | None = None) -> RunInfo:
    """One run folder as a :class:`RunInfo` (``owner``: the run an optimiser's own ``signals/`` belongs to)."""
    record = run_json(run / "run.json")
    params = run_json(run / "params.json")
    used = run_json(run / "notebook_params.json")
    metrics = run_json(run / "metrics.json")
    kind = _kind(run, params, metrics)
    meta = run_json(run / "meta.json") if kind == SIGNALS else {}
    signals_text = params.get("signals") or used.get("signals")
    signals = Path(str(signals_text)) if signals_text and kind != SIGNALS else None
    if kind == SIGNALS:
        symbols = tuple(str(s) for s in meta.get("symbols") or ())
        interval = meta.get("interval")
        metric, verdict, figures = _signals_figures(signals_summary(meta, metrics))
    else:
        over = run_json(signals / "meta.json") if signals else {}
        symbols = tuple(str(s) for s in over.get("symbols") or ())
        interval = over.get("interval")
        metric, verdict, figures = _strategy_figures(metrics, kind) if kind != OTHER else ("", "info", {})
    genome = run / "best_strategy_params.json"
    same = promoted is not None and run.resolve() == promoted.resolve()
    return RunInfo(
        path=run,
        name=f"{owner.name}/{run.name}" if owner else run.name,
        kind=kind,
        status=run_status(owner or run),
        started=_started(owner or run, run_json(owner / "run.json") if owner else record),
        symbols=symbols,
        interval=str(interval) if interval else None,
        metric=metric,
        verdict=verdict,
        promoted=same,
        signals=signals,
        genome=genome if genome.is_file() else None,
        figures=figures,
    )


def list_runs(settings: Settings, kinds: tuple[str, ...] = KINDS, *, usable_only: bool = False) -> list[RunInfo]:
    """The home's runs of ``kinds``, newest first (``usable_only``: complete ones, as promote and load them)."""
    root = settings.runs_dir
    if not root.is_dir():
        return []
    promoted = promoted_run(settings)
    out = []
    for run in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True):
        found = [read_run(run, promoted)]
        if (run / "signals" / "signals.parquet").is_file():  # an optimiser's own walk-forward signals
            found.append(read_run(run / "signals", promoted, owner=run))
        out += [i for i in found if i.kind in kinds and (i.usable or not usable_only)]
    return out


def find_run(settings: Settings, text: str) -> Path:
    """A run named on the command line: a path (absolute, or against the home, then the working folder), or a run
    folder's name or a unique prefix of it under ``runs/``."""
    from aitrade.errors import UserError  # noqa: PLC0415

    path = settings.resolve_path(text)
    if path.is_dir():
        return path
    root = settings.runs_dir
    matches = sorted(p for p in root.glob(f"{text}*") if p.is_dir()) if root.is_dir() and "/" not in text else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(p.name for p in matches[:5])
        raise UserError(f"{text!r} names {len(matches)} runs ({names}...): give more of the name")
    raise UserError(f"no run {text!r}: neither a folder nor a run under {root} (`aitrade runs` lists them)")
