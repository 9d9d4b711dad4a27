"""Settings: precedence, parsing, safety rules and runtime overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitrade.config import (
    RUNTIME_KEYS,
    TINKOFF_PROD_URL,
    TINKOFF_SANDBOX_URL,
    load_settings,
    parse_bool,
    save_runtime_settings,
)
from aitrade.errors import ConfigError
from aitrade.universe import CRYPTO_UNIVERSE, EQUITY_UNIVERSE, ROUTING, TINKOFF_FIGI_MAP


def test_defaults_are_safe(home: Path) -> None:
    s = load_settings(home, {})
    assert s.execution_mode == "backtest"
    assert s.allow_live is False
    assert s.tinkoff_sandbox is True
    assert s.tinkoff_base_url == TINKOFF_SANDBOX_URL
    assert s.universe_mode == "both"
    assert s.leader_symbol_crypto == "BTCUSDT" and s.leader_symbol_equity == "MOEX"
    assert s.state_dir == home / "state" and s.logs_dir == home / "logs"


def test_home_from_environment_resolved_at_construction(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert load_settings(environ={"AITRADE_HOME": str(a)}).home == a.resolve()
    assert load_settings(environ={"AITRADE_HOME": str(b)}).home == b.resolve()
    assert load_settings(environ={}).home == Path.cwd().resolve()


def test_universes_routing_and_figis() -> None:
    assert len(CRYPTO_UNIVERSE) == 20 and len(EQUITY_UNIVERSE) == 21
    assert all(ROUTING[s] == "bitget" for s in CRYPTO_UNIVERSE)
    assert all(ROUTING[s] == "tinkoff" for s in EQUITY_UNIVERSE)
    assert set(TINKOFF_FIGI_MAP) == set(EQUITY_UNIVERSE)
    assert TINKOFF_FIGI_MAP["SBER"] == "BBG004730N88"


@pytest.mark.parametrize(
    ("mode", "n", "risk", "slots"), [("crypto", 20, 0.02, 4), ("stocks", 21, 0.01, 2), ("both", 41, 0.02, 4)]
)
def test_universe_selects_assets_and_risk_profile(home: Path, mode: str, n: int, risk: float, slots: int) -> None:
    s = load_settings(home, {"UNIVERSE_MODE": mode})
    assert len(s.assets) == n
    assert s.risk_per_trade == risk and s.max_open_positions == slots


def test_environment_beats_dotenv_which_beats_defaults(home: Path) -> None:
    (home / ".env").write_text("UNIVERSE_MODE=stocks\nRISK_PER_TRADE=0.005\nSTRATEGY_ID=from_dotenv\n")
    s = load_settings(home, {"RISK_PER_TRADE": "0.003"})
    assert s.universe_mode == "stocks" and s.strategy_id == "from_dotenv"
    assert s.risk_per_trade == 0.003
    assert s.origins["RISK_PER_TRADE"] == "env" and s.origins["UNIVERSE_MODE"] == ".env"


def test_runtime_overrides_win_and_are_written_atomically(home: Path) -> None:
    s = load_settings(home, {"RISK_PER_TRADE": "0.01"})
    s2 = save_runtime_settings(s, {"RISK_PER_TRADE": 0.0025, "MAX_OPEN_POSITIONS": 3})
    assert s2.risk_per_trade == 0.0025 and s2.max_open_positions == 3
    assert s2.origins["RISK_PER_TRADE"] == "runtime"
    data = json.loads((home / "state" / "runtime_settings.json").read_text())
    assert data == {"MAX_OPEN_POSITIONS": 3, "RISK_PER_TRADE": 0.0025}
    assert not list((home / "state").glob("*.tmp"))


@pytest.mark.parametrize("key", ["ALLOW_LIVE", "BITGET_API_SECRET", "TINKOFF_SANDBOX", "NOT_A_SETTING"])
def test_runtime_file_cannot_arm_live_or_carry_secrets(home: Path, key: str) -> None:
    (home / "state").mkdir()
    (home / "state" / "runtime_settings.json").write_text(json.dumps({key: "1"}))
    with pytest.raises(ConfigError, match=key):
        load_settings(home, {})


def test_runtime_save_rejects_bad_values_before_writing(home: Path) -> None:
    s = load_settings(home, {})
    with pytest.raises(ConfigError, match="RISK_PER_TRADE"):
        save_runtime_settings(s, {"RISK_PER_TRADE": 5})
    with pytest.raises(ConfigError, match="ALLOW_LIVE"):
        save_runtime_settings(s, {"ALLOW_LIVE": True})
    assert not (home / "state" / "runtime_settings.json").exists()
    assert set(RUNTIME_KEYS) >= {
        "RISK_PER_TRADE",
        "MAX_OPEN_POSITIONS",
        "MAX_POSITION_NOTIONAL",
        "MAX_DAILY_DRAWDOWN",
    }


def test_corrupt_runtime_file_is_kept_aside_and_blocks_trading_until_dealt_with(home: Path) -> None:
    (home / "state").mkdir()
    bad = home / "state" / "runtime_settings.json"
    bad.write_text('{"RISK_PER_TRADE": 0.005')
    for _ in range(2):  # the first load and every later one: never silently on defaults
        s = load_settings(home, {})
        assert s.runtime_quarantine and any("NOT applied" in w for w in s.warnings)
        with pytest.raises(ConfigError, match="refused.*moved aside"):
            s.require_runtime_intact("trading")
        with pytest.raises(ConfigError, match="refused"):
            save_runtime_settings(s, {"RISK_PER_TRADE": 0.01})
    assert not bad.exists()
    aside = list((home / "state").glob("runtime_settings.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"RISK_PER_TRADE": 0.005'
    aside[0].unlink()  # the user deletes the broken copy: defaults, knowingly
    s = load_settings(home, {})
    assert not s.runtime_quarantine and not s.warnings
    s.require_runtime_intact("trading")


def test_live_without_allow_live_is_paper_with_warning(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = load_settings(home, {"EXECUTION_MODE": "live"})
    assert s.requested_mode == "live" and s.execution_mode == "paper"
    assert any("ALLOW_LIVE" in w for w in s.warnings)
    assert "ALLOW_LIVE" in caplog.text
    armed = load_settings(home, {"EXECUTION_MODE": "LIVE", "ALLOW_LIVE": "yes"})
    assert armed.execution_mode == "live" and not armed.warnings


@pytest.mark.parametrize(
    ("value", "sandbox", "url"),
    [
        ("1", True, TINKOFF_SANDBOX_URL),
        ("true", True, TINKOFF_SANDBOX_URL),
        ("0", False, TINKOFF_PROD_URL),
        ("OFF", False, TINKOFF_PROD_URL),
    ],
)
def test_tinkoff_sandbox_one_means_sandbox(home: Path, value: str, sandbox: bool, url: str) -> None:
    s = load_settings(home, {"TINKOFF_SANDBOX": value})
    assert s.tinkoff_sandbox is sandbox and s.tinkoff_base_url == url


def test_explicit_tinkoff_base_url_wins(home: Path) -> None:
    s = load_settings(home, {"TINKOFF_BASE_URL": "http://127.0.0.1:9/rest/"})
    assert s.tinkoff_base_url == "http://127.0.0.1:9/rest"


_SPELLINGS = ["1", "0", "true", "false", "yes", "no", "on", "off"]


@given(
    st.sampled_from(_SPELLINGS),
    st.lists(st.booleans(), min_size=8, max_size=8),
    st.sampled_from(["", " ", "\t"]),
)
def test_boolean_spellings_in_any_case(word: str, upper: list[bool], pad: str) -> None:
    text = pad + "".join(c.upper() if u else c for c, u in zip(word, upper, strict=False)) + pad
    assert parse_bool("ALLOW_LIVE", text) is (word in ("1", "true", "yes", "on"))


@given(st.text(min_size=1, max_size=8).filter(lambda t: t.strip().lower() not in _SPELLINGS and t.strip() != ""))
def test_anything_else_is_an_error_naming_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match="BITGET_DEMO"):
        parse_bool("BITGET_DEMO", text)


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("EXECUTION_MODE", "livee", "allowed: backtest, paper, live"),
        ("UNIVERSE_MODE", "forex", "allowed: crypto, stocks, both"),
        ("RISK_PER_TRADE", "0.5", "out of range"),
        ("RISK_PER_TRADE", "abc", "must be a number"),
        ("MAX_OPEN_POSITIONS", "2.5", "integer"),
        ("MAX_DAILY_DRAWDOWN", "0", "out of range"),
        ("BITGET_BASE_URL", "ftp://x", "http(s) URL"),
        ("LEADER_SYMBOL_CRYPTO", "btc usdt", "not a symbol"),
        ("ALLOW_LIVE", "maybe", "not a boolean"),
    ],
)
def test_invalid_values_name_the_field_and_what_is_allowed(home: Path, var: str, value: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(home, {var: value})
    assert var in str(err.value) and needle in str(err.value)


def test_empty_values_mean_unset(home: Path) -> None:
    s = load_settings(home, {"ALLOW_LIVE": "", "TINKOFF_SANDBOX": " "})
    assert s.allow_live is False and s.tinkoff_sandbox is True


def test_secrets_are_masked_everywhere(home: Path) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    s = load_settings(home, {"BITGET_API_SECRET": secret, "TINKOFF_API_TOKEN": "t.token-abcdefghijklmnop"})
    assert secret not in repr(s) and secret not in str(s.public_view())
    assert s.bitget_api_secret.get() == secret
    assert s.public_view()["BITGET_API_SECRET"]["value"] == "****leak"
    assert set(s.secrets()) == {secret, "t.token-abcdefghijklmnop"}
