"""``aitrade runs`` and ``aitrade runs compare``: the home's research runs, listed and set side by side."""

from __future__ import annotations

import argparse
from typing import Any

from aitrade.cliargs import print_json
from aitrade.config import Settings
from aitrade.runindex import KINDS, RunInfo, find_run, list_runs, promoted_run, read_run


def _row(info: RunInfo) -> dict[str, Any]:
    return {
        "run": ("* " if info.promoted else "") + info.name,
        "kind": info.kind,
        "status": info.status,
        "symbols": info.universe(),
        "interval": info.interval or "-",
        "age": info.age(),
        "key metric": info.metric or "-",
    }


def _record(info: RunInfo) -> dict[str, Any]:
    return {
        "run": str(info.path),
        "name": info.name,
        "kind": info.kind,
        "status": info.status,
        "started": info.started.isoformat() if info.started else None,
        "symbols": list(info.symbols),
        "interval": info.interval,
        "metric": info.metric,
        "verdict": info.verdict,
        "promoted": info.promoted,
        "signals": str(info.signals) if info.signals else None,
        "genome": str(info.genome) if info.genome else None,
        "figures": info.figures,
    }


def cmd_runs_list(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands.table import format_table  # noqa: PLC0415

    kinds = (args.kind,) if args.kind else KINDS
    runs = list_runs(settings, kinds, usable_only=not args.all)
    if args.json:
        print_json([_record(r) for r in runs])
        return 0
    if not runs:
        hidden = "" if args.all else " (--all shows failed and interrupted ones too)"
        print(f"no {args.kind or ''} runs in {settings.runs_dir}{hidden}".replace("  ", " "))
        return 0
    rows = [_row(r) for r in runs]
    print(format_table(rows, list(rows[0])))
    if any(r.promoted for r in runs):
        print("* promoted: the signals run in state/production/ (the runner's default)")
    return 0


def cmd_runs_compare(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands.table import format_table  # noqa: PLC0415

    promoted = promoted_run(settings)
    infos = [read_run(find_run(settings, text), promoted) for text in args.runs]
    if args.json:
        print_json([_record(r) for r in infos])
        return 0
    kinds = {i.kind for i in infos}
    if len(kinds) > 1:
        print(f"note: these runs are of different kinds ({', '.join(sorted(kinds))}): only shared figures compare")
    names = [str(n + 1) for n in range(len(infos))]
    figures: list[str] = []
    for info in infos:
        figures += [f for f in info.figures if f not in figures]
    rows = [
        {"": label, **{n: _field(info, label) for n, info in zip(names, infos, strict=True)}}
        for label in ("kind", "status", "symbols", "interval", "age")
    ]
    rows += [
        {"": figure, **{n: _figure(figure, info.figures.get(figure)) for n, info in zip(names, infos, strict=True)}}
        for figure in figures
    ]
    for n, info in zip(names, infos, strict=True):
        print(f"{n}: {info.name}{' (promoted)' if info.promoted else ''}")
    print(format_table(rows, ["", *names]))
    return 0


def _field(info: RunInfo, label: str) -> str:
    return {
        "kind": info.kind,
        "status": info.status,
        "symbols": info.universe(),
        "interval": info.interval or "-",
        "age": info.age(),
    }[label]


def _figure(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name in ("return", "max drawdown", "win rate", "buy and hold"):
        return f"{float(value):+.2%}" if name != "win rate" else f"{float(value):.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):.4f}" if "log loss" in name else f"{float(value):.3f}"


def add_runs_commands(sub: Any) -> None:
    """``runs`` (list, the default) and ``runs compare`` on the ``aitrade`` parser."""
    runs = sub.add_parser(
        "runs",
        help="list and compare the home's research runs",
        description="The home's research runs, newest first: kind, symbols, interval, age, status and the key "
        "metric (out of sample).",
        epilog="examples:\n  aitrade runs\n  aitrade runs --kind signals\n  aitrade runs compare 2026120 2026121",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _list_options(runs)
    runs.set_defaults(func=cmd_runs_list)
    rsub = runs.add_subparsers(dest="sub", metavar="SUBCOMMAND")
    ls = rsub.add_parser("list", help="the runs, newest first (the default)")
    _list_options(ls)
    ls.set_defaults(func=cmd_runs_list)
    cmp = rsub.add_parser(
        "compare",
        help="two or more runs' figures side by side",
        epilog="example:\n  aitrade runs compare 20261203T2123 20261203T2241",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmp.add_argument("runs", nargs="+", metavar="RUN", help="a run folder, or a run's name or unique name prefix")
    cmp.add_argument("--json", action="store_true", help="print JSON instead of a table (default: a table)")
    cmp.set_defaults(func=cmd_runs_compare)


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=KINDS, help="only runs of this kind (default: every kind)")
    parser.add_argument(
        "--all", action="store_true", help="also failed, running and interrupted runs (default: complete ones only)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table (default: a table)")
