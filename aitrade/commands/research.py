"""The research steps as functions: one per user action, returning paths and metrics.

The CLI only parses and prints, the notebooks call one function per step, and
the control room will call the same: a run made from any front end carries the
same provenance (git commit, data fingerprints, seed, settings file).
Heavy imports (torch, vectorbt) happen inside the step that needs them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aitrade.config import Settings
from aitrade.defaults import CAPITAL
from aitrade.errors import UserError

OPTIMIZER_OVERRIDES = ("fitness", "population", "generations", "survivors", "train_window", "test_window")
BACKTEST_FILES = ("trades.csv", "metrics.json", "equity.png")


@dataclass
class StepResult:
    """What a research step made: its folder, its files, its metrics, and lines worth telling the user."""

    run_dir: Path
    paths: dict[str, Path]
    metrics: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)  # in-memory results a notebook may want to show


def provenance(signals_path: str | Path, signals_meta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Where a result came from: the signals run and its data, the code, and the step's own settings."""
    from aitrade.runs import git_commit  # noqa: PLC0415

    keep = ("mode", "symbols", "interval", "data_fingerprint", "synthetic", "seed", "git_commit")
    return {
        "signals": str(signals_path),
        "signals_meta": {k: signals_meta.get(k) for k in keep},
        "git_commit": git_commit(),
        **extra,
    }


def signals(settings: Settings, params: Any, **options: Any) -> StepResult:
    """Walk-forward or universal out-of-sample signals into a run folder.

    ``params`` is a :class:`SignalParams`; ``options`` are those of
    :func:`aitrade.signals.generate_signals` (symbols, source, interval, start, end, path, out, ...).
    """
    from aitrade.signals import generate_signals  # noqa: PLC0415 (imports torch)

    run = generate_signals(settings, params, **options)
    notes = [f"verdict (pooled, out of sample): {run.summary['verdict']}"] if run.summary.get("verdict") else []
    if not run.meta["leader"]["used"]:
        notes.append(f"leader features left out: {run.meta['leader']['reason']}")
    skipped = [f for f in run.meta["fold_metrics"] if f.get("skipped")]
    if skipped:
        notes.append(f"{len(skipped)} asset-folds skipped (too few rows or no bars); see fold_metrics in meta.json")
    notes.append(
        f"next: optimise the trading rules over it (aitrade optimize --signals {run.run_dir}, or notebook "
        f"20 with signals set to it), then promote it (aitrade promote {run.run_dir}) to trade its models"
    )
    paths = {
        "signals": run.run_dir / "signals.parquet",
        "meta": run.run_dir / "meta.json",
        "metrics": run.run_dir / "metrics.json",
        "fold_metrics_png": run.run_dir / "fold_metrics.png",
    }
    return StepResult(run.run_dir, paths, run.summary, notes, {"result": run})


