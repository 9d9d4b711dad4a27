"""The T-Invest REST gateway seam: one unary call = one POST; one error table for every caller.

Every method is ``POST {base}/tinkoff.public.invest.api.contract.v1.{Service}/{Method}``
with a JSON body and a Bearer token (:mod:`.auth`). int64 fields are JSON
strings, enums are names, prices are Quotations (reference/broker_apis.md B1-B5).
Errors are typed here, once, by what the caller must do (B4): the candle
downloader, the instrument resolver and the broker read the same table; only an
unlisted 4xx differs (a data call's is bad input, a trading call's is a rejection).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from aitrade.brokers.tinkoff.auth import bearer_headers
from aitrade.errors import (
    AuthError,
    ConfigError,
    DataError,
    DuplicateOrder,
    HaltError,
    OrderNotFound,
    RateLimited,
    ReconcileError,
    RetryableError,
    SkipError,
    UnknownSymbolError,
    UserError,
)
from aitrade.net.http import request_json, retry_after_s
from aitrade.net.ratelimit import RateLimiter
from aitrade.net.retry import RetryPolicy, retry_async

PREFIX = "/tinkoff.public.invest.api.contract.v1."
#: requests per second per service (limits are per minute: 600, 200, ...), with a margin
SERVICE_RATES = {"MarketDataService": 9.0, "InstrumentsService": 3.0, "UsersService": 1.5, "OrdersService": 1.6,
                 "OperationsService": 3.0, "StopOrdersService": 0.8, "SandboxService": 3.0}  # fmt: skip
#: T-Invest error codes (``description``) by what the caller must do (B4)
RETRY_CODES = frozenset({"70001", "70002", "70003"})
AUTH_CODES = frozenset({"40002", "40003", "40004"})  # no rights, bad token, orders not allowed on this account
NOT_FOUND_CODES = frozenset({"50005", "50006"})  # order, stop order
SKIP_CODES = frozenset({"30034", "30042", "30047", "30051", "30052", "30068", "30078", "30079", "30080", "30092",
                        "30097", "30098", "30099", "30100", "30109", "30240", "30049", "30053", "30059", "30060",
                        "90001", "90002", "90003", "30017", "30018"})  # fmt: skip


def translate(status: int, body: Any, headers: dict[str, str], what: str, *, trading: bool = False) -> Exception:
    """An AiTrade error for a T-Invest error answer ``{code, message, description}``."""
    body = body if isinstance(body, dict) else {}
    code = str(body.get("description") or "")
    message = body.get("message") or "no message"
    detail = f"{what}: T-Invest HTTP {status}" + (f", code {code}" if code else "") + f": {message}"
    if headers.get("x-tracking-id"):
        detail += f" (tracking id {headers['x-tracking-id']})"
    if status == 429 or code.startswith("8000"):
        return RateLimited(detail, retry_after=retry_after_s(headers))
    if status >= 500 or code in RETRY_CODES:
        return RetryableError(detail, retry_after=retry_after_s(headers))
    if status in (401, 403) or code in AUTH_CODES:
        return AuthError(detail)
    if code == "30057":
        return DuplicateOrder(detail)
    if code in NOT_FOUND_CODES:
        return OrderNotFound(detail)
    if code == "50002" or (status == 404 and not code):
        return UnknownSymbolError(detail)
    if code == "50004":
        return ConfigError(detail)
    if code in SKIP_CODES:
        return SkipError(detail)
    if 400 <= status < 500:
        return SkipError(detail) if trading else DataError(detail)
    return HaltError(detail)


class TinvestRest:
    """The REST seam: one unary call = one POST, errors translated to AiTrade types."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str,
        *,
        retry: RetryPolicy | None = None,
        app_name: str = "aitrade.aitrade",
        timeout_s: float = 20.0,
        allowed_services: frozenset[str] | None = None,
    ) -> None:
        if not token:
            raise UserError("TINKOFF_API_TOKEN is not set; T-Invest needs a (sandbox) token")
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(SERVICE_RATES, 3.0, burst=20.0)  # limits are per minute
        self.app_name = app_name
        self.timeout_s = timeout_s
        self.allowed_services = allowed_services  # a quotes-only client cannot reach OrdersService
        self.requests = 0

    async def call(
        self,
        service: str,
        method: str,
        body: dict[str, Any],
        *,
        what: str,
        idempotent: bool = True,
        trading: bool = False,
    ) -> dict[str, Any]:
        """One unary call with retries on 429, 5xx and transport failures.

        A state-changing call (``idempotent=False``) that was sent and got no
        answer, or a 5xx, raises :class:`ReconcileError`: look it up first.
        ``trading`` marks a call that trades: an unlisted 4xx is then a rejection (skip), not bad input.
        """
        if self.allowed_services is not None and service not in self.allowed_services:
            raise HaltError(f"{what}: this T-Invest client may call only {', '.join(sorted(self.allowed_services))}")
        url = f"{self.base_url}{PREFIX}{service}/{method}"
        headers = bearer_headers(self._token, self.app_name)

        async def once() -> dict[str, Any]:
            await self.limiter.acquire(service)
            self.requests += 1
            resp = await request_json(self.session, "POST", url, body=body, headers=headers, what=what,
                                      timeout_s=self.timeout_s, idempotent=idempotent)  # fmt: skip
            if resp.status == 200 and isinstance(resp.body, dict):
                return resp.body
            err = translate(resp.status, resp.body, resp.headers, what, trading=trading)
            if not idempotent and resp.status >= 500:
                raise ReconcileError(f"{err} (sent; outcome unknown, look it up)")
            raise err

        return await retry_async(once, self.retry, what=what)
