"""``aitrade runner ...``, ``kill``, ``unkill`` and ``parity``: parsing and printing over
:mod:`aitrade.commands.runner_cmd`."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from aitrade.checks import POSITIVE, arg
from aitrade.cliargs import SOURCES, dashed, interval_arg, print_json, symbol_list
from aitrade.config import Settings
from aitrade.defaults import CAPITAL


# --- the runner and the kill switch ----------------------------------------------------------------------
def cmd_runner_start(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import runner_cmd  # noqa: PLC0415

    options = {
        "signals": args.signals,
        "params": args.params,
        "mode": args.mode,
        "replay": args.replay,
        "capital": args.capital,
        "long_only": args.long_only,
        "start": args.start,
        "end": args.end,
        "speed": args.speed,
        "source": args.source,
        "symbols": symbol_list(args.symbols),
        "interval": args.interval,
        "path": args.path,
    }
    if not args.foreground:
        out = runner_cmd.start(settings, reset=args.reset, **options)
        if out["archived"]:
            print(f"archived the ledger and paper accounts to {out['archived']}")
        print(f"runner started in the background: pid {out['pid']}, state {out['state']}, log {out['log']}")
        return 0
    config, feed = runner_cmd.prepare(settings, **options)
    result = asyncio.run(runner_cmd.run_foreground(settings, config, feed, reset=args.reset))
    print(
        f"runner {'finished the replay' if result['finished'] else 'stopped'} after {result['ticks']} ticks, "
        f"state {result['state']}"
    )
    return 0


def cmd_runner_stop(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import runner_cmd  # noqa: PLC0415

    out = runner_cmd.stop(settings)
    print(f"runner (pid {out['pid']}) stopped; positions and protections stay" if out["stopped"] else out["message"])
    return 0


def cmd_runner_status(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import runner_cmd  # noqa: PLC0415
    from aitrade.commands.monitor import staleness  # noqa: PLC0415
    from aitrade.commands.table import format_table  # noqa: PLC0415
    from aitrade.commands.text import cell, header, signed_money, utc  # noqa: PLC0415

    out = runner_cmd.status(settings)
    if args.json:
        print_json(out)
        return 0
    kill = out["kill"]
    print(f"runner: {'alive, pid ' + str(out['pid']) if out['alive'] else 'not running'}")
    if "state" in out:
        fresh = staleness(out["heartbeat_age_s"], out.get("phase"))
        said = "it said" if out["alive"] else "its last word, history now"
        print(
            f"  heartbeat {out['heartbeat_age_s']:,.1f} s ago ({fresh}; {said}): {out.get('mode')} "
            f"{out.get('feed')}, {out.get('phase')}, state {out['state']}, {out.get('ticks')} ticks"
        )
        if out["alive"]:
            cov = out.get("coverage") or {}
            print(
                f"  positions {len(out.get('positions') or [])} (protected {cov.get('protected', 0)}), "
                f"pending entries {out.get('pending', 0)}"
            )
        if out.get("last_error"):
            print(f"  last error: {out['last_error']}")
    if "heartbeat_error" in out:
        print(f"  heartbeat unreadable: {out['heartbeat_error']}")
    accounts = out.get("accounts")
    if accounts:
        print(f"  positions now, read from the accounts ({accounts['where']}) at {utc(accounts['read_at'])}:")
        cols = ["symbol", "venue", "side", "quantity", "entry", "stop", "target"]
        rows = [{header(c): cell(c, p.get(c)) for c in cols} for p in accounts["positions"]]
        lines = format_table(rows, [header(c) for c in cols]).splitlines() if rows else ["none"]
        print("\n".join(f"    {line}" for line in lines))
        if accounts["orders"]:
            print(f"  resting orders of AiTrade's: {len(accounts['orders'])}")
        for error in accounts["errors"]:
            print(f"  could not read: {error}")
    if "trades" in out:
        print(
            f"  ledger: {out['trades']} closed trades, realised P&L {signed_money(out['realised_pnl'])}, "
            f"{out['open_intents']} open intents"
        )
    state = f"ARMED ({kill['level']}): {kill['reason']}" if kill["engaged"] else "released"
    print(f"  kill switch: {state}")
    return 0


def cmd_runner_trades(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import runner_cmd  # noqa: PLC0415
    from aitrade.statefile import atomic_write  # noqa: PLC0415

    frame = runner_cmd.trades(settings)
    if args.csv:
        atomic_write(args.csv, lambda tmp: frame.to_csv(tmp, index=False))
        print(f"{len(frame)} trades written to {args.csv}")
    elif args.json:
        print_json(json.loads(frame.to_json(orient="records", date_format="iso")))
    else:
        print(frame.to_string(index=False) if len(frame) else "no closed trades in the ledger")
    return 0


def cmd_runner_watchdog(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import runner_cmd  # noqa: PLC0415

    return runner_cmd.watchdog(settings, once=args.once, stale_after_s=args.stale_after, every_s=args.every)


def cmd_parity(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import runner_cmd  # noqa: PLC0415

    out = runner_cmd.parity(settings, signals=args.signals, params=args.params, ledger=args.ledger, out=args.out)
    if args.json:
        print_json(out)
    else:
        print(out["summary"])
        print(
            f"  backtest {out['backtest_trades']} trades, session {out['session_trades']} trades"
            + (f"; per-trade differences in {out['diff_csv']}" if out["diff_csv"] else "")
        )
        for note in out["notes"]:
            print(f"  note: {note}")
    return 0 if out["ok"] else 1


def cmd_kill(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import kill_cmd  # noqa: PLC0415
    from aitrade.commands.text import detail  # noqa: PLC0415

    out = kill_cmd.kill(settings, args.level, args.reason)
    armed = out["armed"]
    who = f"the runner (pid {out['runner']})" if out["runner"] else "this command (no runner alive)"
    if args.json:
        print_json(out)
    elif out["confirmed"]:
        acted = detail({k: v for k, v in (armed.get("acted") or {}).items() if k != "by"}, 400)
        print(f"kill switch armed ({armed['level']}): {armed['reason']}; {who} confirmed: {acted}")
    else:
        print(f"kill switch armed ({armed['level']}): {armed['reason']}; {out['message']}")
    return 0 if out["confirmed"] else 1


def cmd_force_exit(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import kill_cmd  # noqa: PLC0415
    from aitrade.commands.text import detail  # noqa: PLC0415

    out = kill_cmd.force_exit(settings, args.symbol, args.reason)
    if args.json:
        print_json(out)
    elif out["confirmed"]:
        result = out["request"]["result"]
        who = f"the runner (pid {out['runner']})" if out["runner"] else "this command (no runner alive)"
        done = detail({k: v for k, v in result.items() if k in ("closed", "cancelled", "note")})
        print(f"{result['symbol']} closed by {who}: {done}; flat at the venue")
    else:
        print(f"force exit of {out['request']['symbol']} not confirmed: {out['message']}")
    return 0 if out["confirmed"] else 1


def cmd_unkill(args: argparse.Namespace, settings: Settings) -> int:
    from aitrade.commands import kill_cmd  # noqa: PLC0415

    out = kill_cmd.unkill(settings, confirm=args.confirm)
    print(
        "kill switch released"
        + (f"; the runner (pid {out['runner']}) resumes after reconciling" if out["runner"] else "")
    )
    return 0


def add_runner_commands(sub: Any) -> None:
    """The runner's subcommands, kill, unkill and parity on the ``aitrade`` parser."""
    run = sub.add_parser("runner", help="the trading runner: start, stop, status, trades")
    rsub = run.add_subparsers(dest="sub", metavar="SUBCOMMAND")
    rs = rsub.add_parser("start", help="start the runner (in the background unless --foreground)")
    rs.add_argument(
        "--mode",
        choices=("paper", "live"),
        default="paper",
        help="paper brokers, or live venues (needs ALLOW_LIVE=1) (default %(default)s)",
    )
    rs.add_argument(
        "--signals",
        required=True,
        help="a signals run to replay, or `model`: live inference with the "
        "promoted bundle (state/production/) over --source bars",
    )
    rs.add_argument("--params", help="genome file (JSON/YAML, e.g. best_strategy_params.json)")
    rs.add_argument("--replay", action="store_true", help="replay history through paper")
    rs.add_argument("--source", choices=SOURCES, help="with --signals model: where the replayed bars come from")
    rs.add_argument("--symbols", help="with --signals model: comma-separated (default: the promoted run's)")
    rs.add_argument("--interval", type=interval_arg, help="with --signals model: must be the promoted run's")
    rs.add_argument("--path", help="folder of <SYMBOL>.csv files (csv source)")
    rs.add_argument("--start", help="replay from this UTC time (inclusive)")
    rs.add_argument("--end", help="replay up to this UTC time (exclusive)")
    rs.add_argument("--speed", type=arg(lo=0), default=0.0, help="bars per second (0: as fast as possible)")
    rs.add_argument(
        "--capital",
        type=POSITIVE,
        default=CAPITAL,
        help="split between the symbols, as in backtest (default %(default)s)",
    )
    dashed(rs, "long_only", action="store_true", help="no shorts")
    rs.add_argument("--foreground", action="store_true", help="run in this process (a replay exits at its end)")
    rs.add_argument("--reset", action="store_true", help="archive the ledger and paper accounts first")
    rs.set_defaults(func=cmd_runner_start)
    rp = rsub.add_parser("stop", help="stop after the current tick (positions and protections stay)")
    rp.set_defaults(func=cmd_runner_stop)
    rt = rsub.add_parser("status", help="alive, state, heartbeat, positions, kill switch")
    rt.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rt.set_defaults(func=cmd_runner_status)
    rw = rsub.add_parser("watchdog", help="alert when the runner's heartbeat is stale (for cron or systemd)")
    rw.add_argument("--once", action="store_true", help="check once; exit 1 on an incident (cron)")
    dashed(rw, "stale_after", type=POSITIVE, default=120.0, help="seconds without a heartbeat (default 120)")
    rw.add_argument("--every", type=POSITIVE, default=30.0, help="seconds between checks (default 30)")
    rw.set_defaults(func=cmd_runner_watchdog)
    rr = rsub.add_parser("trades", help="closed trades from the ledger (the backtest's trades.csv columns)")
    rr.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rr.add_argument("--csv", help="write them to this file")
    rr.set_defaults(func=cmd_runner_trades)

    pa = sub.add_parser("parity", help="the ledger's trades against the backtest of the same signals and genome")
    pa.add_argument("--signals", help="signals run (default: the one the runner session recorded)")
    pa.add_argument("--params", help="genome file (default: the session's genome)")
    pa.add_argument("--ledger", help="trade ledger (default: state/trades.sqlite)")
    pa.add_argument("--out", help="write the per-trade differences to this CSV")
    pa.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pa.set_defaults(func=cmd_parity)

    kl = sub.add_parser("kill", help="arm the kill switch (pause: no new entries; flatten: close everything, halt)")
    kl.add_argument("--reason", required=True, help="why (recorded with the switch and shown everywhere it is)")
    kl.add_argument(
        "--level",
        choices=("pause", "flatten"),
        default="pause",
        help="pause: no new entries, protections kept; flatten: close everything (default %(default)s)",
    )
    kl.add_argument("--json", action="store_true", help="print JSON instead of a table")
    kl.set_defaults(func=cmd_kill)
    fx = sub.add_parser(
        "force-exit", help="close one position now, through the kill switch's path (trading goes on), with a reason"
    )
    fx.add_argument("symbol", help="the symbol whose position (and resting entry) AiTrade closes")
    fx.add_argument("--reason", required=True, help="why (recorded in the request, the ledger and the alert)")
    fx.add_argument("--json", action="store_true", help="print JSON instead of a line")
    fx.set_defaults(func=cmd_force_exit)
    uk = sub.add_parser("unkill", help="release the kill switch")
    uk.add_argument("--confirm", action="store_true", help="required")
    uk.set_defaults(func=cmd_unkill)
