"""``aitrade kill`` / ``unkill``: the kill switch armed and confirmed as the venues say, whatever the runner's state."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import asdict
from typing import Any

from aitrade.commands.runner_cmd import LEDGER_FILE, ledger_session, owned_positions, running_pid
from aitrade.config import Settings
from aitrade.errors import UserError
from aitrade.locks import pid_alive
from aitrade.runner import control
from aitrade.runner.ledger import TradeLedger
from aitrade.runner.seams import items
from aitrade.strategy import FLAT


def held_symbols(settings: Settings) -> list[str]:
    """The symbols AiTrade may hold: open or pending books of the trade ledger, positions of the ownership ledgers."""
    out: set[str] = set()
    path = settings.state_dir / LEDGER_FILE
    if path.exists():
        with TradeLedger(path, read_only=True) as ledger:
            out |= {b.symbol for b in ledger.books().values() if b.state.mode != FLAT}
    for held_there in owned_positions(settings).values():
        out |= set(held_there)
    return sorted(out)


def _stop_stuck(pid: int, grace_s: float) -> bool:
    """SIGTERM, then SIGKILL after ``grace_s``: True once the process is gone."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return True
            time.sleep(0.05)
    return not pid_alive(pid)


def kill(settings: Settings, level: str, reason: str, *, wait_s: float = 30.0, grace_s: float = 5.0) -> dict[str, Any]:
    """Arm the kill switch and report what the venues say, whatever state the runner is in.

    * alive: the runner acts within a tick (waited for); a flatten is confirmed only when it reports flat;
    * stuck (no confirmation within ``wait_s``): a flatten stops it by pid (SIGTERM, then SIGKILL), then
      flattens here; a pause is reported unconfirmed;
    * dead: a flatten goes through a router built for the symbols AiTrade holds (not the whole universe).
    """
    armed = control.arm(settings.state_dir, level, reason, by=f"aitrade kill (pid {os.getpid()})")
    pid = running_pid(settings)
    stopped = None
    if pid is not None:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            now = control.read_kill(settings.state_dir)
            if now.acted_at is not None and now.armed_at == armed.armed_at:
                flat = not armed.flatten or bool(now.acted.get("flat", False))
                out = {"armed": asdict(now), "runner": pid, "confirmed": flat}
                if not flat:
                    still = ", ".join(str(s) for s in items(now.acted.get("open"))) or "something of ours"
                    out["message"] = (
                        f"the runner acted but the venues still hold {still}: it retries while the "
                        "switch stays at flatten"
                    )
                return out
            if running_pid(settings) is None:
                break
            time.sleep(0.1)
        else:
            if not armed.flatten:
                late = f"the runner (pid {pid}) has not confirmed within {wait_s:g} s; the switch stays armed"
                return {"armed": asdict(armed), "runner": pid, "confirmed": False, "message": late}
            if not _stop_stuck(pid, grace_s):
                why = f"the runner (pid {pid}) is stuck and could not be stopped; the switch stays armed"
                return {"armed": asdict(armed), "runner": pid, "confirmed": False, "message": why}
            stopped = pid
    if armed.flatten:
        from aitrade.commands.broker_cmd import close_all  # noqa: PLC0415

        replayed = (ledger_session(settings) or {}).get("feed") == "replay"
        mode = "paper" if replayed else None
        symbols = held_symbols(settings) or None
        report = asyncio.run(close_all(settings, mode, reason="kill", market_data=not replayed, symbols=symbols))
        by = f"aitrade kill (runner pid {stopped} stopped: stuck)" if stopped else "aitrade kill (no runner alive)"
        if not report["flat"]:
            still = f"still open at the venue: {', '.join(report['open'])}; " if report["open"] else ""
            why = f"the flatten did not complete; the switch stays armed: {still}" + "; ".join(report["errors"])
            return {
                "armed": asdict(armed),
                "runner": None,
                "stopped": stopped,
                "confirmed": False,
                "close_all": report,
                "message": why,
            }
        done = control.confirm(settings.state_dir, armed, {"by": by, **report})
        return {"armed": asdict(done), "runner": None, "stopped": stopped, "confirmed": True, "close_all": report}
    return {"armed": asdict(armed), "runner": None, "confirmed": True}


def force_exit(settings: Settings, symbol: str, reason: str, *, wait_s: float = 30.0) -> dict[str, Any]:
    """Close one position now through the kill switch's path, with a reason; trading goes on.

    * a runner alive closes it within a tick (waited for; confirmed only when the venue says flat);
    * no runner alive (or none confirming within ``wait_s``, then stopped like a stuck one is for a flatten): the
      position is closed here through a router for that symbol alone.
    """
    req = control.request_exit(settings.state_dir, symbol, reason, by=f"aitrade force-exit (pid {os.getpid()})")
    pid = running_pid(settings)
    if pid is not None:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            now = control.read_exit(settings.state_dir, req.id)
            if now is not None and now.done_at is not None:
                return _exit_out(now, pid)
            if running_pid(settings) is None:
                break
            time.sleep(0.1)
        else:
            why = f"the runner (pid {pid}) has not acted within {wait_s:g} s; the request stays for its next tick"
            return {"request": asdict(req), "runner": pid, "confirmed": False, "message": why}
    from aitrade.commands.broker_cmd import close_all  # noqa: PLC0415

    replayed = (ledger_session(settings) or {}).get("feed") == "replay"
    report = asyncio.run(
        close_all(
            settings,
            "paper" if replayed else None,
            reason="force",
            market_data=not replayed,
            symbols=[req.symbol],
            only=req.symbol,
        )
    )
    result = {
        "symbol": req.symbol,
        "by": "aitrade force-exit (no runner alive)",
        "closed": len(report["closed"]),
        "cancelled": len(report["cancelled"]),
        "errors": report["errors"],
        "flat": report["flat"],
    }
    return _exit_out(control.confirm_exit(settings.state_dir, req, result), None)


def _exit_out(req: control.ForceExit, runner: int | None) -> dict[str, Any]:
    flat = bool(req.result.get("flat"))
    out: dict[str, Any] = {"request": asdict(req), "runner": runner, "confirmed": flat}
    if not flat:
        out["message"] = f"{req.symbol} is still open at the venue (kept protected): " + (
            "; ".join(str(e) for e in items(req.result.get("errors"))) or "the close was not filled"
        )
    return out


def unkill(settings: Settings, *, confirm: bool) -> dict[str, Any]:
    if not confirm:
        raise UserError("releasing the kill switch needs --confirm")
    before = control.read_kill(settings.state_dir)
    released = control.release(settings.state_dir)
    return {"released": asdict(released), "was": asdict(before), "runner": running_pid(settings)}
