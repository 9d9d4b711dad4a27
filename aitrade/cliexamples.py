"""One example per ``aitrade`` command, shown under its ``--help`` (the parser's description is its one-line help)."""

from __future__ import annotations

import argparse

EXAMPLES: dict[str, tuple[str, ...]] = {
    "config": ("aitrade config show",),
    "config show": ("aitrade config show",),
    "doctor": ("aitrade doctor", "aitrade doctor --online"),
    "data": ("aitrade data list",),
    "data list": ("aitrade data list",),
    "data fetch": ("aitrade data fetch --source bitget --symbols BTCUSDT,ETHUSDT --interval 1h --start 2024-01-01",),
    "data check": ("aitrade data check --source sample --interval 4h",),
    "signals": (
        "aitrade signals --symbols BTCUSDT,ETHUSDT --source sample --interval 4h",
        "aitrade signals --mode universal --cross-asset-wf --model lgbm --jobs 2",
    ),
    "backtest": (
        "aitrade backtest --signals runs/<signals run> --params runs/<opt run>/best_strategy_params.json --out bt",
    ),
    "optimize": ("aitrade optimize --signals runs/<signals run> --profile crypto",),
    "validate": ("aitrade validate --run runs/<optimise run>",),
    "promote": ("aitrade promote runs/<signals run>",),
    "notebook": ("aitrade notebook run walk_forward -f params/walk_forward.yaml",),
    "notebook run": ("aitrade notebook run walk_forward -f params/walk_forward.yaml -p epochs 100",),
    "broker": ("aitrade broker status --mode paper",),
    "broker status": ("aitrade broker status --mode live",),
    "broker instruments": ("aitrade broker instruments BTCUSDT SBER",),
    "close-all": ("aitrade close-all --confirm",),
    "runner": ("aitrade runner status",),
    "runner start": (
        "aitrade runner start --signals runs/<signals run> --replay --speed 5",
        "aitrade runner start --signals model --mode paper",
    ),
    "runner stop": ("aitrade runner stop",),
    "runner status": ("aitrade runner status",),
    "runner watchdog": ("aitrade runner watchdog --once",),
    "runner trades": ("aitrade runner trades --csv trades.csv",),
    "parity": ("aitrade parity --out parity.csv",),
    "kill": ("aitrade kill --level flatten --reason 'venue outage'",),
    "unkill": ("aitrade unkill --confirm",),
    "force-exit": ("aitrade force-exit BTCUSDT --reason 'news: exchange halts withdrawals'",),
    "runs": ("aitrade runs", "aitrade runs --kind signals"),
    "runs list": ("aitrade runs list --all",),
    "runs compare": ("aitrade runs compare 20261203T2123 20261203T2241",),
    "jobs": ("aitrade jobs", "aitrade jobs --cancel <job id>"),
    "control-room": ("aitrade control-room --port 8866",),
    "demo": ("aitrade demo",),
}


def describe(parser: argparse.ArgumentParser, path: str = "") -> None:
    """Give every sub-command its one-line help as a description and its examples as an epilog."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, sub in action.choices.items():
            full = f"{path} {name}".strip()
            if sub.description is None and helps.get(name):
                text = str(helps[name])
                sub.description = text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
            if sub.epilog is None and full in EXAMPLES:
                lines = "\n".join(f"  {line}" for line in EXAMPLES[full])
                sub.epilog = f"example{'s' if len(EXAMPLES[full]) > 1 else ''}:\n{lines}"
                sub.formatter_class = argparse.RawDescriptionHelpFormatter
            describe(sub, full)
