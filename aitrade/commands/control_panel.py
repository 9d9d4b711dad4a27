"""The CONTROL panel's headless core: research forms, genome ranges, research runs as jobs, promotion with its
evidence, and the runner's start and stop.

Every function checks its input and says what is wrong per field (a dict of
field -> message) or raises :class:`UserError` with one line; nothing here
sends an order. Research runs go through :mod:`aitrade.commands.jobs`, the
runner through :mod:`aitrade.commands.runner_cmd`, exactly as from the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from aitrade.checks import number
from aitrade.cliargs import PRESETS, SOURCES
from aitrade.commands import jobs
from aitrade.commands.text import research_line
from aitrade.config import Settings
from aitrade.errors import UserError
from aitrade.notebooks import REPO, declared_parameters, notebook_path
from aitrade.runs import run_json, runs_using, signals_summary
from aitrade.statefile import atomic_write

RESEARCH = {
    "walk_forward": "10 walk-forward signals",
    "universal": "11 universal model",
    "optimizer": "20 genetic optimiser",
    "backtest_report": "30 backtest report",
}
MODELS = ("mlp", "gru", "lgbm")


def live_choice(settings: Settings) -> tuple[bool, str]:
    """Whether live may be chosen, and why (or why not) in words."""
    if not settings.allow_live:
        return False, "live is locked: set ALLOW_LIVE=1 in the environment or .env and restart the control room"
    return True, "ALLOW_LIVE=1 is set: a live runner sends real orders to the venues"


# --- research parameters -------------------------------------------------------------------------------------
def check_research(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A research form's values as notebook parameters, and a message per bad field (empty when all good)."""
    from aitrade.intervals import parse_interval  # noqa: PLC0415

    out: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def field(name: str, check: Any) -> None:
        if name not in form:
            return
        try:
            out[name] = check(form[name])
        except (UserError, ValueError, TypeError) as exc:
            errors[name] = str(exc)

    def symbols(v: Any) -> str:
        items = [s.strip().upper() for s in str(v or "").split(",") if s.strip()]
        if not items:
            raise UserError("name at least one symbol, comma-separated (e.g. BTCUSDT,ETHUSDT)")
        bad = [s for s in items if not s.replace(".", "").replace("-", "").replace("_", "").isalnum()]
        if bad:
            raise UserError(f"not a symbol: {', '.join(bad)}")
        return ",".join(dict.fromkeys(items))

    def one_of(allowed: tuple[str, ...], what: str) -> Any:
        def check(v: Any) -> str:
            if v not in allowed:
                raise UserError(f"{what} must be one of {', '.join(allowed)}, got {v!r}")
            return str(v)

        return check

    def date(v: Any) -> str | None:
        if v in (None, ""):
            return None
        try:
            stamp = pd.Timestamp(str(v))
        except ValueError:
            raise UserError(f"not a date: {v!r} (use YYYY-MM-DD)") from None
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()

    def interval(v: Any) -> str:
        parse_interval(str(v))
        return str(v)

    field("symbols", symbols)
    field("source", one_of(SOURCES, "source"))
    field("interval", interval)
    field("start", date)
    field("end", date)
    field("train_window", lambda v: number("train window", v, lo=50, integer=True))
    field("trade_window", lambda v: number("trade window", v, lo=10, integer=True))
    field("epochs", lambda v: number("epochs", v, lo=1, hi=10_000, integer=True))
    field("seed", lambda v: number("seed", v, lo=0, integer=True))
    field("model", one_of(MODELS, "model"))
    field("preset", one_of(PRESETS, "preset"))
    if out.get("start") and out.get("end") and pd.Timestamp(out["start"]) >= pd.Timestamp(out["end"]):
        errors["end"] = f"end {out['end']} is not after start {out['start']}"
    return out, errors


