"""``aitrade broker status|instruments`` and ``aitrade close-all``: the router from the command line."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import aiohttp

from aitrade.config import Settings
from aitrade.errors import AiTradeError, UserError
from aitrade.router import Router


def default_mode(settings: Settings, mode: str | None) -> str:
    """The mode to look at: as asked, else the effective execution mode (backtest -> paper)."""
    if mode:
        return mode
    return "paper" if settings.execution_mode == "backtest" else settings.execution_mode


def _endpoint(settings: Settings, name: str, mode: str) -> dict[str, Any]:
    if mode == "paper":
        return {"venue": f"simulated ({settings.state_dir / f'paper_{name}.sqlite'})"}
    if name == "bitget":
        return {
            "venue": settings.bitget_base_url,
            "market": settings.bitget_market,
            "demo": settings.bitget_demo,
            "api_key": settings.bitget_api_key.masked(),
        }
    return {
        "venue": settings.tinkoff_base_url,
        "sandbox": settings.tinkoff_sandbox,
        "token": settings.tinkoff_api_token.masked(),
    }


def _plain(obj: Any) -> Any:
    return {
        k: str(v) if v is not None and not isinstance(v, (bool, int, str, dict)) else v for k, v in asdict(obj).items()
    }


async def status(settings: Settings, mode: str | None = None, symbols: list[str] | None = None) -> dict[str, Any]:
    """Accounts, positions, open orders and protections of every broker, through a read-only router."""
    mode = default_mode(settings, mode)
    out: dict[str, Any] = {"mode": mode, "brokers": {}}
    async with aiohttp.ClientSession() as session:
        router = Router(settings, session, mode=mode, symbols=symbols, read_only=True)
        for name, broker in router.brokers.items():
            entry: dict[str, Any] = {**_endpoint(settings, name, mode)}
            try:
                await broker.connect()
                if getattr(broker, "account_id", ""):
                    entry["account_id"] = broker.account_id
                entry["account"] = _plain(await broker.account())
                entry["positions"] = [_plain(p) for p in await broker.positions()]
                orders = await broker.open_orders()
                entry["open_orders"] = {"ours": sum(o.ours for o in orders), "others": sum(not o.ours for o in orders)}
                entry["protections"] = [_plain(p) for p in await broker.protections()]
            except AiTradeError as exc:
                entry["error"] = f"{exc.__class__.__name__}: {exc}"
            out["brokers"][name] = entry
        await router.close()
    return out


async def instruments(settings: Settings, symbols: list[str], mode: str | None = None) -> list[dict[str, Any]]:
    """Order rules of ``symbols`` at their brokers."""
    if not symbols:
        raise UserError("name at least one symbol, e.g. aitrade broker instruments BTCUSDT SBER")
    mode = mode or "live"
    async with aiohttp.ClientSession() as session:
        router = Router(settings, session, mode=mode, symbols=symbols, read_only=True)
        await router.start()
        rows = []
        for symbol in symbols:
            rules = await router.broker_for(symbol).instrument(symbol)
            rows.append({"broker": router.broker_for(symbol).name, **_plain(rules)})
        await router.close()
    return rows


async def close_all(
    settings: Settings,
    mode: str | None = None,
    *,
    reason: str = "cli",
    market_data: bool = True,
    symbols: list[str] | None = None,
    only: str | None = None,
) -> dict[str, Any]:
    """Cancel AiTrade's orders and close AiTrade's positions on the brokers of ``symbols`` (default: the universe).

    ``market_data=False``: paper accounts priced by the last bars fed to them (after a replay). ``flat`` is what
    the venues say afterwards. ``only``: that symbol's orders and position alone (a force exit).
    """
    mode = default_mode(settings, mode)
    async with (
        aiohttp.ClientSession() as session,
        Router(settings, session, mode=mode, market_data=market_data, symbols=symbols) as router,
    ):
        report = await router.close_all_positions(reason=reason, only=only)
    return {
        "mode": mode,
        "cancelled": report.cancelled,
        "protections_cancelled": report.protections_cancelled,
        "closed": [_plain(a) for a in report.closed],
        "open": report.open,
        "errors": report.errors,
        "flat": report.ok,
    }
