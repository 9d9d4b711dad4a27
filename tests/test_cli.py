"""The `aitrade` command: one-line user errors (exit 2), fetch against the fake venue, doctor."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from aitrade.cli import main
from aitrade.data.cache import BarCache
from tests.fakes.bitget import FakeBitget
from tests.fakes.tinvest import FakeTinvest


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["data", "fetch", "--source", "yahoo", "--symbols", "AAPL"], "invalid choice: 'yahoo'"),
        (["data", "fetch", "--symbols", "NOPE", "--interval", "1h"], "no embedded sample for 'NOPE'"),
        (["data", "fetch", "--symbols", "AAPL", "--interval", "7h"], "unknown interval '7h'"),
        (
            ["data", "fetch", "--symbols", "AAPL", "--interval", "1d", "--start", "2024-13-45"],
            "bad date '2024-13-45' for start",
        ),
        (["data", "fetch", "--source", "csv", "--symbols", "X", "--path", "/no/such/dir"], "does not exist"),
        (["data", "fetch", "--interval", "1d"], "--symbols is required"),
        (["data", "frobnicate"], "invalid choice"),
    ],
)
def test_user_errors_print_one_line_and_exit_2(capsys, home: Path, argv: list[str], needle: str) -> None:
    code, out, err = run(capsys, "--home", str(home), *argv)
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_traceback(capsys, home: Path) -> None:
    code, _, err = run(capsys, "--home", str(home), "--debug", "data", "fetch", "--symbols", "NOPE")
    assert code == 2 and "Traceback" in err


def test_unwritable_directory_is_a_user_error(capsys, home: Path) -> None:
    (home / "data_cache").write_text("a file where the cache folder should be")
    code, _, err = run(capsys, "--home", str(home), "data", "fetch", "--symbols", "AAPL", "--interval", "1d")
    assert code == 2 and "data_cache" in err and err.count("\n") == 1


def test_corrupt_runtime_settings_block_trading_until_dealt_with(capsys, home: Path) -> None:
    state = home / "state"
    state.mkdir()
    (state / "runtime_settings.json").write_text('{"RISK_PER_TRADE": 0.005')  # truncated
    code, out, err = run(capsys, "--home", str(home), "config", "show")  # reading: a warning, in the output
    assert code == 0 and "moved aside" in out and "NOT applied" in out, out + err
    aside = next(state.glob("runtime_settings.json.corrupt-*"))
    for _ in range(2):  # not only on the first start: every start until the user acts
        code, out, err = run(capsys, "--home", str(home), "close-all", "--confirm", "--mode", "paper")
        assert code == 2 and err.count("\n") == 1 and aside.name in err and "refused" in err, err
        assert not (state / "paper_bitget.sqlite").exists()  # nothing traded, nothing written
    code, out, err = run(capsys, "--home", str(home), "data", "list")  # research: warned once, runs
    assert code == 0 and err.count("moved aside") == 1, err
    aside.rename(state / "runtime_settings.json")
    (state / "runtime_settings.json").write_text('{"RISK_PER_TRADE": 0.005}')  # restored and fixed
    code, out, err = run(capsys, "--home", str(home), "config", "show", "--json")
    assert code == 0 and json.loads(out)["RISK_PER_TRADE"] == {"value": 0.005, "origin": "runtime"}, out + err


def test_bad_setting_is_a_user_error(capsys, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINKOFF_SANDBOX", "maybe")
    code, _, err = run(capsys, "--home", str(home), "config", "show")
    assert code == 2 and "TINKOFF_SANDBOX='maybe' is not a boolean" in err


def test_sample_fetch_list_and_check(capsys, home: Path) -> None:
    code, out, _ = run(capsys, "--home", str(home), "data", "fetch", "--symbols", "BTCUSDT,SBER", "--interval", "1h")
    assert code == 0 and "BTCUSDT" in out and "SBER" in out
    code, out, _ = run(capsys, "--home", str(home), "data", "list")
    assert code == 0 and "EURUSD" in out and "synthetic" in out and "sample  1h" in out
    code, out, _ = run(capsys, "--home", str(home), "data", "check")
    assert code == 0 and "cache:sample" in out and "pass the quality gate" in out


def test_data_check_flags_bad_csv(capsys, home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "X.csv").write_text(
        "ts,open,high,low,close,volume\n2024-01-01T00:00,1,2,0.5,1,1\n2024-01-01T03:00,1,2,0.5,1,1\n"
    )
    code, out, _ = run(
        capsys,
        "--home",
        str(home),
        "data",
        "check",
        "--source",
        "csv",
        "--path",
        str(folder),
        "--interval",
        "1h",
    )
    assert code == 1 and "gap(s) beyond the weekdays calendar" in out


def test_doctor_offline(capsys, home: Path) -> None:
    code, out, _ = run(capsys, "--home", str(home), "doctor")
    assert code == 0 and "torch device" in out and "state dir" in out and "writable" in out


async def _cli(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aitrade",
        *argv,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_fetches_bitget_into_the_cache(bitget: FakeBitget, home: Path) -> None:
    code, out, err = await _cli(
        "--home",
        str(home),
        "data",
        "fetch",
        "--source",
        "bitget",
        "--symbols",
        "BTCUSDT,ETHUSDT",
        "--interval",
        "1h",
        "--start",
        "2024-01-01",
        "--end",
        "2024-03-01",
        env={"BITGET_BASE_URL": bitget.url},
    )
    assert code == 0, err
    assert "BTCUSDT" in out and "ETHUSDT" in out and "1440" in out
    entry = BarCache(home / "data_cache").read("bitget", "1h", "ETHUSDT")
    assert entry is not None and len(entry.bars) == 1440
    first = bitget.bar("ETHUSDT", int(pd.Timestamp("2024-01-01", tz="UTC").value // 1_000_000), 3600)
    assert entry.bars.iloc[0].tolist() == [float(x) for x in first[1:6]]
    assert entry.bars.index[-1] == pd.Timestamp("2024-02-29 23:00", tz="UTC")


async def test_cli_doctor_online_pings_the_fakes(bitget: FakeBitget, tinvest: FakeTinvest, home: Path) -> None:
    env = {"BITGET_BASE_URL": bitget.url, "TINKOFF_BASE_URL": tinvest.url, "TINKOFF_API_TOKEN": tinvest.token}
    code, out, err = await _cli("--home", str(home), "doctor", "--online", env=env)
    assert code == 0, out + err
    assert "bitget ping" in out and "1 account(s)" in out
    assert tinvest.token not in out + err


def test_every_option_says_what_it_is_and_its_default_in_its_help() -> None:
    """`aitrade X --help` explains every option and shows its default (a default nobody can see is a default nobody
    checks)."""
    import argparse  # noqa: PLC0415

    from aitrade.cli import build_parser  # noqa: PLC0415

    def walk(parser: argparse.ArgumentParser, path: str):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}")
            elif action.option_strings and action.dest not in ("help", "version"):
                yield path, action.option_strings[-1], action.help or "", action.default not in (None, False)

    options = list(walk(build_parser(), "aitrade"))
    unexplained = [(path, option) for path, option, text, _ in options if not text or text.startswith("(")]
    assert not unexplained, unexplained
    silent = [(path, option) for path, option, text, has in options if has and "default" not in text]
    assert not silent, silent


def test_every_command_has_a_description_and_an_example_that_parses() -> None:
    """`aitrade X --help` says what X does and shows how to call it; every example is a valid command line."""
    import argparse  # noqa: PLC0415
    import re  # noqa: PLC0415
    import shlex  # noqa: PLC0415

    from aitrade.cli import build_parser  # noqa: PLC0415
    from aitrade.cliexamples import EXAMPLES  # noqa: PLC0415

    parser = build_parser()

    def walk(p: argparse.ArgumentParser, path: str):
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield f"{path} {name}".strip(), sub
                    yield from walk(sub, f"{path} {name}")

    commands = dict(walk(parser, ""))
    assert not [c for c, sub in commands.items() if not sub.description], "commands without a description"
    assert not [c for c, sub in commands.items() if "example" not in (sub.epilog or "")], "commands without examples"
    assert set(EXAMPLES) == set(commands)
    for command, lines in EXAMPLES.items():
        for line in lines:
            argv = shlex.split(re.sub(r"<([^>]*)>", lambda m: m.group(1).replace(" ", "_"), line))  # placeholders
            assert argv[0] == "aitrade" and " ".join(argv[1:]).startswith(command.split()[0]), line
            parser.parse_args(argv[1:])  # exits (SystemExit) on a bad example
