"""Alerts to a Telegram chat (Bot API ``sendMessage``), queued so that they never block the trading loop.

Off unless ``ALERTS_ENABLED`` and the bot token and chat id are set; then
:meth:`Alerts.send` only puts the text on a bounded queue (the oldest message
is dropped, and counted, when it is full) and a background task delivers it:
at most one message per ``min_interval_s``, ``429 Too Many Requests`` honoured
through its ``retry_after``, a failing or unreachable server retried a few
times and then given up on (logged, never raised). The token is part of the
URL and is kept out of every message and log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp

from aitrade.config import Settings
from aitrade.redact import redact

log = logging.getLogger(__name__)


class Alerts:
    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        *,
        min_interval_s: float = 1.0,
        max_queue: int = 100,
        tries: int = 3,
        timeout_s: float = 10.0,
    ) -> None:
        self.enabled = bool(settings.alerts_enabled and settings.alert_tg_bot_token and settings.alert_tg_chat_id)
        self._token = settings.alert_tg_bot_token.get() if self.enabled else ""
        self._url = f"{settings.alert_tg_base_url.rstrip('/')}/bot{self._token}/sendMessage"
        self._chat = settings.alert_tg_chat_id
        self._session = session
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=max_queue)
        self._task: asyncio.Task[None] | None = None
        self.min_interval_s = min_interval_s
        self.tries = tries
        self.timeout_s = timeout_s
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self.prefix = settings.strategy_id

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._deliver(), name="aitrade-alerts")

    def send(self, text: str) -> None:
        """Queue ``text``; returns at once. A full queue drops its oldest message."""
        if not self.enabled:
            return
        if self._queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
                self._queue.task_done()
            self.dropped += 1
        self._queue.put_nowait(f"[{self.prefix}] {text}"[:4000])

    async def close(self, drain_s: float = 5.0) -> None:
        """Deliver what is queued for at most ``drain_s`` seconds, then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_s)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _deliver(self) -> None:
        while True:
            text = await self._queue.get()
            try:
                await self._post(text)
            finally:
                self._queue.task_done()
            await asyncio.sleep(self.min_interval_s)

    async def _post(self, text: str) -> None:
        body = {"chat_id": self._chat, "text": text, "disable_web_page_preview": True}
        for attempt in range(1, self.tries + 1):
            wait = min(30.0, 2.0**attempt)
            try:
                timeout = aiohttp.ClientTimeout(total=self.timeout_s)
                async with self._session.post(self._url, json=body, timeout=timeout) as resp:
                    answer: dict[str, Any] = await resp.json(content_type=None)
                    if resp.status == 200 and answer.get("ok"):
                        self.sent += 1
                        return
                    if resp.status == 429:
                        wait = float((answer.get("parameters") or {}).get("retry_after", wait))
                    problem = f"HTTP {resp.status}: {answer.get('description', '')}"
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                problem = f"{exc.__class__.__name__}: {exc}"
            log.warning("alert not delivered (try %d of %d): %s", attempt, self.tries, redact(problem, [self._token]))
            if attempt < self.tries:
                await asyncio.sleep(wait)
        self.failed += 1
