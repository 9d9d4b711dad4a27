"""The arrows of the design, checked on the source: execution beside research, never on it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aitrade.cli import FITNESSES, PRESETS
from aitrade.optimize.fitness import FITNESSES as REAL_FITNESSES
from aitrade.signals.regimes import PRESETS as REAL_PRESETS

PACKAGE = Path(__file__).resolve().parents[1] / "aitrade"
RESEARCH = (
    "aitrade.data",
    "aitrade.backtest",
    "aitrade.signals",
    "aitrade.optimize",
    "aitrade.models",
    "aitrade.features",
    "aitrade.labels",
    "aitrade.router",
    "aitrade.factory",
)


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_brokers_import_no_research_and_no_data_source() -> None:
    for path in (PACKAGE / "brokers").rglob("*.py"):
        bad = sorted(m for m in _imports(path) if m.startswith(RESEARCH))
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_the_package_never_imports_the_widgets_or_pickle() -> None:
    for path in PACKAGE.rglob("*.py"):
        mods = _imports(path)
        assert not any(m == "widgets" or m.startswith("widgets.") for m in mods), path
        assert not {"pickle", "cPickle", "dill", "joblib"} & mods, path


def test_the_command_core_never_calls_back_into_its_front_ends() -> None:
    """``aitrade/commands`` is what the CLI and the panels call: it never imports the CLI (a job process runs the
    command core, not ``cli.main``)."""
    for path in (PACKAGE / "commands").rglob("*.py"):
        bad = sorted(m for m in _imports(path) if m in ("aitrade.cli", "aitrade.cli_runner", "aitrade.cli_runs"))
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_the_router_only_routes() -> None:
    mods = _imports(PACKAGE / "router.py")
    assert not any(m.startswith(("aitrade.brokers.bitget", "aitrade.brokers.tinkoff", "aitrade.data")) for m in mods)


def test_cli_choices_match_the_library() -> None:
    assert set(PRESETS) == set(REAL_PRESETS) and set(FITNESSES) == set(REAL_FITNESSES)


def test_data_reaches_the_venues_through_their_candle_clients_only() -> None:
    """``data/`` imports a venue's candle client, never its wire modules (seam, signer, translation, broker)."""
    wire = ("http", "auth", "translate", "broker", "spot", "futures", "requests", "endpoints", "errors")
    for path in (PACKAGE / "data").rglob("*.py"):
        bad = sorted(m for m in _imports(path) if m.startswith("aitrade.brokers") and m.rsplit(".", 1)[-1] in wire)
        assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_bitget_markets_are_classes_not_branches() -> None:
    """Spot and futures are two classes over one base: no market flag is tested inside a broker."""
    for name in ("broker.py", "spot.py", "futures.py"):
        text = (PACKAGE / "brokers" / "bitget" / name).read_text()
        assert "self.spot" not in text and 'self.market == "spot"' not in text.replace("'", '"'), name


def test_the_trading_rules_are_written_once() -> None:
    """``aitrade/rules.py`` is pure (the standard library only); the kernel, ``strategy.step`` and the paper venue
    import it and compare no bar price with a level themselves."""
    assert _imports(PACKAGE / "rules.py") <= {"__future__", "math", "decimal", "types", "typing"}
    bar_vs_level = re.compile(
        r"\b(o|h|low|high|open)(\[t\])?\s*[<>]=?\s*(limit|stop|target|trig)\b"
        r"|\b(limit|stop|target|trig)\s*[<>]=?\s*(o|h|low|high|open)(\[t\])?\b"
        r"|trail_act\s*\*|>=\s*max_hold|vol_exit\s*\*"
    )
    callers = ("backtest/kernel.py", "strategy.py", "brokers/simulated.py")
    for name in (*callers, "runner/engine.py", "runner/execution.py", "backtest/engine.py"):
        text = (PACKAGE / name).read_text()
        assert name not in callers or re.search(r"from aitrade import rules\b|from aitrade\.rules import", text), name
        assert not bar_vs_level.search(text), f"{name}: {bar_vs_level.search(text).group(0)!r} is a rule"