def optimize(
    settings: Settings,
    signals: str | Path,
    *,
    profile: str = "crypto",
    settings_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    seed: int = 7,
    capital: float = CAPITAL,
    long_only: bool = False,
    out: str | Path | None = None,
    exist_ok: bool = False,
    progress: bool | None = None,
) -> StepResult:
    """Walk-forward genetic optimisation of the trading rules over a signals run, into a run folder."""
    from aitrade.backtest.engine import BacktestConfig, Panel  # noqa: PLC0415
    from aitrade.notebooks import params_path  # noqa: PLC0415
    from aitrade.optimize.ga import OptimizerConfig  # noqa: PLC0415
    from aitrade.optimize.report import write_wfo  # noqa: PLC0415
    from aitrade.optimize.wfo import walk_forward_optimize  # noqa: PLC0415
    from aitrade.runs import new_run_dir, run_scope  # noqa: PLC0415
    from aitrade.signals import load_signals  # noqa: PLC0415

    path = params_path(settings, settings_file or f"params/optimizer_{profile}.yaml")
    cfg = OptimizerConfig.from_yaml(path)
    chosen = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(chosen) - set(OPTIMIZER_OVERRIDES))
    if unknown:
        allowed = ", ".join(OPTIMIZER_OVERRIDES)
        raise UserError(f"unknown optimiser override(s) {', '.join(unknown)}; allowed: {allowed}")
    cfg = dataclasses.replace(cfg, **chosen)
    sig = load_signals(signals)
    config = BacktestConfig.from_settings(settings, capital, long_only=long_only)
    panel = Panel.from_signals(sig)
    params = {
        "kind": "optimize",
        "settings": str(path),
        **chosen,
        "signals": str(signals),
        "seed": seed,
        "capital": capital,
        "long_only": long_only,
    }
    run_dir = new_run_dir(settings, "optimize", params, out, exist_ok=exist_ok)
    with contextlib.nullcontext(run_dir) if exist_ok else run_scope(run_dir):  # a runner-made folder: its runner
        result = walk_forward_optimize(panel, cfg, config, seed=seed, progress=progress)
        choices = {
            "profile": cfg.profile,
            "fitness": cfg.fitness,
            "seed": seed,
            "settings": str(path),
            "population": cfg.population,
            "generations": cfg.generations,
            "long_only": long_only,
        }
        before = _count_trials(settings, result, sig.meta, str(run_dir), str(signals), choices, cfg.train_window)
        prov = provenance(
            signals,
            sig.meta,
            run=str(run_dir),
            seed=seed,
            profile=cfg.profile,
            fitness=cfg.fitness,
            settings=str(path),
            capital=capital,
            long_only=long_only,
            trials_before=before.to_dict(),
        )
        paths = write_wfo(result, run_dir, prov, f"{cfg.profile} / {cfg.fitness}")
    notes = []
    if (result.metrics.get("total_return") or 0) <= 0:
        notes.append("the stitched out-of-sample return is not positive; do not trade these parameters")
    return StepResult(run_dir, paths, result.metrics, notes, {"result": result, "signals": sig})


def _count_trials(
    settings: Settings,
    result: Any,
    meta: dict[str, Any],
    run: str,
    signals: str,
    choices: dict[str, Any],
    train_window: int,
) -> Any:
    """Record this optimisation in the home's trial registry and judge it against every trial spent on its data.

    Adds to ``result.metrics``: ``trials_before`` (earlier runs, GA evaluations and effective trials on the same
    data) and, when there were any, the deflated Sharpe against all of them (``deflated_sharpe_all_trials``).
    """
    import numpy as np  # noqa: PLC0415

    from aitrade.backtest.overfit import deflated_sharpe_from_returns, dsr_verdict  # noqa: PLC0415
    from aitrade.trials import TrialRegistry, data_key  # noqa: PLC0415

    m = result.metrics
    key = data_key(meta)
    with TrialRegistry(settings.state_dir / "trials.sqlite") as registry:
        before = registry.before(key)
        registry.record(
            key, run, signals, choices, int(m.get("dsr_trials_raw") or 0), float(m.get("dsr_trials_effective") or 0.0)
        )
    m["trials_before"] = {"runs": before.runs, "evaluations": before.evaluations, "effective": before.effective}
    if before.runs:
        total = float(m.get("dsr_trials_effective") or 0.0) + before.effective
        rets = result.stitched.pct_change().dropna().to_numpy()
        trials = np.concatenate([w.trial_sharpes for w in result.windows])
        dsr = deflated_sharpe_from_returns(rets, trials, trial_length=train_window, n_trials=total)
        m["deflated_sharpe_all_trials"] = dsr["dsr"]
        m["dsr_verdict_all_trials"] = (
            f"{dsr_verdict(dsr['dsr'], round(total))} (this run's trials and those of "
            f"{before.runs} earlier optimisation(s) on the same data)"
        )
    return before