def start_research(
    settings: Settings, notebook: str, form: dict[str, Any], *, params_file: str | Path | None = None
) -> dict[str, Any]:
    """Start a research notebook as a background job with the form's values the notebook declares."""
    if notebook not in RESEARCH:
        raise UserError(f"unknown research notebook {notebook!r}; known: {', '.join(RESEARCH)}")
    values, errors = check_research(form)
    if errors:
        raise UserError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    declared = declared_parameters(notebook_path(notebook))
    overrides = {k: v for k, v in values.items() if k in declared}
    return jobs.start_notebook(settings, notebook, params_file=params_file, overrides=overrides)


# --- genome ranges ----------------------------------------------------------------------------------------------
def optimizer_files(settings: Settings) -> list[str]:
    """Optimiser settings files: the home's ``params/`` first, then the shipped defaults (names, once each)."""
    names: dict[str, None] = {}
    for base in (settings.home / "params", REPO / "params"):
        if base.is_dir():
            for p in sorted(base.glob("optimizer_*.yaml")):
                names.setdefault(p.name, None)
    return list(names)


def _params_file(settings: Settings, name: str) -> Path:
    if not name or "/" in name or "\\" in name or name.startswith(".") or not name.endswith((".yaml", ".yml")):
        raise UserError(f"a settings file name is a plain name ending in .yaml, got {name!r}")
    return settings.home / "params" / name


def load_optimizer(settings: Settings, name: str) -> dict[str, Any]:
    """The settings in ``params/NAME`` (the home's copy, else the shipped one) as a mapping."""
    from aitrade.files import read_mapping  # noqa: PLC0415

    path = _params_file(settings, name)
    if not path.is_file():
        path = REPO / "params" / name
    if not path.is_file():
        raise UserError(f"no optimiser settings {name} in {settings.home / 'params'} or the shipped params/")
    return read_mapping(path, "optimiser settings")


def check_ranges(ranges: dict[str, Any]) -> dict[str, str]:
    """A message per gene whose [low, high] is not valid (unknown gene, empty, outside the gene's domain)."""
    from aitrade.optimize.ga import GENES  # noqa: PLC0415
    from aitrade.strategy import Genome  # noqa: PLC0415

    errors: dict[str, str] = {}
    for gene in GENES:
        if gene not in ranges:
            errors[gene] = "missing"
    for gene, bounds in ranges.items():
        if gene not in GENES:
            errors[gene] = f"unknown gene; genes: {', '.join(GENES)}"
            continue
        try:
            if not isinstance(bounds, list | tuple) or len(bounds) != 2:
                raise UserError(f"must be [low, high], got {bounds!r}")
            lo, hi = number(f"low of {gene}", bounds[0]), number(f"high of {gene}", bounds[1])
            if lo > hi:
                raise UserError(f"low {lo:g} is above high {hi:g}")
            for end in (lo, hi):
                Genome.from_mapping({**Genome().to_dict(), gene: end})
        except UserError as exc:
            errors[gene] = str(exc)
    return errors


def save_optimizer(settings: Settings, name: str, data: dict[str, Any]) -> Path:
    """Validate the whole settings (ranges included) and write ``params/NAME`` in the home atomically."""
    from aitrade.optimize.ga import OptimizerConfig  # noqa: PLC0415

    path = _params_file(settings, name)
    errors = check_ranges(dict(data.get("ranges") or {}))
    if errors:
        raise UserError("; ".join(f"{g}: {m}" for g, m in errors.items()))
    clean = {**data, "ranges": {g: [float(lo), float(hi)] for g, (lo, hi) in data["ranges"].items()}}
    text = yaml.safe_dump(clean, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    probe = path.with_name(f".{path.name}.check")
    try:  # the file a run would read must load: check the exact text before it replaces anything
        probe.write_text(text, encoding="utf-8")
        OptimizerConfig.from_yaml(probe)
    finally:
        probe.unlink(missing_ok=True)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)
    return path


