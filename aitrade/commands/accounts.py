"""What the accounts hold, read through a read-only router: the truth when no runner is alive to tell it.

The runner's heartbeat and ledger describe what it last knew. Once it is gone (stopped, killed, or a flatten
done by ``aitrade kill`` without it) the only true positions are the venues' (or the paper accounts'), so the
monitor and ``runner status`` read them here, with the same router ``broker status`` uses: read only, for the
symbols AiTrade may hold, in the mode of the ledger's session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aitrade.asyncutil import run_sync
from aitrade.config import Settings
from aitrade.errors import AiTradeError


@dataclass
class AccountsView:
    """Positions and native protections as the accounts report them, and when they were read."""

    mode: str
    where: str  # the accounts read, in words
    read_at: datetime
    positions: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)  # AiTrade's own resting orders
    errors: list[str] = field(default_factory=list)

    @property
    def protected(self) -> int:
        return sum(1 for p in self.positions if p["stop"] is not None)

    def coverage(self) -> dict[str, Any]:
        return {"open": len(self.positions), "protected": self.protected, "from": "accounts"}


def _scope(settings: Settings) -> tuple[str, bool, list[str] | None]:
    """(mode, market data, symbols) of the session the ledger recorded (the accounts ``aitrade kill`` flattens)."""
    from aitrade.commands.broker_cmd import default_mode  # noqa: PLC0415
    from aitrade.commands.kill_cmd import held_symbols  # noqa: PLC0415
    from aitrade.commands.runner_cmd import ledger_session  # noqa: PLC0415

    session = ledger_session(settings) or {}
    replayed = session.get("feed") == "replay"
    mode = "paper" if replayed else default_mode(settings, session.get("mode") or None)
    symbols = sorted(set(held_symbols(settings)) | set(session.get("symbols") or [])) or None
    # a paper account is read from its file, priced at the last bars fed to it: no venue is asked for quotes (a
    # monitor refreshing every 2 s with no runner would otherwise poll the venue's tickers, or fail offline)
    return mode, mode != "paper", symbols


async def _read(settings: Settings, mode: str, market_data: bool, symbols: list[str] | None) -> AccountsView:
    import aiohttp  # noqa: PLC0415

    from aitrade.router import Router  # noqa: PLC0415

    view = AccountsView(mode=mode, where="", read_at=datetime.now(UTC))
    async with aiohttp.ClientSession() as http:
        router = Router(settings, http, mode=mode, symbols=symbols, read_only=True, market_data=market_data)
        view.where = ", ".join(
            f"{name} paper account" if mode == "paper" else f"{name} ({mode})" for name in router.brokers
        )
        try:
            for name, broker in router.brokers.items():
                try:
                    await broker.connect()
                    guards = await broker.protections()
                    stops = {p.symbol: p for p in guards if p.kind == "stop_loss"}
                    targets = {p.symbol: p for p in guards if p.kind == "take_profit"}
                    for pos in await broker.positions():
                        if not pos.quantity:
                            continue
                        stop, target = stops.get(pos.symbol), targets.get(pos.symbol)
                        view.positions.append(
                            {
                                "symbol": pos.symbol,
                                "side": "long" if pos.quantity > 0 else "short",
                                "quantity": abs(pos.quantity),
                                "entry": pos.avg_price,
                                "stop": stop.trigger if stop else None,
                                "target": target.trigger if target else None,
                                "last": pos.last_price,
                                "unrealised_pnl": pos.unrealized_pnl,
                                "venue": name,
                            }
                        )
                    view.orders += [
                        {
                            "symbol": o.symbol,
                            "side": str(o.side),
                            "quantity": o.quantity - o.filled,
                            "limit": o.price,
                            "client_id": o.client_id,
                            "venue": name,
                        }
                        for o in await broker.open_orders()
                        if o.ours
                    ]
                except AiTradeError as exc:
                    view.errors.append(f"{name}: {exc}")
        finally:
            await router.close()
    view.read_at = datetime.now(UTC)
    return view


def read_accounts(settings: Settings) -> AccountsView:
    """The accounts of the ledger's session (paper after a replay), read now. Never places or cancels anything."""
    mode, market_data, symbols = _scope(settings)
    try:
        return run_sync(_read(settings, mode, market_data, symbols))
    except AiTradeError as exc:
        return AccountsView(mode=mode, where=f"{mode} accounts", read_at=datetime.now(UTC), errors=[str(exc)])