def backtest(
    settings: Settings,
    signals: str | Path,
    out: str | Path,
    *,
    params_file: str | Path | None = None,
    capital: float = CAPITAL,
    long_only: bool = False,
    force: bool = False,
) -> StepResult:
    """The trading rules over a signals run: trades.csv, metrics.json and equity.png, written whole."""
    from aitrade.backtest.engine import BacktestConfig, Panel, run_backtest  # noqa: PLC0415
    from aitrade.backtest.metrics import backtest_metrics  # noqa: PLC0415
    from aitrade.backtest.params import load_genome  # noqa: PLC0415
    from aitrade.backtest.report import buy_and_hold, write_report  # noqa: PLC0415
    from aitrade.runs import staged_output  # noqa: PLC0415
    from aitrade.signals import load_signals  # noqa: PLC0415
    from aitrade.strategy import Genome  # noqa: PLC0415

    sig = load_signals(signals)
    genome = load_genome(params_file) if params_file else Genome.from_mapping(settings.profile.strategy)
    overlap = in_sample_overlap(params_file, sig.frame["ts"]) if params_file else None
    config = BacktestConfig.from_settings(settings, capital, long_only=long_only)
    dest = Path(out).expanduser()
    with staged_output(dest, force=force, names=BACKTEST_FILES) as stage:  # refuses to overwrite before any work
        result = run_backtest(Panel.from_signals(sig), genome, config)
        metrics = backtest_metrics(
            result.equity, result.trades, exposure=result.exposure, turnover_notional=result.turnover_notional
        )
        metrics = {
            "genome": genome.to_dict(),
            "capital": capital,
            **metrics,
            "sample": "in-sample" if overlap else "out-of-sample or unknown",
            "in_sample_overlap": overlap,
            "provenance": provenance(
                signals,
                sig.meta,
                params=str(params_file) if params_file else None,
                capital=capital,
                long_only=long_only,
            ),
        }
        synthetic = " (SYNTHETIC DATA)" if sig.meta.get("synthetic") else ""
        hold = buy_and_hold(sig.frame, capital)
        metrics["buy_and_hold_return"] = float(hold.iloc[-1] / hold.iloc[0] - 1) if len(hold) else None
        write_report(result, metrics, stage, f"Backtest of {', '.join(sig.symbols)}{synthetic}", hold)
    notes = []
    if overlap:
        notes.append(
            f"IN-SAMPLE: the genome was optimised on {overlap[0]} .. {overlap[1]}, which these signals "
            "cover; judge it on the optimiser's stitched out-of-sample result instead"
        )
    if not metrics["trades"]:
        notes.append("no trades: the rules never entered on these signals (check conf against the probabilities)")
    paths = {"trades": dest / "trades.csv", "metrics": dest / "metrics.json", "equity_png": dest / "equity.png"}
    return StepResult(dest, paths, metrics, notes, {"result": result, "signals": sig, "buy_and_hold": hold})


def validate(run: str | Path) -> StepResult:
    """The validation report of an optimise run (per-trade statistics, DSR, PBO, monthly returns, images)."""
    from aitrade.optimize.report import validation_report  # noqa: PLC0415
    from aitrade.runs import require_complete  # noqa: PLC0415

    path = Path(run)
    require_complete(path, "optimise run")
    if not (path / "oos_equity.csv").is_file():
        raise UserError(f"{path} is not an optimise run (no oos_equity.csv); run `aitrade optimize` first")
    report = validation_report(path)
    return StepResult(path / "validation", {"metrics": path / "validation" / "metrics.json"}, report)


def promote(settings: Settings, run: str | Path, *, override: str | None = None) -> StepResult:
    """Copy a complete run's signals and models to ``state/production/`` (replaced as a whole); a model worse
    than the class prior needs ``override``, a typed reason (recorded)."""
    from aitrade.runs import promote as promote_run  # noqa: PLC0415

    dest = promote_run(settings, run, override=override)
    return StepResult(dest, {"production": dest}, {})


def in_sample_overlap(params_file: str | Path, times: Any) -> list[str] | None:
    """The genome's optimisation window when it overlaps the signals' times (from its provenance), else None."""
    import pandas as pd  # noqa: PLC0415

    from aitrade.files import read_mapping  # noqa: PLC0415

    train = (read_mapping(params_file, "parameter file").get("provenance") or {}).get("train")
    if not (isinstance(train, list) and len(train) == 2):
        return None
    t0, t1 = pd.Timestamp(train[0]), pd.Timestamp(train[1])
    return [t0.isoformat(), t1.isoformat()] if ((times >= t0) & (times < t1)).any() else None