# --- runs, promotion and its evidence ----------------------------------------------------------------------------
def signal_runs(settings: Settings) -> list[dict[str, Any]]:
    """Runs holding signals (walk-forward, universal, an optimiser's own), complete ones, newest first, each with
    a picker's label (kind, symbols, interval, age, key metric; the promoted one marked)."""
    from aitrade.runindex import SIGNALS, list_runs  # noqa: PLC0415

    return [
        {"run": str(r.path), "name": r.name, "label": r.label(), "promoted": r.promoted}
        for r in list_runs(settings, (SIGNALS,), usable_only=True)
    ]


def genomes(settings: Settings, signals: str | Path | None = None) -> list[dict[str, Any]]:
    """Genome files to trade with: optimiser runs' best genomes (over ``signals`` first, newest first), then the
    home's ``params/*.json`` genome files."""
    from aitrade.runindex import OPTIMISE, list_runs  # noqa: PLC0415

    target = Path(signals).resolve() if signals and signals != "model" else None
    found = [r for r in list_runs(settings, (OPTIMISE,), usable_only=True) if r.genome is not None]
    over = [r for r in found if target is not None and r.signals is not None and r.signals.resolve() == target]
    out = [
        {"path": str(r.genome), "label": ("over these signals · " if r in over else "") + r.label(), "over": r in over}
        for r in [*over, *(r for r in found if r not in over)]
    ]
    for path in sorted((settings.home / "params").glob("*.json")):
        if path.name != "optimizer_ranges.json":
            out.append({"path": str(path), "label": f"params/{path.name}", "over": False})
    return out


def evidence(settings: Settings, run: str | Path) -> dict[str, Any]:
    """What a promotion rests on: the run's out-of-sample metrics, and DSR/PBO of optimiser runs over it."""
    from aitrade.signals.baseline import verdict, verdict_level  # noqa: PLC0415 (research code: loaded when a run is shown)

    path = Path(run)
    meta = run_json(path / "meta.json")
    summary = signals_summary(meta, run_json(path / "metrics.json"))
    out: dict[str, Any] = {
        "run": str(path),
        "mode": meta.get("mode"),
        "symbols": meta.get("symbols"),
        "interval": meta.get("interval"),
        "research": research_line(summary) if summary else "no metrics.json: out-of-sample metrics unknown",
        "verdict": verdict(summary) if summary else None,  # against the prior and the linear baseline, in words
        "verdict_level": verdict_level(summary) if summary else None,  # its colour: ok, warn or error
        "optimisations": [],
    }
    for opt in runs_using(settings, path):
        if run_json(opt / "params.json").get("kind") != "optimize":
            continue
        m = run_json(opt / "metrics.json")
        out["optimisations"].append(
            {
                "run": str(opt),
                "sharpe": m.get("sharpe"),
                "deflated_sharpe": m.get("deflated_sharpe"),
                "trials": m.get("dsr_trials"),
                "evaluations": m.get("dsr_trials_raw"),
                "dsr_verdict": m.get("dsr_verdict"),
                "pbo": m.get("pbo_mean"),
                "pbo_verdict": m.get("pbo_verdict"),
                "statistics": m.get("statistics"),
            }
        )
    if not out["optimisations"]:
        out["note"] = "no optimiser run has used these signals yet: no DSR or PBO to show (run 20 genetic optimiser)"
    return out


def promote(settings: Settings, run: str | Path, *, confirm: bool, override: str | None = None) -> dict[str, Any]:
    """Promote ``run`` to ``state/production`` (what ``--signals model`` trades); needs ``confirm``, and a typed
    ``override`` reason for a model worse than the class prior."""
    from aitrade.commands.research import promote as promote_run  # noqa: PLC0415

    if not confirm:
        raise UserError("promotion needs the confirmation ticked after reading the evidence")
    result = promote_run(settings, run, override=override or None)
    return {"production": str(result.run_dir), "run": str(run)}


__all__ = [
    "RESEARCH",
    "check_ranges",
    "check_research",
    "evidence",
    "genomes",
    "live_choice",
    "promote",
    "save_optimizer",
    "signal_runs",
    "start_research",
]
