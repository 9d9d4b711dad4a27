"""Alerts against a loopback fake Telegram Bot API: queued, rate-limited, 429 honoured, an outage never blocks."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from aitrade.alerts import Alerts
from aitrade.commands import runner_cmd
from aitrade.config import load_settings
from aitrade.runner import control

TOKEN = "123456:SECRET-bot-token-value"


class FakeTelegram:
    """``POST /bot<token>/sendMessage``: records messages; can answer 429 first, fail, or hang."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.too_many = 0  # answer 429 (retry_after 1) this many times first
        self.down = False
        self.delay = 0.0
        self.app = web.Application()
        self.app.router.add_post("/bot{token}/sendMessage", self.send)
        self.runner = web.AppRunner(self.app)

    async def start(self) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self.runner.cleanup()

    async def send(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        await asyncio.sleep(self.delay)
        if self.down:
            return web.json_response({"ok": False, "description": "Bad Gateway"}, status=502)
        if self.too_many:
            self.too_many -= 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        body = await request.json()
        self.messages.append(body)
        return web.json_response({"ok": True, "result": {"message_id": len(self.messages)}})


@pytest.fixture
async def telegram():
    fake = FakeTelegram()
    fake.url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.stop()


def _settings(home: Path, url: str, enabled: bool = True):
    home.mkdir(exist_ok=True)
    (home / ".env").write_text(
        f"ALERTS_ENABLED={int(enabled)}\nALERT_TG_BOT_TOKEN={TOKEN}\nALERT_TG_CHAT_ID=42\nALERT_TG_BASE_URL={url}\n"
    )
    return load_settings(home)


async def test_alerts_are_delivered_in_order_and_429_is_honoured(
    tmp_path: Path, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    telegram.too_many = 1
    settings = _settings(tmp_path / "h", telegram.url)  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        alerts = Alerts(settings, http, min_interval_s=0.05)
        alerts.start()
        t0 = time.perf_counter()
        for i in range(3):
            alerts.send(f"message {i}")
        assert time.perf_counter() - t0 < 0.01  # send never waits
        await alerts.close(drain_s=10)
    assert [m["text"] for m in telegram.messages] == [f"[universal_live_v1] message {i}" for i in range(3)]
    assert all(m["chat_id"] == "42" for m in telegram.messages) and alerts.sent == 3
    assert "429" in caplog.text and TOKEN not in caplog.text


async def test_an_outage_never_blocks_and_the_queue_is_bounded(
    tmp_path: Path, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    telegram.down, telegram.delay = True, 0.2
    settings = _settings(tmp_path / "h", telegram.url)  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        alerts = Alerts(settings, http, min_interval_s=0.0, max_queue=5, tries=2)
        alerts.start()
        t0 = time.perf_counter()
        for i in range(50):
            alerts.send(f"m{i}")
        assert time.perf_counter() - t0 < 0.05 and alerts.dropped >= 40
        await asyncio.sleep(0.5)  # the loop keeps running while delivery fails
        await alerts.close(drain_s=0.5)
    assert not telegram.messages and TOKEN not in caplog.text


async def test_alerts_are_off_unless_enabled(tmp_path: Path, telegram: FakeTelegram) -> None:
    settings = _settings(tmp_path / "h", telegram.url, enabled=False)  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as http:
        alerts = Alerts(settings, http)
        alerts.start()
        alerts.send("nothing")
        await alerts.close()
    assert not alerts.enabled and not telegram.messages


async def test_the_watchdog_alerts_on_a_stale_heartbeat_of_a_dead_runner(
    tmp_path: Path, telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path / "h", telegram.url)  # type: ignore[attr-defined]

    def watch(**kw: float) -> int:
        return runner_cmd.watchdog(settings, once=True, **kw)

    assert await asyncio.to_thread(watch) == 0  # never ran: nothing to watch
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path = settings.state_dir / control.HEARTBEAT_FILE
    path.write_text(json.dumps({"pid": 999_999_999, "phase": "running", "time": "2026-01-01T00:00:00+00:00"}))
    assert await asyncio.to_thread(watch, stale_after_s=60) == 1
    out = capsys.readouterr().out
    assert "ALERT: the runner (pid 999999999) is gone" in out and "alert sent" in out
    assert telegram.messages and "watchdog" in telegram.messages[-1]["text"]
    path.write_text(json.dumps({"pid": 1, "phase": "finished", "time": "2026-01-01T00:00:00+00:00"}))
    assert await asyncio.to_thread(watch) == 0
    path.write_text("{broken")
    assert await asyncio.to_thread(watch) == 1


async def test_a_slow_telegram_does_not_slow_the_runner(tmp_path: Path, telegram: FakeTelegram) -> None:
    from tests.test_backtest import make_signals  # noqa: PLC0415

    telegram.delay = 0.5
    settings = _settings(tmp_path / "h", telegram.url)  # type: ignore[attr-defined]
    run = make_signals(tmp_path / "sig", n=300, seed=3)
    config, sig = runner_cmd.prepare(
        settings,
        signals=str(run),
        params=None,
        mode="paper",
        replay=True,
        capital=1000.0,
        long_only=True,
        start=None,
        end=None,
        speed=0.0,
    )
    t0 = time.perf_counter()
    result = await runner_cmd.run_foreground(settings, config, sig)
    took = time.perf_counter() - t0
    assert result["finished"]
    texts = [m["text"] for m in telegram.messages]
    assert texts and "runner started" in texts[0]
    # the loop did not wait for delivery: it raised more alerts (one per trade at least) than a server taking
    # 0.5 s each could have answered in the time the whole replay took
    trades = len(runner_cmd.trades(settings))
    assert trades > 10 and took < 0.5 * trades