def demo(settings: Settings, say: Callable[[str], None] = print) -> StepResult:
    """``make demo``, offline on the embedded data: the quality gate, signals, optimisation, backtest report.

    Each step runs its notebook through papermill (the notebooks call this module's functions) and
    ``say`` reports it as it goes. Notes list the bar tables that failed the quality gate.
    """
    import json  # noqa: PLC0415

    from aitrade.commands.data_cmd import quality  # noqa: PLC0415
    from aitrade.commands.text import num, research_line  # noqa: PLC0415
    from aitrade.notebooks import REPO, run_notebook  # noqa: PLC0415

    say("AiTrade demo: offline, on the embedded data (crypto bars are SYNTHETIC)\n")
    bar = sys.stderr.isatty()  # papermill's bar of cells on a terminal; a log or a pipe gets the step lines only
    rows = quality(settings, source="sample")
    bad = [r for r in rows if not r["ok"]]
    say(f"data: {len(rows)} embedded bar tables, {len(rows) - len(bad)} pass the quality gate")
    for r in bad:
        say(f"  {r['symbol']} {r['interval']}: {r['report']}")

    say("\n1/4 walk-forward signals (notebooks/10_walk_forward.ipynb, params/demo.yaml) ...")
    sig_run, _ = run_notebook(settings, "walk_forward", params_file=REPO / "params" / "demo.yaml", progress=bar)
    meta = json.loads((sig_run / "meta.json").read_text())
    s = meta["summary"]
    say(f"    run: {sig_run}")
    say(
        f"    {', '.join(meta['symbols'])} ({meta['interval']}), {s['folds']} folds, {s['oos_rows']} out-of-sample rows"
    )
    say(f"    out of sample, {research_line(s)}")
    if s.get("verdict"):
        say(f"    verdict: {s['verdict']}")

    say(
        "\n2/4 walk-forward genetic optimisation (notebooks/20_optimizer.ipynb, params/optimizer_demo.yaml) ...",
    )
    full = {
        "population": None,
        "generations": None,
        "survivors": None,
        "wfo_train_window": None,
        "wfo_test_window": None,
    }
    opt_run, _ = run_notebook(
        settings,
        "optimizer",
        progress=bar,
        overrides={"signals": str(sig_run), "optimizer_settings": "params/optimizer_demo.yaml", **full},
    )
    m = json.loads((opt_run / "metrics.json").read_text())
    say(f"    run: {opt_run}")
    say(
        f"    stitched out-of-sample over {m['windows']} windows: return {m['total_return']:.2%}, "
        f"Sharpe {m['sharpe']:.2f}, max drawdown {m['max_drawdown']:.2%}, trades {m['trades']}, "
        f"win rate {m['win_rate']:.1%}"
    )
    say(
        f"    deflated Sharpe {num(m.get('deflated_sharpe'), 3)} over {m['dsr_trials']} effective trials "
        f"({m.get('dsr_trials_raw')} GA evaluations): "
        f"{m.get('dsr_verdict')}"
    )
    say(f"    PBO {num(m.get('pbo_mean'), 2)} (in sample, mean over windows): {m.get('pbo_verdict')}")

    say("\n3/4 backtest report of the last window's genome (notebooks/30_backtest_report.ipynb) ...")
    bt_run, _ = run_notebook(
        settings,
        "backtest_report",
        progress=bar,
        overrides={"signals": str(sig_run), "strategy_params": str(opt_run / "best_strategy_params.json")},
    )
    b = json.loads((bt_run / "metrics.json").read_text())
    say(f"    run: {bt_run}")
    say(
        f"    over all out-of-sample signals (the genome saw part of this period in optimisation): return "
        f"{b['total_return']:.2%}, max drawdown {b['max_drawdown']:.2%}, trades {b['trades']}"
    )
    notes = [f"{r['symbol']} {r['interval']}: {r['report']}" for r in bad]
    say("\n4/4 promote the signals run; paper-replay the last window through the runner ...")
    import pandas as pd  # noqa: PLC0415

    from aitrade.commands import runner_cmd  # noqa: PLC0415

    promote(settings, sig_run, override="the demo promotes its run to show the runner's replay parity")
    windows = pd.read_csv(opt_run / "wfo_report.csv")
    last = windows.iloc[-1]
    replay = runner_cmd.paper_replay(
        settings,
        sig_run,
        opt_run / "best_strategy_params.json",
        bt_run / "paper_replay",
        start=str(last["test_start"]),
        end=str(last["test_end"]),
    )
    say(f"    promoted to {settings.state_dir / 'production'}")
    say(
        f"    replayed {last['test_start'][:10]} .. {last['test_end'][:10]} ({replay['ticks']} bars) through paper: "
        f"{replay['session_trades']} trades; {replay['summary']}"
    )
    say(f"    runner state and ledger: {replay['state']}")
    if not replay["ok"]:
        notes.append(f"the paper replay differs from the backtest: see {replay['diff_csv']}")
    for line in headline(m, _stitched_buy_and_hold(sig_run, windows)):
        say(line)
    say(f"report images: {opt_run / 'oos_equity.png'}, {opt_run / 'parameter_stability.png'}, {bt_run / 'equity.png'}")
    paths = {"signals": sig_run, "optimize": opt_run, "backtest": bt_run}
    return StepResult(opt_run, paths, m, notes)


