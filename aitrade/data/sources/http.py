"""The one HTTP seam of the data sources: a caller-owned aiohttp session.

Read-only calls only: a timeout or a dropped connection is safe to retry, so
every transport failure becomes :class:`RetryableError`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from aitrade.errors import RetryableError


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
    headers: dict[str, str] | None = None,
    timeout_s: float = 20.0,
) -> Response:
    """Send one request and read the whole answer; transport failures are retryable."""
    data = None if body is None else json.dumps(body, separators=(",", ":"))
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
    except TimeoutError as exc:
        raise RetryableError(f"{what}: timed out after {timeout_s:g}s") from exc
    except asyncio.TimeoutError as exc:  # noqa: UP041 (aiohttp may raise the alias on 3.11)
        raise RetryableError(f"{what}: timed out after {timeout_s:g}s") from exc
    except aiohttp.ClientError as exc:
        raise RetryableError(f"{what}: connection failed ({exc.__class__.__name__}: {exc})") from exc
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
