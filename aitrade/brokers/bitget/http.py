"""The Bitget v2 HTTP seam: signing, the envelope, rate limits, and errors typed by what the caller must do.

* Transport failures are typed by the shared seam
  (:func:`aitrade.net.http.request_json`): before sending, retried;
  after sending a state-changing request (``idempotent=False``: placing or
  cancelling), :class:`ReconcileError`, so the caller looks the order up by its
  clientOid before anything is re-sent. HTTP 429 is retried; a 5xx on a
  state-changing request is also :class:`ReconcileError`.
* Vendor codes are translated at this boundary (reference/broker_apis.md A9):
  credentials, permissions and environment -> :class:`AuthError` (halt);
  funds, size, precision, symbol state -> :class:`SkipError`; duplicate
  clientOid -> :class:`DuplicateOrder`; unknown order -> :class:`OrderNotFound`.
  A stale timestamp (40008) re-syncs the clock with the server once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp

from aitrade.brokers.bitget import endpoints
from aitrade.brokers.bitget.auth import body_text, query_string, signed_headers
from aitrade.brokers.bitget.endpoints import Endpoint
from aitrade.errors import (
    AuthError,
    DataError,
    DuplicateOrder,
    ExpiredRequest,
    HaltError,
    OrderNotFound,
    RateLimited,
    ReconcileError,
    RetryableError,
    SkipError,
    UnknownSymbolError,
)
from aitrade.net.http import request_json, retry_after_s
from aitrade.net.retry import RetryPolicy, retry_async

AUTH_CODES = frozenset(
    {
        "40001",
        "40002",
        "40003",
        "40006",
        "40009",
        "40010",
        "40011",
        "40012",
        "40014",
        "40018",
        "40037",
        "40085",
        "40099",
    }
)
SKIP_CODES = frozenset(
    {
        "40017",
        "40019",
        "40020",
        "40034",
        "40308",
        "40762",
        "40774",
        "40808",
        "40891",
        "40917",
        "41103",
        "41114",
        "43006",
        "43012",
        "43115",
        "45110",
        "45113",
        "45122",
        "22002",
    }
)
NOT_FOUND_CODES = frozenset({"40109", "40768", "43001", "43025", "43020", "22001"})
BUSY_CODES = frozenset({"40015", "40200", "40604"})
STALE_TS_CODES = frozenset({"40004", "40005", "40008"})
BAD_SYMBOL_CODES = frozenset({"40034", "40309", "43000"})


def translate(status: int, body: Any, what: str, headers: dict[str, str], *, trading: bool = True) -> Exception:
    """An AiTrade error for a non-success Bitget answer: the one table for trading and market data alike.

    A market-data call (``trading=False``) reads an unknown symbol as
    :class:`UnknownSymbolError` and another 4xx as bad input (:class:`DataError`).
    """
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or "")
    msg = str(body.get("msg") or f"HTTP {status}")
    text = f"{what}: Bitget {code or 'HTTP ' + str(status)}: {msg}"
    if status == 429 or code == "429":
        return RateLimited(text, retry_after=retry_after_s(headers))
    if code in AUTH_CODES or status in (401, 403):
        return AuthError(text)
    if not trading:
        if status >= 500 or code in BUSY_CODES:
            return RetryableError(text, retry_after=retry_after_s(headers))
        if code in BAD_SYMBOL_CODES:
            return UnknownSymbolError(text)
        return DataError(text)
    squashed = msg.lower().replace("_", "").replace(" ", "")
    if code == "40786" or ("duplicate" in squashed and ("clientoid" in squashed or "clientorderid" in squashed)):
        return DuplicateOrder(text)
    if code in NOT_FOUND_CODES:
        return OrderNotFound(text)
    if code in SKIP_CODES:
        return SkipError(text)
    if code in BUSY_CODES or status >= 500:
        return RetryableError(text, retry_after=retry_after_s(headers))
    if code in STALE_TS_CODES:
        return _StaleTimestamp(text)
    return SkipError(text) if 400 <= status < 500 else HaltError(text)


class _StaleTimestamp(RetryableError):
    """ACCESS-TIMESTAMP outside the server's window: re-sync the clock and try again."""


class BitgetHttp:
    """Signed and public calls over a caller-owned ``aiohttp.ClientSession``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        key: str,
        secret: str,
        passphrase: str,
        *,
        demo: bool = False,
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (key and secret and passphrase):
            raise HaltError("Bitget needs BITGET_API_KEY, BITGET_API_SECRET and BITGET_API_PASSPHRASE")
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._key, self._secret, self._passphrase = key, secret, passphrase
        self.demo = demo
        self.retry = retry or RetryPolicy(attempts=4, base_s=0.25, cap_s=4.0)
        self.timeout_s = timeout_s
        self.clock = clock
        self.offset_ms = 0
        self.limiter = endpoints.limiter()
        self.requests = 0

    def now_ms(self) -> int:
        return int(self.clock() * 1000) + self.offset_ms

    async def sync_time(self) -> None:
        """Align our timestamps with the server's clock (no demo header on this path)."""
        resp = await request_json(
            self.session,
            "GET",
            self.base_url + endpoints.SERVER_TIME.path,
            what="Bitget time",
            timeout_s=self.timeout_s,
        )
        if resp.status == 200 and isinstance(resp.body, dict) and resp.body.get("code") == "00000":
            self.offset_ms = int(resp.body["data"]["serverTime"]) - int(self.clock() * 1000)

    async def call(
        self,
        endpoint: Endpoint,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        what: str,
    ) -> Any:
        """One request to ``endpoint`` (signed unless public); returns ``data`` of the envelope or a typed error.

        A POST changes state: sent without an answer (or answered 5xx) it raises
        :class:`ReconcileError`, and the caller looks it up before anything is re-sent.
        """
        method, path, idempotent, public = endpoint.method, endpoint.path, endpoint.idempotent, not endpoint.signed
        query = query_string(params)
        text = body_text(body)
        synced = False

        async def once() -> Any:
            nonlocal synced
            await self.limiter.acquire(path)
            if public:
                headers = {"paptrading": "1"} if self.demo else {}
            else:
                headers = signed_headers(
                    self._key, self._secret, self._passphrase, self.now_ms(), method, path, query, text, demo=self.demo
                )
            url = self.base_url + path + (f"?{query}" if query else "")
            self.requests += 1
            resp = await request_json(
                self.session,
                method,
                url,
                raw_body=text or None,
                headers=headers,
                what=what,
                timeout_s=self.timeout_s,
                idempotent=idempotent,
            )
            status, parsed, rh = resp.status, resp.body if isinstance(resp.body, dict) else {}, resp.headers
            if status == 200 and isinstance(parsed, dict) and parsed.get("code") == "00000":
                return parsed.get("data")
            err = translate(status, parsed, what, rh)
            if isinstance(err, _StaleTimestamp):
                if body and "requestTime" in body:  # our receive window passed before the venue saw it: not placed
                    await self.sync_time()
                    raise ExpiredRequest(f"{err} (arrived after its receive window; refused, not placed)")
                if synced:
                    raise AuthError(str(err))
                await self.sync_time()
                synced = True
            if not idempotent and status >= 500:
                raise ReconcileError(f"{err} (sent; outcome unknown, look it up)")
            raise err

        return await retry_async(once, self.retry, what=what)
