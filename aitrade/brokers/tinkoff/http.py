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
from aitrade.brokers.tinkoff.endpoints import QUOTE_SERVICES, RPCS, limiter
from aitrade.brokers.tinkoff.errors import translate
from aitrade.errors import HaltError, ReconcileError, UserError
from aitrade.net.http import request_json
from aitrade.net.retry import RetryPolicy, retry_async


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
        self.limiter = limiter()
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
        trading: bool = False,
    ) -> dict[str, Any]:
        """One unary call of a method in :data:`.endpoints.RPCS`, with retries on 429, 5xx and transport failures.

        A state-changing method that was sent and got no answer, or a 5xx,
        raises :class:`ReconcileError`: look it up first. ``trading`` marks a
        call that trades (a data call reads an invalid argument as bad input).
        """
        if self.allowed_services is not None and service not in self.allowed_services:
            raise HaltError(f"{what}: this T-Invest client may call only {', '.join(sorted(self.allowed_services))}")
        rpc = RPCS.get((service, method))
        if rpc is None:
            raise HaltError(f"{what}: AiTrade calls no T-Invest method {service}/{method}; nothing was sent")
        idempotent = not rpc.changes_state
        url = f"{self.base_url}{rpc.path}"
        headers = bearer_headers(self._token, self.app_name)

        async def once() -> dict[str, Any]:
            await self.limiter.acquire(rpc.limit_key)
            self.requests += 1
            resp = await request_json(
                self.session,
                "POST",
                url,
                body=body,
                headers=headers,
                what=what,
                timeout_s=self.timeout_s,
                idempotent=idempotent,
            )
            if resp.status == 200 and isinstance(resp.body, dict):
                return resp.body
            err = translate(resp.status, resp.body, resp.headers, what, trading=trading)
            if not idempotent and resp.status >= 500:
                raise ReconcileError(f"{err} (sent; outcome unknown, look it up)")
            raise err

        return await retry_async(once, self.retry, what=what)


def market_data_rest(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    *,
    retry: RetryPolicy | None = None,
    timeout_s: float = 20.0,
) -> TinvestRest:
    """A client that can reach market data and instruments only: anything else halts before it is sent."""
    return TinvestRest(session, base_url, token, retry=retry, timeout_s=timeout_s, allowed_services=QUOTE_SERVICES)
