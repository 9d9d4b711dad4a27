"""The one HTTP seam: a caller-owned aiohttp session, transport failures typed.

A failure before the request left (no connection) is always retryable. A
timeout or a dropped connection after sending is retryable for reads
(``idempotent=True``); for a request that changes state it means the outcome
is unknown, :class:`ReconcileError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from aitrade.errors import ReconcileError, RetryableError


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it is not JSON
    text: str


async def request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    what: str,
    params: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 20.0,
    idempotent: bool = True,
) -> Response:
    """Send one request and read the whole answer.

    ``body`` is serialised compactly; ``raw_body`` is sent as given (when its
    exact bytes were signed).
    """
    data = raw_body if raw_body is not None else None if body is None else json.dumps(body, separators=(",", ":"))
    hdrs = dict(headers or {})
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    try:
        async with session.request(
            method,
            url,
            params=params,
            data=data,
            headers=hdrs,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as resp:
            text = await resp.text()
            status, rhdrs = resp.status, {k.lower(): v for k, v in resp.headers.items()}
    except aiohttp.ClientConnectorError as exc:  # never left this machine
        raise RetryableError(f"{what}: cannot connect ({exc})") from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        detail = (
            f"timed out after {timeout_s:g}s"
            if isinstance(exc, TimeoutError)
            else (f"connection failed ({exc.__class__.__name__}: {exc})")
        )
        if idempotent:
            raise RetryableError(f"{what}: {detail}") from exc
        raise ReconcileError(f"{what}: sent, but no answer ({detail}); look it up") from exc
    try:
        parsed: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return Response(status, rhdrs, parsed, text)


def retry_after_s(headers: dict[str, str]) -> float | None:
    """Seconds to wait from ``Retry-After`` or ``x-ratelimit-reset``, if given."""
    for key in ("retry-after", "x-ratelimit-reset"):
        value = headers.get(key)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None
