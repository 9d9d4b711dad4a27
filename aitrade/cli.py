"""The ``aitrade`` command: a thin shell over :mod:`aitrade.commands`.

A user error prints one line and exits 2; a traceback appears only with ``--debug``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from aitrade import __version__
from aitrade.checks import NONNEG_INT, POSITIVE, POSITIVE_INT, arg
from aitrade.cli_runner import add_runner_commands, cmd_kill, cmd_runner_start
from aitrade.cli_runs import add_runs_commands
from aitrade.cliargs import FITNESSES, PRESETS, SOURCES, dashed, features_arg, interval_arg, print_json, symbol_list
from aitrade.cliexamples import describe
from aitrade.commands.table import format_table
from aitrade.commands.text import cell, detail, header, money, num, pct, price, quantity, research_line, signed_money
from aitrade.config import Settings, load_settings
from aitrade.defaults import CAPITAL, SIGNALS
from aitrade.errors import AiTradeError, UserError
from aitrade.log import setup_logging, teardown_logging
from aitrade.redact import RedactingStream

log = logging.getLogger("aitrade.cli")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (exit 2) and takes no abbreviations.

    ``--conf`` must never be read as ``--confirm``, nor ``--onlin`` as ``--online``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"aitrade: error: {message} (see `{self.prog} --help`)\n")


# --- commands -------------------------------------------------------------------------------


def cmd_config_show(args: argparse.Namespace, settings: Settings) -> int:
    view = settings.public_view()
    if args.json:
        print_json(view)
        return 0
    rows = [{"variable": k, "value": v["value"], "origin": v["origin"]} for k, v in view.items()]
    print(format_table(rows, ["variable", "value", "origin"]))
    print(f"\neffective execution mode: {settings.execution_mode}")
    for w in settings.warnings:
        print(f"warning: {w}")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands.doctor import local_checks, online_checks  # noqa: PLC0415 (imports torch)

    checks = local_checks(settings)
    if args.online:
        import aiohttp  # noqa: PLC0415

        async def ping() -> list[Any]:
            async with aiohttp.ClientSession() as session:
                return await online_checks(settings, session)

        checks += asyncio.run(ping())
    print(format_table([c.__dict__ for c in checks], ["name", "status", "detail"]))
    return 1 if any(c.status == "fail" for c in checks) else 0


def cmd_data_list(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands.data_cmd import inventory  # noqa: PLC0415

    inv = inventory(settings)
    if args.json:
        print_json(inv)
        return 0
    print("Embedded samples (offline):")
    print(format_table(inv["samples"], ["symbol", "interval", "kind", "rows", "start", "end", "calendar", "license"]))
    print(f"\nCache {settings.data_cache_dir}:")
    if inv["cache"]:
        print(format_table(inv["cache"], ["source", "interval", "symbol", "rows", "start", "end", "synthetic"]))
    else:
        print("  (empty)")
    return 0


def cmd_data_fetch(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands.data_cmd import fetch, fetch_table  # noqa: PLC0415

    symbols = symbol_list(args.symbols)
    if not symbols:
        raise UserError("--symbols is required, e.g. --symbols BTCUSDT,ETHUSDT")
    results = asyncio.run(
        fetch(
            settings,
            symbols=symbols,
            interval=args.interval,
            start=args.start,
            end=args.end,
            source=args.source,
            market=args.market,
            path=args.path,
            refresh=args.refresh,
        )
    )
    print(fetch_table(results))
    return 0


def cmd_data_check(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands.data_cmd import quality  # noqa: PLC0415

    rows = quality(
        settings, source=args.source, symbols=symbol_list(args.symbols), interval=args.interval, path=args.path
    )
    if not rows:
        asked = ", ".join(
            f"{k} {v}"
            for k, v in (("source", args.source), ("symbols", args.symbols), ("interval", args.interval))
            if v
        )
        raise UserError(f"no bar tables match {asked or 'anything'}; see `aitrade data list`")
    if args.json:
        print_json(rows)
    else:
        print(format_table(rows, ["source", "symbol", "interval", "rows", "start", "end", "calendar", "report"]))
        bad = [r for r in rows if not r["ok"]]
        print(f"\n{len(rows) - len(bad)} of {len(rows)} bar tables pass the quality gate")
    return 1 if any(not r["ok"] for r in rows) else 0


def cmd_signals(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import research  # noqa: PLC0415
    from aitrade.labels import LabelConfig  # noqa: PLC0415 (torch is heavy)
    from aitrade.models import ModelConfig, model_kind  # noqa: PLC0415
    from aitrade.signals import SignalParams  # noqa: PLC0415

    params = SignalParams(
        mode=args.mode,
        train_window=args.train_window,
        trade_window=args.trade_window,
        embargo=args.embargo,
        preset=args.preset,
        cross_asset_wf=args.cross_asset_wf,
        seed=args.seed,
        reset=args.reset,
        jobs=args.jobs,
        executor=args.executor,
        scheduler=args.scheduler,
        model=ModelConfig(kind=model_kind(args.mode, args.model), epochs=args.epochs, capacity=args.capacity),
        calibrate=args.calibrate,
        label=LabelConfig(tp=args.label_tp, sl=args.label_sl, horizon=args.horizon),
        features=args.features,
    )
    step = research.signals(
        settings,
        params,
        symbols=symbol_list(args.symbols),
        source=args.source,
        interval=args.interval,
        start=args.start,
        end=args.end,
        path=args.path,
        out=args.out,
    )
    s, run = step.metrics, step.objects["result"]
    print(f"run: {step.run_dir}")
    print(f"signals: {len(run.signals)} out-of-sample rows, {len(run.meta['symbols'])} symbols, {s['folds']} folds")
    if s.get("evaluated"):
        print(f"out of sample, {research_line(s)}")
        print(f"models trained {s['trained_models']}, reused {s['reused_models']}")
    for note in step.notes:
        print(note)
    return 0


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import research  # noqa: PLC0415

    step = research.backtest(
        settings,
        args.signals,
        args.out,
        params_file=args.params,
        capital=args.capital,
        long_only=args.long_only,
        force=args.force,
    )
    m = step.metrics
    print(
        f"trades: {m['trades']}  total return {pct(m['total_return'])}  max drawdown {pct(m['max_drawdown'])}  "
        f"Sharpe {num(m['sharpe'])} (one trial: a Sharpe, not deflated; probabilistic Sharpe "
        f"{num(m.get('probabilistic_sharpe'), 3)})"
    )
    for note in step.notes:
        print(note)
    print(f"wrote {', '.join(str(p) for p in step.paths.values())}")
    return 0


def cmd_optimize(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import research  # noqa: PLC0415

    overrides = {k: getattr(args, k) for k in research.OPTIMIZER_OVERRIDES}
    step = research.optimize(
        settings,
        args.signals,
        profile=args.profile,
        settings_file=args.settings,
        overrides=overrides,
        seed=args.seed,
        capital=args.capital,
        long_only=args.long_only,
        out=args.out,
    )
    m = step.metrics
    print(f"run: {step.run_dir}")
    print(
        f"{m['windows']} windows; stitched out-of-sample: return {pct(m['total_return'])}, max drawdown "
        f"{pct(m['max_drawdown'])}, trades {m['trades']}"
    )
    print(
        f"deflated Sharpe {num(m.get('deflated_sharpe'), 3)} over {m.get('dsr_trials')} effective trials "
        f"({m.get('dsr_trials_raw')} GA evaluations): "
        f"{m.get('dsr_verdict')}"
    )
    print(f"PBO {num(m.get('pbo_mean'), 3)} (in sample, mean over windows): {m.get('pbo_verdict')}")
    earlier = m.get("trials_before") or {}
    if earlier.get("runs"):
        print(
            f"trial registry: {earlier['runs']} earlier optimisation(s) on the same data spent "
            f"{earlier['effective']:.0f} effective trials; deflated Sharpe against all of them "
            f"{num(m.get('deflated_sharpe_all_trials'), 3)}: {m.get('dsr_verdict_all_trials')}"
        )
    else:
        print("trial registry: the first optimisation on this data in this home")
    for scope in ("dsr_scope", "pbo_scope"):
        if m.get(scope):
            print(f"  {m[scope]}")
    print(f"wrote {step.paths['wfo_report']}, {step.paths['best_params']}, {step.paths['equity_png']}")
    for note in step.notes:
        print(f"warning: {note}")
    return 0


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import research  # noqa: PLC0415

    step = research.validate(args.run)
    report = step.metrics
    s = report["stitched_out_of_sample"]
    print(f"validation: {step.run_dir}")
    o = report["overfitting"]
    print(
        f"return {pct(s['total_return'])}, Sharpe {num(s['sharpe'])}, max drawdown {pct(s['max_drawdown'])}, "
        f"deflated Sharpe {num(o['deflated_sharpe'], 3)}, PBO {num(o['pbo_mean'], 3)}"
    )
    return 0


def cmd_promote(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import research  # noqa: PLC0415

    step = research.promote(settings, args.run, override=args.override)
    print(f"promoted {args.run} -> {step.run_dir}")
    return 0


def cmd_notebook_run(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.notebooks import parse_value, run_notebook  # noqa: PLC0415

    overrides = {k: parse_value(v) for k, v in (args.param or [])}
    run_dir, executed = run_notebook(
        settings, args.name, params_file=args.file, overrides=overrides, out=args.out, progress=sys.stderr.isatty()
    )
    print(f"run: {run_dir}")
    print(f"executed notebook: {executed}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """The main job, offline on the embedded data: data check, walk-forward signals, optimisation, backtest report."""
    from aitrade.commands import research  # noqa: PLC0415

    step = research.demo(settings, say=lambda line: print(line, flush=True))
    return 1 if step.notes else 0


def cmd_broker_status(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import broker_cmd  # noqa: PLC0415

    out = asyncio.run(broker_cmd.status(settings, args.mode, symbol_list(args.symbols)))
    if args.json:
        print_json(out)
        return 1 if any("error" in b for b in out["brokers"].values()) else 0
    print(f"mode: {out['mode']}")
    for name, b in out["brokers"].items():
        where = ", ".join(
            f"{k}={v}" for k, v in b.items() if k not in ("account", "positions", "protections", "open_orders", "error")
        )
        print(f"\n[{name}] {where}")
        if "error" in b:
            print(f"  error: {b['error']}")
            continue
        acc, cur = b["account"], b["account"]["currency"]
        print(
            f"  equity {money(acc['equity'], cur)}, cash {money(acc['cash'], cur)}, "
            f"unrealised {signed_money(acc['unrealized_pnl'], cur)}"
        )
        print(f"  open orders: {b['open_orders']['ours']} ours, {b['open_orders']['others']} not ours")
        if b["positions"]:
            cols = ["symbol", "quantity", "avg_price", "last_price", "unrealized_pnl"]
            rows = [{header(c): cell(c, p.get(c)) for c in cols} for p in b["positions"]]
            print(format_table(rows, [header(c) for c in cols]))
        else:
            print("  no positions")
        for p in b["protections"]:
            print(
                f"  protection {p['kind'].replace('_', ' ')} {p['symbol']} {quantity(p['quantity'])} "
                f"at {price(p['trigger'])} ({p['client_id']})"
            )
    return 1 if any("error" in b for b in out["brokers"].values()) else 0


def cmd_broker_instruments(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import broker_cmd  # noqa: PLC0415

    syms = [s for text in args.symbols for s in (symbol_list(text) or [])]
    rows = asyncio.run(broker_cmd.instruments(settings, syms, args.mode))
    if args.json:
        print_json(rows)
    else:
        print(
            format_table(
                rows, ["symbol", "broker", "tick", "step", "min_qty", "min_notional", "currency", "lot", "shortable"]
            )
        )
    return 0


def cmd_close_all(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import broker_cmd  # noqa: PLC0415

    if not args.confirm:
        raise UserError("close-all cancels AiTrade's orders and closes AiTrade's positions; add --confirm")
    from aitrade.commands import kill_cmd, runner_cmd  # noqa: PLC0415

    if runner_cmd.running_pid(settings) is not None:  # the runner owns the accounts: it flattens, and halts
        done = kill_cmd.kill(settings, "flatten", "close-all --confirm from the command line")
        if args.json:
            print_json(done)
        elif done["confirmed"]:
            acted = detail(done["armed"].get("acted"))
            print(
                f"close-all delegated to the runner (pid {done['runner']}): {acted}; the kill "
                "switch stays armed (flatten) until `aitrade unkill --confirm`"
            )
        else:
            print(f"close-all delegated to the runner: {done['message']}")
        return 0 if done["confirmed"] else 1
    out = asyncio.run(broker_cmd.close_all(settings, args.mode))
    if args.json:
        print_json(out)
    else:
        print(
            f"mode {out['mode']}: cancelled {len(out['cancelled'])} orders, "
            f"{len(out['protections_cancelled'])} protections, closed {len(out['closed'])} positions"
        )
        for a in out["closed"]:
            print(f"  closed with {a['client_id']} ({a['status']})")
        for e in out["errors"]:
            print(f"  error: {e}")
        if out["open"]:
            print(f"  NOT FLAT: the venues still hold AiTrade positions in {', '.join(out['open'])}")
    return 0 if out["flat"] else 1


# --- parser -------------------------------------------------------------------------------


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import jobs  # noqa: PLC0415

    if args.cancel:
        out = jobs.cancel(settings, args.cancel)
        print(out.get("message") or f"job {out['id']}: {out['status']}")
        return 0
    found = jobs.list_jobs(settings, limit=args.limit)
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("no jobs")
    for j in found:
        p = j.get("progress") or {}
        cells = f"{p.get('done')}/{p.get('total')} cells" if p.get("total") else ""
        print(
            f"{j['id']}  {j.get('status', '?'):<10} {j.get('title', '')}  {cells}  "
            f"{j.get('elapsed_s', 0):.0f} s  {j.get('run_dir') or ''}  {j.get('error') or ''}".rstrip()
        )
    return 0


def cmd_control_room(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands.control_room import serve  # noqa: PLC0415

    return serve(settings, args.port)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="aitrade", description="AiTrade research-and-trading workbench")
    p.add_argument("--version", action="version", version=f"aitrade {__version__}")
    p.add_argument("--home", help="home directory (default: $AITRADE_HOME or the current directory)")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    cfg = sub.add_parser("config", help="show the configuration").add_subparsers(
        dest="sub", metavar="SUB", parser_class=_Parser
    )
    show = cfg.add_parser("show", help="every setting, secrets masked, with where it came from")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(func=cmd_config_show)

    doc = sub.add_parser("doctor", help="check the installation and configuration")
    doc.add_argument("--online", action="store_true", help="also ping the brokers")
    doc.set_defaults(func=cmd_doctor)

    data = sub.add_parser("data", help="bars: inventory, fetch, quality").add_subparsers(
        dest="sub", metavar="SUB", parser_class=_Parser
    )
    dl = data.add_parser("list", help="embedded samples and cached files")
    dl.add_argument("--json", action="store_true", help="print JSON instead of a table")
    dl.set_defaults(func=cmd_data_list)

    df = data.add_parser("fetch", help="fetch bars into data_cache/")
    df.add_argument("--source", default="sample", choices=SOURCES, help="where from (default sample)")
    df.add_argument("--symbols", help="comma-separated, e.g. BTCUSDT,ETHUSDT")
    df.add_argument("--interval", default="1h", type=interval_arg, help="bar interval (default %(default)s)")
    df.add_argument("--start", help="UTC date/time, inclusive (ISO-8601)")
    df.add_argument("--end", help="UTC date/time, exclusive (ISO-8601)")
    df.add_argument("--path", help="folder of <SYMBOL>.csv files (csv source)")
    df.add_argument("--market", default="spot", choices=("spot", "futures"), help="Bitget market (default %(default)s)")
    df.add_argument("--refresh", action="store_true", help="fetch again even what is cached")
    df.set_defaults(func=cmd_data_fetch)

    dc = data.add_parser("check", help="quality report")
    dc.add_argument("--source", choices=SOURCES, help="default: the samples and the whole cache")
    dc.add_argument("--symbols", help="comma-separated (default: every table the source has)")
    dc.add_argument("--interval", type=interval_arg, help="bar interval (default: every interval)")
    dc.add_argument("--path", help="folder of <SYMBOL>.csv files (csv source)")
    dc.add_argument("--json", action="store_true", help="print JSON instead of a table")
    dc.set_defaults(func=cmd_data_check)

    sig = sub.add_parser("signals", help="walk-forward or universal out-of-sample signals")
    d = SIGNALS
    dashed(
        sig,
        "mode",
        default=d.mode,
        choices=("walk", "universal"),
        help="walk (a model per asset) or universal (one shared model) (default %(default)s)",
    )
    dashed(
        sig,
        "train_window",
        type=arg(lo=50, integer=True),
        default=d.train_window,
        help="training bars per fold (default %(default)s)",
    )
    dashed(
        sig,
        "trade_window",
        type=POSITIVE_INT,
        default=d.trade_window,
        help="predicted bars per fold (default %(default)s)",
    )
    dashed(
        sig,
        "embargo",
        type=NONNEG_INT,
        default=d.embargo,
        help="unused bars between training and trading (default %(default)s)",
    )
    dashed(sig, "preset", default=d.preset, choices=PRESETS, help="regime quantiles (default %(default)s)")
    dashed(sig, "cross_asset_wf", action="store_true", help="universal: re-train walking forward in time")
    dashed(sig, "reset", action="store_true", help="discard cached fold models")
    dashed(sig, "symbols", help="comma-separated (default: the universe's symbols the source has)")
    dashed(sig, "source", default=d.source, choices=SOURCES, help="where the bars come from (default %(default)s)")
    dashed(sig, "path", help="folder of <SYMBOL>.csv files (csv source)")
    dashed(sig, "interval", type=interval_arg, help="bar interval (default: the universe profile's)")
    dashed(sig, "start", help="UTC start, inclusive")
    dashed(sig, "end", help="UTC end, exclusive")
    dashed(sig, "seed", type=NONNEG_INT, default=d.seed, help="seeds the folds' models (default %(default)s)")
    dashed(
        sig,
        "model",
        default=d.model,
        choices=("mlp", "gru", "lgbm"),
        help="mlp or gru (a net per asset; universal mode: the shared net with an asset embedding) or lgbm "
        "(gradient-boosted trees, in either mode) (default %(default)s)",
    )
    dashed(
        sig,
        "epochs",
        type=POSITIVE_INT,
        default=d.epochs,
        help="training epochs per model (default %(default)s: to the ridge optimum)",
    )
    dashed(
        sig,
        "capacity",
        default=d.capacity,
        choices=("tuned", "fixed"),
        help="the net's hidden size, dropout and ridge: tuned per window on a purged inner hold-out, or fixed "
        "(default %(default)s)",
    )
    dashed(
        sig,
        "calibrate",
        default=d.calibrate,
        choices=("shrink", "none"),
        help="out-of-sample calibration: shrink each fold toward its training prior, the weight fitted on earlier "
        "folds (default %(default)s)",
    )
    dashed(sig, "horizon", type=POSITIVE_INT, default=d.horizon, help="label horizon in bars (default %(default)s)")
    dashed(sig, "label_tp", type=POSITIVE, default=d.label_tp, help="label take-profit in ATR (default %(default)s)")
    dashed(sig, "label_sl", type=POSITIVE, default=d.label_sl, help="label stop in ATR (default %(default)s)")
    dashed(
        sig,
        "features",
        type=features_arg,
        default=(d.features,),
        help="feature sets and groups, comma-separated: core (default: returns, rsi, volume), all, or groups "
        "such as returns,rsi,daily,leader",
    )
    dashed(sig, "jobs", type=POSITIVE_INT, default=d.jobs, help="local worker processes (default %(default)s)")
    dashed(
        sig, "executor", default=d.executor, choices=("local", "dask"), help="where folds train (default %(default)s)"
    )
    dashed(sig, "scheduler", help="Dask scheduler address (default: a LocalCluster)")
    dashed(sig, "out", help="run folder (default runs/<run_id>)")
    sig.set_defaults(func=cmd_signals)

    bt = sub.add_parser("backtest", help="run the trading rules over a signals artifact")
    bt.add_argument("--signals", required=True, help="a run folder or its signals.parquet")
    bt.add_argument("--params", help="JSON/YAML genome (e.g. best_strategy_params.json); default: the profile's")
    bt.add_argument("--out", required=True, help="folder for trades.csv, metrics.json, equity.png")
    bt.add_argument("--capital", type=POSITIVE, default=CAPITAL, help="starting capital (default %(default)s)")
    bt.add_argument("--force", action="store_true", help="replace the results already in --out")
    dashed(bt, "long_only", action="store_true", help="no shorts (spot venues)")
    bt.set_defaults(func=cmd_backtest)

    opt = sub.add_parser("optimize", help="genetic walk-forward optimisation of the trading rules")
    opt.add_argument("--signals", required=True, help="a signals run folder")
    opt.add_argument(
        "--profile",
        default="crypto",
        choices=("crypto", "stocks", "both"),
        help="the ranges of params/optimizer_<profile>.yaml (default %(default)s)",
    )
    opt.add_argument("--settings", help="an optimiser YAML instead of the profile's")
    opt.add_argument("--fitness", choices=FITNESSES, help="what the search maximises (default: the settings file's)")
    for name in ("population", "generations", "survivors", "train_window", "test_window"):
        dashed(
            opt,
            name,
            type=POSITIVE_INT,
            help=f"the genetic search's {name.replace('_', ' ')} (default: the settings file's)",
        )
    dashed(opt, "seed", type=NONNEG_INT, default=SIGNALS.seed, help="seeds the genetic search (default %(default)s)")
    dashed(opt, "capital", type=POSITIVE, default=CAPITAL, help="starting capital (default %(default)s)")
    dashed(opt, "long_only", action="store_true", help="no shorts (spot venues)")
    dashed(opt, "out", help="run folder (default runs/<run_id>)")
    opt.set_defaults(func=cmd_optimize)

    val = sub.add_parser("validate", help="validation report of an optimise run")
    val.add_argument("--run", required=True, help="an optimise run folder (runs/<run_id>)")
    val.set_defaults(func=cmd_validate)

    pro = sub.add_parser("promote", help="copy a run's signals and models to state/production/")
    pro.add_argument("run", help="runs/<run_id>")
    pro.add_argument(
        "--override",
        metavar="REASON",
        help="promote a model worse than the class prior anyway, for this typed reason (recorded in promoted.json)",
    )
    pro.set_defaults(func=cmd_promote)

    nb = sub.add_parser("notebook", help="run a parameterised notebook").add_subparsers(
        dest="sub", metavar="SUB", parser_class=_Parser
    )
    nbr = nb.add_parser("run", help="execute a notebook through papermill into a run folder")
    nbr.add_argument("name", help="walk_forward, universal, optimizer, backtest_report, or a path")
    nbr.add_argument("-f", "--file", help="YAML parameter file (params/*.yaml)")
    nbr.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), help="override a parameter")
    nbr.add_argument("--out", help="run folder (default runs/<run_id>)")
    nbr.set_defaults(func=cmd_notebook_run)

    brk = sub.add_parser("broker", help="accounts, positions and instrument rules through the router").add_subparsers(
        dest="sub", metavar="SUB", parser_class=_Parser
    )
    bst = brk.add_parser("status", help="accounts, positions, orders, protections (read-only, secrets masked)")
    bst.add_argument("--mode", choices=("paper", "live"), help="default: the effective execution mode")
    bst.add_argument("--symbols", help="comma-separated (default: the universe's)")
    bst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bst.set_defaults(func=cmd_broker_status)
    bin_ = brk.add_parser("instruments", help="order rules (tick, step, minimums) of symbols at their venues")
    bin_.add_argument("symbols", nargs="+", help="e.g. BTCUSDT SBER")
    bin_.add_argument("--mode", choices=("paper", "live"), default="live", help="live venues (default) or paper")
    bin_.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bin_.set_defaults(func=cmd_broker_instruments)

    ca = sub.add_parser("close-all", help="cancel AiTrade's orders and close AiTrade's positions")
    ca.add_argument("--confirm", action="store_true", help="required: this sends orders")
    ca.add_argument("--mode", choices=("paper", "live"), help="default: the effective execution mode")
    ca.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ca.set_defaults(func=cmd_close_all)

    add_runner_commands(sub)
    add_runs_commands(sub)

    jb = sub.add_parser("jobs", help="background jobs started from the control room (notebook runs, fetches)")
    jb.add_argument("--cancel", metavar="ID", help="cancel this job (its whole process group)")
    jb.add_argument("--limit", type=arg(lo=1, integer=True), default=20, help="newest jobs shown (default %(default)s)")
    jb.add_argument("--json", action="store_true", help="print JSON instead of a table")
    jb.set_defaults(func=cmd_jobs)

    room = sub.add_parser("control-room", help="serve the control room as a page (Voila on 127.0.0.1, with a token)")
    room.add_argument("--port", type=arg(lo=1024, hi=65535, integer=True), default=8866, help="default 8866")
    room.set_defaults(func=cmd_control_room)

    demo = sub.add_parser("demo", help="the main job, offline on the embedded data")
    demo.set_defaults(func=cmd_demo)
    describe(p)
    return p


TRADING_COMMANDS = (
    cmd_close_all,
    cmd_runner_start,
    cmd_kill,
)  # refused while a corrupt runtime settings file sits quarantined


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command with stdout and stderr behind the one redaction, so no output path can show a secret."""
    out, err = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        return _run(argv, out, err)
    finally:
        out.flush()
        err.flush()
        sys.stdout, sys.stderr = saved