def _stitched_buy_and_hold(signals_run: Path, windows: Any) -> float | None:
    """Buy and hold's return over the optimiser's stitched out-of-sample bars (first test start to last test end)."""
    import pandas as pd  # noqa: PLC0415

    from aitrade.backtest.report import buy_and_hold  # noqa: PLC0415
    from aitrade.signals import load_signals  # noqa: PLC0415

    frame = load_signals(signals_run).frame
    start, end = pd.Timestamp(windows["test_start"].iloc[0]), pd.Timestamp(windows["test_end"].iloc[-1])
    ts = pd.to_datetime(frame["ts"], utc=True)
    hold = buy_and_hold(frame[(ts >= start) & (ts <= end)], 1.0)
    return float(hold.iloc[-1] / hold.iloc[0] - 1) if len(hold) > 1 else None


def headline(m: dict[str, Any], hold: float | None) -> list[str]:
    """The optimiser run's stitched out-of-sample result with its verdicts: buy and hold, DSR, PBO, in words."""
    from aitrade.commands.text import num  # noqa: PLC0415

    ret = m["total_return"]
    versus = "n/a" if hold is None else f"{hold:+.2%}"
    beat = None if hold is None else ret > hold
    lines = [
        f"\nheadline (out of sample, stitched over {m.get('windows')} windows): return {ret:+.2%} against buy and "
        f"hold {versus} over the same bars; Sharpe {m['sharpe']:.2f}, max drawdown {m['max_drawdown']:.2%}",
        f"    deflated Sharpe {num(m.get('deflated_sharpe'), 3)}: {m.get('dsr_verdict')}",
        f"    PBO {num(m.get('pbo_mean'), 2)}: {m.get('pbo_verdict')}",
    ]
    lucky = (m.get("deflated_sharpe") or 0.0) < 0.95
    overfit = (m.get("pbo_mean") or 0.0) >= 0.5
    if beat is False or lucky or overfit:
        why = [
            w
            for w, bad in (
                ("below buy and hold", beat is False),
                ("not above luck", lucky),
                ("likely overfit", overfit),
            )
            if bad
        ]
        lines.append(f"verdict: no tradeable edge shown ({', '.join(why)}); do not trade it live on this evidence")
    else:
        lines.append("verdict: beats buy and hold, above luck (DSR >= 0.95) and not overfit (PBO < 0.5)")
    return lines
