"""Secrets never reach a log line, a traceback or `aitrade config show`."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aitrade.cli import main
from aitrade.config import load_settings
from aitrade.log import redact, setup_logging

SECRETS = {
    "BITGET_API_KEY": "bg_key_0123456789abcdef",
    "BITGET_API_SECRET": "bg_secret_ZYXWVUTSRQ9876543210",
    "BITGET_API_PASSPHRASE": "pass-phrase-42-long",
    "TINKOFF_API_TOKEN": "t.TOKEN_abcdefghijklmnopqrstuvwxyz0123",
    "ALERT_TG_BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
}


def _assert_clean(text: str) -> None:
    for value in SECRETS.values():
        assert value not in text
        assert value[:-4] not in text


def test_log_file_never_holds_a_secret(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    settings = load_settings(home)
    path = setup_logging(settings, console=False)
    log = logging.getLogger("aitrade.test")
    log.info("signing with %s and %s", settings.bitget_api_secret.get(), settings.bitget_api_key.get())
    log.warning("headers {'ACCESS-KEY': 'bg_key_0123456789abcdef', 'ACCESS-SIGN': 'u94qJ0Kvi6577a+i2X='}")
    log.warning("POST https://api.telegram.org/bot%s/sendMessage failed", SECRETS["ALERT_TG_BOT_TOKEN"])
    log.warning("Authorization: Bearer %s", SECRETS["TINKOFF_API_TOKEN"])
    try:
        raise RuntimeError(f"passphrase={SECRETS['BITGET_API_PASSPHRASE']} rejected")
    except RuntimeError:
        log.exception("boom")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text()
    assert "signing with ****" in text and "boom" in text
    _assert_clean(text)
    assert "u94qJ0Kvi6577a" not in text


def test_setup_logging_is_idempotent(settings) -> None:
    setup_logging(settings, console=False)
    setup_logging(settings, console=False)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "aitrade_handler", False)]
    assert len(ours) == 1


def test_config_show_masks_secrets(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    assert main(["--home", str(home), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "BITGET_API_SECRET" in out and "****" in out
    _assert_clean(out)
    assert main(["--home", str(home), "config", "show", "--json"]) == 0
    _assert_clean(capsys.readouterr().out)
    _assert_clean((home / "logs" / "aitrade.log").read_text())


def test_redact_patterns() -> None:
    assert redact("token=abcdef123456&x=1") == "token=****&x=1"
    assert redact('{"api_secret": "zzzzzzzz"}') == '{"api_secret": "****"}'
    assert redact("value shown: <unset>") == "value shown: <unset>"
    assert redact("plain text 12345") == "plain text 12345"
    assert redact("the key is mykeyvalue", ["mykeyvalue"]) == "the key is ****"
