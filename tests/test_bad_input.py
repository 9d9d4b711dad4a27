"""Every command fed bad input: exit 2, one line naming the problem, no traceback, nothing written.

The table covers every command of the CLI. ``{sig}`` is a valid signals run,
``{lab}`` a folder of broken inputs made once for the module. Home is fresh
for each case and must hold nothing but the log afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from aitrade.cli import main
from tests.test_backtest import make_signals

ROOT = Path(__file__).resolve().parent.parent
GOOD_YAML = (
    "ranges: {sl: [1, 2], tp: [2, 4], conf: [0.5, 0.7], pullback: [0, 0.5], fill_wait: [1, 5], "
    "max_hold: [10, 40], trail_act: [0.5, 2], trail_off: [0.2, 1], vol_exit: [3, 8], abort: [0.6, 0.9]}\n"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lab = tmp_path_factory.mktemp("lab")
    make_signals(lab / "sig", n=400)
    files = {
        "list.json": "[1, 2]",
        "bad.json": "{oops",
        "latin1.yaml": b"conf: 0.6 # caf\xe9\n",
        "bad.yaml": "sl: [1, 2\n",
        "list.yaml": "- 1\n- 2\n",
        "unknown.yaml": "stop_loss: 1\n",
        "conf.yaml": "conf: 1.7\n",
        "inf.yaml": "sl: .inf\n",
        "fill.yaml": "fill_wait: 2.7\n",
        "wide.yaml": "tp: wide\n",
        "hold0.yaml": "max_hold: 0\n",
        "nan.yaml": "vol_exit: .nan\n",
        "neg.yaml": "pullback: -0.5\n",
        "abort.yaml": "abort: 2\n",
        "opt_words.yaml": GOOD_YAML.replace("[1, 2]", "[one, 2]"),
        "opt_rev.yaml": GOOD_YAML.replace("[1, 2]", "[2, 1]"),
        "opt_int.yaml": GOOD_YAML.replace("[1, 5]", "[1.5, 5]"),
        "opt_unknown.yaml": GOOD_YAML + "populatoin: 5\n",
        "opt_pop.yaml": GOOD_YAML + "population: many\n",
        "opt_surv.yaml": GOOD_YAML + "population: 5\nsurvivors: 5\n",
        "opt_fit.yaml": GOOD_YAML + "fitness: luck\n",
        "opt_range.yaml": GOOD_YAML.replace("[1, 2]", "[1, 2, 3]"),
        "opt_missing.yaml": "ranges: {sl: [1, 2]}\n",
        "opt_list.yaml": "- 1\n",
        "opt_bad.yaml": "ranges: {sl: [1\n",
        "nb_bad.yaml": "epochs: [1\n",
        "nb_list.yaml": "- 1\n",
        "nb_unknown.yaml": "epoch: 3\n",
        "nb_latin1.yaml": b"seed: 7 # caf\xe9\n",
        "afile": "x",
    }
    for name, text in files.items():
        (lab / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    (lab / "dir.yaml").mkdir()
    for name, meta in (
        ("meta_list", b"[1]"),
        ("meta_latin1", b'{"mode": "caf\xe9"}'),
        ("meta_bad", b"{oops"),
        ("meta_v9", b'{"schema_version": 9}'),
    ):
        make_signals(lab / name, n=300)
        (lab / name / "meta.json").write_bytes(meta)
    make_signals(lab / "failed", n=300)
    (lab / "failed" / "run.json").write_text(json.dumps({"status": "failed", "error": "ValueError: boom"}))
    make_signals(lab / "running", n=300)
    (lab / "running" / "run.json").write_text(json.dumps({"status": "running", "pid": 999_999_999}))
    make_signals(lab / "empty", n=300)
    pq.write_table(pq.read_table(lab / "empty" / "signals.parquet").slice(0, 0), lab / "empty" / "signals.parquet")
    (lab / "parquet_bad").mkdir()
    (lab / "parquet_bad" / "signals.parquet").write_text("not parquet")
    (lab / "parquet_bad" / "meta.json").write_text('{"schema_version": 1}')
    (lab / "out_full").mkdir()
    (lab / "out_full" / "trades.csv").write_text("old results")
    (lab / "csvdir").mkdir()
    return lab


S = ["signals"]
BT = ["backtest", "--signals", "{sig}", "--out", "{home}/bt"]
OPT = ["optimize", "--signals", "{sig}"]
FETCH = ["data", "fetch", "--symbols", "AAPL", "--interval", "1d"]

CASES: list[tuple[list[str], str]] = [
    # --- the command line itself ------------------------------------------------------------------
    ([], "name a command"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["config"], "needs a subcommand"),
    (["config", "frob"], "invalid choice"),
    (["data"], "needs a subcommand"),
    (["broker"], "needs a subcommand"),
    (["notebook"], "needs a subcommand"),
    (["--home", "{lab}/afile", "data", "list"], "is not a directory"),
    (["config", "show", "--jsn"], "unrecognized arguments: --jsn"),
    (["doctor", "--onlin"], "unrecognized arguments"),
    # --- data fetch ---------------------------------------------------------------------------------
    (["data", "fetch", "--source", "yahoo", "--symbols", "AAPL"], "invalid choice: 'yahoo'"),
    (["data", "fetch", "--source", "BITGET", "--symbols", "AAPL"], "invalid choice: 'BITGET'"),
    (["data", "fetch", "--source", "", "--symbols", "AAPL"], "invalid choice: ''"),
    (["data", "fetch", "--symbols", "AAPL", "--interval", "7x"], "unknown interval '7x'"),
    (["data", "fetch", "--symbols", "AAPL", "--interval", "0h"], "unknown interval '0h'"),
    (["data", "fetch", "--symbols", "AAPL", "--interval", "-1h"], "argument --interval: expected one argument"),
    (["data", "fetch", "--symbols", "AAPL", "--interval", ""], "unknown interval ''"),
    (["data", "fetch", "--symbols", "AAPL", "--interval", "1 d"], "unknown interval"),
    ([*FETCH, "--start", "2024-13-45"], "bad date '2024-13-45' for start"),
    ([*FETCH, "--start", "yesterday-ish"], "bad date 'yesterday-ish'"),
    ([*FETCH, "--end", "2024-02-30"], "bad date '2024-02-30' for end"),
    ([*FETCH, "--start", "2010-01-01", "--end", "2009-01-01"], "must be after start"),
    ([*FETCH, "--start", "2010-01-01", "--end", "2010-01-01"], "must be after start"),
    (["data", "fetch", "--symbols", "AAPL", "--market", "options"], "invalid choice: 'options'"),
    (["data", "fetch", "--source", "csv", "--symbols", "X"], "--path"),
    (["data", "fetch", "--source", "csv", "--symbols", "X", "--path", "/no/such/dir"], "does not exist"),
    (["data", "fetch", "--source", "csv", "--symbols", "X", "--path", "{lab}/csvdir"], "X"),
    (["data", "fetch", "--interval", "1d"], "--symbols is required"),
    (["data", "fetch", "--symbols", ",,", "--interval", "1d"], "--symbols is required"),
    (["data", "fetch", "--symbols", "NOPE", "--interval", "1h"], "no embedded sample for 'NOPE'"),
    (["data", "fetch", "--symbols", "AAPL", "--interval", "1m"], "AAPL"),
    (["data", "frobnicate"], "invalid choice"),
    # --- data check ---------------------------------------------------------------------------------
    (["data", "check", "--interval", "7x"], "unknown interval '7x'"),
    (["data", "check", "--source", "yahoo"], "invalid choice: 'yahoo'"),
    (["data", "check", "--symbols", "NOPE"], "no embedded sample for 'NOPE'"),
    (["data", "check", "--source", "csv"], "--path"),
    (["data", "check", "--source", "csv", "--path", "/no/such/dir", "--interval", "1h"], "does not exist"),
    (["data", "check", "--source", "sample", "--symbols", "AAPL", "--interval", "5m"], "no bar tables match"),
    (["data", "check", "--source", "bitget"], "no bar tables match"),
    # --- signals --------------------------------------------------------------------------------------
    ([*S, "--mode", "sideways"], "invalid choice: 'sideways'"),
    ([*S, "--mode", "WALK"], "invalid choice: 'WALK'"),
    ([*S, "--preset", "yolo"], "invalid choice: 'yolo'"),
    ([*S, "--model", "transformer"], "invalid choice: 'transformer'"),
    ([*S, "--executor", "spark"], "invalid choice: 'spark'"),
    ([*S, "--source", "yahoo"], "invalid choice: 'yahoo'"),
    ([*S, "--interval", "7x"], "unknown interval"),
    ([*S, "--train_window", "0"], "argument --train_window/--train-window: must be a whole number >= 50"),
    ([*S, "--train_window", "-1"], "must be a whole number >= 50, got '-1'"),
    ([*S, "--train_window", "10"], "must be a whole number >= 50, got '10'"),
    ([*S, "--train_window", "1.5"], "whole number"),
    ([*S, "--train_window", "abc"], "got 'abc'"),
    ([*S, "--train_window", "nan"], "got 'nan'"),
    ([*S, "--train-window", "inf"], "got 'inf'"),
    ([*S, "--trade_window", "0"], "must be a whole number >= 1, got '0'"),
    ([*S, "--trade_window", "-5"], "got '-5'"),
    ([*S, "--trade_window", "x"], "got 'x'"),
    ([*S, "--trade_window", "2.5"], "whole number"),
    ([*S, "--embargo", "-1"], "must be a whole number >= 0, got '-1'"),
    ([*S, "--embargo", "x"], "got 'x'"),
    ([*S, "--embargo", "1.5"], "whole number"),
    ([*S, "--seed", "-1"], "must be a whole number >= 0"),
    ([*S, "--seed", "seven"], "got 'seven'"),
    ([*S, "--epochs", "0"], "must be a whole number >= 1, got '0'"),
    ([*S, "--epochs", "-3"], "got '-3'"),
    ([*S, "--epochs", "1.5"], "whole number"),
    ([*S, "--epochs", "many"], "got 'many'"),
    ([*S, "--horizon", "0"], "must be a whole number >= 1, got '0'"),
    ([*S, "--horizon", "-12"], "got '-12'"),
    ([*S, "--horizon", "x"], "got 'x'"),
    ([*S, "--label_tp", "0"], "must be a finite number > 0, got '0'"),
    ([*S, "--label_tp", "-1"], "got '-1'"),
    ([*S, "--label_tp", "nan"], "got 'nan'"),
    ([*S, "--label_tp", "inf"], "got 'inf'"),
    ([*S, "--label-tp", "wide"], "got 'wide'"),
    ([*S, "--label_sl", "0"], "must be a finite number > 0"),
    ([*S, "--label_sl", "-0.5"], "got '-0.5'"),
    ([*S, "--label_sl", "nan"], "got 'nan'"),
    ([*S, "--label_sl", "-inf"], "expected one argument"),
    ([*S, "--jobs", "0"], "must be a whole number >= 1"),
    ([*S, "--jobs", "-2"], "got '-2'"),
    ([*S, "--jobs", "all"], "got 'all'"),
    ([*S, "--symbols", "NOPE"], "NOPE"),
    ([*S, "--start", "2024-13-45"], "bad date"),
    ([*S, "--mode", "universal", "--model", "gru"], "model gru applies to walk mode"),
    ([*S, "--out", "{lab}/afile"], "afile"),
    ([*S, "--source", "csv"], "--path"),
    # --- backtest -------------------------------------------------------------------------------------
    ([*BT, "--capital", "0"], "argument --capital: must be a finite number > 0, got '0'"),
    ([*BT, "--capital", "-1"], "got '-1'"),
    ([*BT, "--capital", "nan"], "got 'nan'"),
    ([*BT, "--capital", "inf"], "got 'inf'"),
    ([*BT, "--capital", "-inf"], "expected one argument"),
    ([*BT, "--capital", "lots"], "got 'lots'"),
    ([*BT, "--capital", ""], "got ''"),
    (["backtest", "--signals", "{sig}"], "--out"),
    (["backtest", "--out", "{home}/bt"], "--signals"),
    (["backtest", "--signals", "{lab}/nope", "--out", "{home}/bt"], "not a signals artifact"),
    (["backtest", "--signals", "{lab}/csvdir", "--out", "{home}/bt"], "not a signals artifact"),
    (["backtest", "--signals", "{lab}/meta_list", "--out", "{home}/bt"], "must hold a JSON object, found list"),
    (["backtest", "--signals", "{lab}/meta_latin1", "--out", "{home}/bt"], "not UTF-8"),
    (["backtest", "--signals", "{lab}/meta_bad", "--out", "{home}/bt"], "not valid JSON"),
    (["backtest", "--signals", "{lab}/meta_v9", "--out", "{home}/bt"], "unknown signals schema version 9"),
    (["backtest", "--signals", "{lab}/parquet_bad", "--out", "{home}/bt"], "not a readable Parquet file"),
    (["backtest", "--signals", "{lab}/empty", "--out", "{home}/bt"], "no signal rows"),
    (["optimize", "--signals", "{lab}/empty"], "no signal rows"),
    (["backtest", "--signals", "{lab}/failed", "--out", "{home}/bt"], "is failed (ValueError: boom)"),
    (["backtest", "--signals", "{lab}/running", "--out", "{home}/bt"], "is interrupted"),
    ([*BT, "--params", "{lab}/missing.yaml"], "does not exist"),
    ([*BT, "--params", "{lab}/dir.yaml"], "is a folder"),
    ([*BT, "--params", "{lab}/bad.yaml"], "not valid YAML"),
    ([*BT, "--params", "{lab}/bad.json"], "not valid JSON"),
    ([*BT, "--params", "{lab}/list.yaml"], "must hold a mapping"),
    ([*BT, "--params", "{lab}/list.json"], "must hold a mapping"),
    ([*BT, "--params", "{lab}/latin1.yaml"], "not UTF-8"),
    ([*BT, "--params", "{lab}/unknown.yaml"], "unknown key(s) stop_loss"),
    ([*BT, "--params", "{lab}/conf.yaml"], "gene conf must be a finite number >= 0 and <= 1, got 1.7"),
    ([*BT, "--params", "{lab}/inf.yaml"], "gene sl must be a finite number > 0, got inf"),
    ([*BT, "--params", "{lab}/fill.yaml"], "gene fill_wait must be a whole number >= 1, got 2.7"),
    ([*BT, "--params", "{lab}/wide.yaml"], "gene tp='wide' is not a number"),
    ([*BT, "--params", "{lab}/hold0.yaml"], "gene max_hold must be a whole number >= 1, got 0"),
    ([*BT, "--params", "{lab}/nan.yaml"], "gene vol_exit must be a finite number > 0, got nan"),
    ([*BT, "--params", "{lab}/neg.yaml"], "gene pullback"),
    ([*BT, "--params", "{lab}/abort.yaml"], "gene abort"),
    (["backtest", "--signals", "{sig}", "--out", "{lab}/out_full"], "already holds trades.csv; add --force"),
    (["backtest", "--signals", "{sig}", "--out", "{lab}/afile"], "is a file"),
    # --- optimize -------------------------------------------------------------------------------------
    ([*OPT, "--profile", "forex"], "invalid choice: 'forex'"),
    ([*OPT, "--fitness", "luck"], "invalid choice: 'luck'"),
    ([*OPT, "--population", "0"], "must be a whole number >= 1, got '0'"),
    ([*OPT, "--population", "-5"], "got '-5'"),
    ([*OPT, "--population", "many"], "got 'many'"),
    ([*OPT, "--population", "2.5"], "whole number"),
    ([*OPT, "--generations", "0"], "got '0'"),
    ([*OPT, "--survivors", "1"], "survivors must be between 2 and population - 1"),
    ([*OPT, "--population", "10", "--survivors", "10"], "survivors must be between 2 and population - 1 (9)"),
    ([*OPT, "--train_window", "0"], "got '0'"),
    ([*OPT, "--test-window", "-1"], "got '-1'"),
    ([*OPT, "--capital", "0"], "must be a finite number > 0, got '0'"),
    ([*OPT, "--capital", "nan"], "got 'nan'"),
    ([*OPT, "--capital", "-100"], "got '-100'"),
    ([*OPT, "--seed", "-1"], "whole number >= 0"),
    ([*OPT, "--settings", "{lab}/missing.yaml"], "does not exist"),
    ([*OPT, "--settings", "{lab}/opt_bad.yaml"], "not valid YAML"),
    ([*OPT, "--settings", "{lab}/opt_list.yaml"], "must hold a mapping"),
    ([*OPT, "--settings", "{lab}/opt_words.yaml"], "low of sl must be a finite number, got 'one'"),
    ([*OPT, "--settings", "{lab}/opt_rev.yaml"], "range of sl is empty"),
    ([*OPT, "--settings", "{lab}/opt_int.yaml"], "gene fill_wait must be a whole number"),
    ([*OPT, "--settings", "{lab}/opt_unknown.yaml"], "unknown key(s) populatoin"),
    ([*OPT, "--settings", "{lab}/opt_pop.yaml"], "population must be a whole number >= 1, got 'many'"),
    ([*OPT, "--settings", "{lab}/opt_surv.yaml"], "survivors must be between 2"),
    ([*OPT, "--settings", "{lab}/opt_fit.yaml"], "fitness must be one of"),
    ([*OPT, "--settings", "{lab}/opt_range.yaml"], "range of sl must be [low, high]"),
    ([*OPT, "--settings", "{lab}/opt_missing.yaml"], "no range for gene"),
    (["optimize", "--signals", "{lab}/nope"], "not a signals artifact"),
    (["optimize", "--signals", "{lab}/failed"], "is failed"),
    (["optimize"], "--signals"),
    ([*OPT, "--out", "{lab}/out_full"], "exists and is not empty"),
    # --- validate and promote ------------------------------------------------------------------------
    (["validate", "--run", "{lab}/nope"], "not an optimise run"),
    (["validate", "--run", "{sig}"], "not an optimise run"),
    (["validate", "--run", "{lab}/failed"], "is failed"),
    (["validate"], "--run"),
    (["promote", "{lab}/nope"], "not a finished research run"),
    (["promote", "{lab}/csvdir"], "not a finished research run"),
    (["promote", "{lab}/failed"], "is failed"),
    (["promote", "{lab}/running"], "is interrupted"),
    (["promote", "{lab}/meta_list"], "found list"),
    (["promote"], "the following arguments are required: run"),
    # --- notebook run ---------------------------------------------------------------------------------
    (["notebook", "run", "nope"], "unknown notebook 'nope'"),
    (["notebook", "run", "{lab}/afile"], "unknown notebook"),
    (["notebook", "run", "walk_forward", "-f", "{lab}/missing.yaml"], "does not exist"),
    (["notebook", "run", "walk_forward", "-f", "{lab}/dir.yaml"], "is a folder"),
    (["notebook", "run", "walk_forward", "-f", "{lab}/nb_bad.yaml"], "not valid YAML"),
    (["notebook", "run", "walk_forward", "-f", "{lab}/nb_list.yaml"], "must hold a mapping"),
    (["notebook", "run", "walk_forward", "-f", "{lab}/nb_latin1.yaml"], "not UTF-8"),
    (["notebook", "run", "walk_forward", "-f", "{lab}/nb_unknown.yaml"], "does not declare parameter(s) epoch"),
    (["notebook", "run", "walk_forward", "-p", "epoch", "3"], "does not declare parameter(s) epoch"),
    (["notebook", "run", "walk_forward", "-p", "epochs", "[1"], "not valid YAML"),
    (["notebook", "run", "walk_forward", "-p", "epochs"], "expected 2 arguments"),
    (["notebook", "run"], "the following arguments are required: name"),
    # --- brokers and close-all ------------------------------------------------------------------------
    (["broker", "status", "--mode", "backtest"], "invalid choice: 'backtest'"),
    (["broker", "status", "--mode", "LIVE"], "invalid choice"),
    (["broker", "instruments"], "the following arguments are required: symbols"),
    (["broker", "instruments", "--mode", "demo", "BTCUSDT"], "invalid choice: 'demo'"),
    (["broker", "instruments", "--mode", "paper", "DOGEUSDT"], "not in the routing table"),
    (["close-all"], "add --confirm"),
    (["close-all", "--mode", "live"], "add --confirm"),
    (["close-all", "--confirm", "--mode", "backtest"], "invalid choice: 'backtest'"),
    (["close-all", "--confirm", "--mode", "live"], "ALLOW_LIVE"),
]
ENV_CASES: list[tuple[dict[str, str], list[str], str]] = [
    ({"RISK_PER_TRADE": "abc"}, ["config", "show"], "RISK_PER_TRADE"),
    ({"RISK_PER_TRADE": "-0.1"}, ["data", "list"], "RISK_PER_TRADE"),
    ({"RISK_PER_TRADE": "nan"}, ["data", "list"], "RISK_PER_TRADE"),
    ({"MAX_OPEN_POSITIONS": "2.5"}, ["data", "list"], "MAX_OPEN_POSITIONS"),
    ({"EXECUTION_MODE": "sideways"}, ["config", "show"], "EXECUTION_MODE"),
    ({"UNIVERSE_MODE": "forex"}, ["config", "show"], "UNIVERSE_MODE"),
    ({"ALLOW_LIVE": "maybe"}, ["config", "show"], "ALLOW_LIVE"),
    ({"BITGET_LEVERAGE": "0"}, ["config", "show"], "BITGET_LEVERAGE"),
    ({"BITGET_MARKET": "margin"}, ["config", "show"], "BITGET_MARKET"),
    ({"TINKOFF_SANDBOX": "perhaps"}, ["config", "show"], "TINKOFF_SANDBOX"),
    ({"AITRADE_LOG_LEVEL": "LOUD"}, ["config", "show"], "AITRADE_LOG_LEVEL"),
]
RUNTIME_CASES: list[tuple[str, str]] = [
    ('{"ALLOW_LIVE": true}', "cannot be set at runtime"),
    ('{"BITGET_API_KEY": "x"}', "cannot be set at runtime"),
    ('{"RISK_PER_TRADE": "lots"}', "RISK_PER_TRADE"),
    ('{"NOT_A_SETTING": 1}', "unknown setting"),
]


def _files(home: Path) -> set[str]:
    return {str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and p.parts[len(home.parts)] != "logs"}


def _check(capsys: pytest.CaptureFixture[str], home: Path, argv: list[str], needle: str) -> None:
    before = _files(home)
    code = main(["--home", str(home), *argv] if "--home" not in argv else argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert needle in err, (argv, err)
    assert err.count("\n") == 1 and "Traceback" not in err and "unexpected" not in err, (argv, err)
    assert _files(home) == before, (argv, _files(home) - before)  # nothing written
    assert not (home / "bt").exists() and not (home / "runs").exists()


def _fill(argv: list[str], home: Path, lab: Path) -> list[str]:
    return [a.format(home=home, lab=lab, sig=lab / "sig") for a in argv]


@pytest.mark.parametrize(("argv", "needle"), CASES, ids=[" ".join(a)[:60] or "(none)" for a, _ in CASES])
def test_bad_input_is_one_line_and_exit_2(capsys, home: Path, lab: Path, argv: list[str], needle: str) -> None:
    _check(capsys, home, _fill(argv, home, lab), needle.format(home=home, lab=lab))


@pytest.mark.parametrize(
    ("env", "argv", "needle"), ENV_CASES, ids=[next(iter(e)) + "=" + v for e, _, _ in ENV_CASES for v in e.values()]
)
def test_bad_settings_are_one_line_and_exit_2(capsys, monkeypatch, home: Path, env, argv, needle) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _check(capsys, home, argv, needle)


@pytest.mark.parametrize(("content", "needle"), RUNTIME_CASES)
def test_bad_runtime_settings_are_one_line_and_exit_2(capsys, home: Path, content: str, needle: str) -> None:
    (home / "state").mkdir()
    (home / "state" / "runtime_settings.json").write_text(content)
    _check(capsys, home, ["config", "show"], needle)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) + len(ENV_CASES) + len(RUNTIME_CASES) >= 150
    commands = {a[0] for a, _ in CASES if a and not a[0].startswith("-")}
    assert commands >= {
        "config",
        "doctor",
        "data",
        "signals",
        "backtest",
        "optimize",
        "validate",
        "promote",
        "notebook",
        "broker",
        "close-all",
    }


def test_a_typo_is_refused_before_torch_is_imported() -> None:
    code = (
        "import sys; from aitrade.cli import main; rc = main(['signals', '--epochs', '0']); "
        "print(rc, 'torch' in sys.modules, 'vectorbt' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["2", "False", "False"], out.stdout + out.stderr


def test_degenerate_backtests_finish_and_say_so(capsys, home: Path, lab: Path) -> None:
    (home / "never.yaml").write_text("conf: 1.0\n")  # the rules never enter
    code = main(
        [
            "--home",
            str(home),
            "backtest",
            "--signals",
            str(lab / "sig"),
            "--params",
            str(home / "never.yaml"),
            "--out",
            str(home / "bt"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0 and "no trades" in out and "Sharpe n/a" in out, out + err
    assert json.loads((home / "bt" / "metrics.json").read_text())["trades"] == 0
    before = (home / "bt" / "metrics.json").read_bytes()
    code = main(["--home", str(home), "backtest", "--signals", str(lab / "sig"), "--out", str(home / "bt")])
    out, err = capsys.readouterr()
    assert code == 2 and "--force" in err and (home / "bt" / "metrics.json").read_bytes() == before
    code = main(["--home", str(home), "backtest", "--signals", str(lab / "sig"), "--out", str(home / "bt"), "--force"])
    assert code == 0 and (home / "bt" / "metrics.json").read_bytes() != before
    assert [p.name for p in home.iterdir() if p.name.startswith(".bt")] == []  # no staging folder left


def test_a_failing_notebook_is_one_line_and_its_run_is_marked_failed(capsys, home: Path) -> None:
    code = main(
        [
            "--home",
            str(home),
            "notebook",
            "run",
            "walk_forward",
            "-f",
            str(ROOT / "params" / "ci.yaml"),
            "-p",
            "symbols",
            "NOPEUSDT",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "failed in cell" in err and "NOPEUSDT" in err, err
    run = next((home / "runs").iterdir())
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "failed" and "NOPEUSDT" in record["error"]
    code = main(["--home", str(home), "promote", str(run)])
    assert code == 2 and "is failed" in capsys.readouterr().err