def _run(argv: Sequence[str] | None, out: RedactingStream, err: RedactingStream) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    func: Callable[[argparse.Namespace, Settings], int] | None = getattr(args, "func", None)
    if func is None:
        where = " ".join(x for x in (getattr(args, "command", None), getattr(args, "sub", None)) if x)
        print(
            f"aitrade: error: {'`aitrade ' + where + '` needs a subcommand' if where else 'name a command'} "
            "(see `aitrade --help`)",
            file=sys.stderr,
        )
        return 2
    try:
        settings = load_settings(args.home)
        out.secrets = err.secrets = settings.secrets()
        setup_logging(settings, console_level="DEBUG" if args.debug else "WARNING")
        log.info("aitrade %s: %s", __version__, " ".join(sys.argv[1:]) if argv is None else " ".join(argv))
        if func in TRADING_COMMANDS:
            settings.require_runtime_intact("this command")
        if func not in (cmd_config_show, cmd_doctor):  # those two list the warnings themselves
            for warning in settings.warnings:
                print(f"aitrade: warning: {warning}", file=sys.stderr)
        return int(func(args, settings) or 0)
    except AiTradeError as exc:
        if args.debug:
            traceback.print_exc()
        log.error("%s: %s", exc.__class__.__name__, exc, extra={"console": False})
        print(f"aitrade: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`aitrade ... | head`): not an error of ours
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (nothing more is written)
        return 0
    except OSError as exc:
        if args.debug:
            traceback.print_exc()
        where = f" {exc.filename}" if exc.filename else ""
        print(f"aitrade: error: cannot use{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aitrade: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        log.exception("unexpected failure", extra={"console": False})
        if args.debug:
            traceback.print_exc()
        print(
            f"aitrade: unexpected {exc.__class__.__name__}: {exc} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        teardown_logging()
