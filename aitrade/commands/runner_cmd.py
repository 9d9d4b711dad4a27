"""``aitrade runner start|stop|status|trades``, ``aitrade kill`` and ``aitrade unkill``: functions the CLI and the
control room share.

A background runner is its own detached process (its own session, so a
closing terminal or notebook kernel never touches it), holding
``state/runner.lock``: one runner per home, a second start is refused with the
holder's pid.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from aitrade.commands.spawn import detached
from aitrade.config import Settings
from aitrade.defaults import CAPITAL
from aitrade.errors import LockHeld, StateFileError, UserError
from aitrade.locks import ProcessLock, pid_alive
from aitrade.rules import TRADE_COLUMNS
from aitrade.runner import control
from aitrade.runner.ledger import TradeLedger
from aitrade.runner.seams import num, obj
from aitrade.strategy import FLAT

LEDGER_FILE = "trades.sqlite"
LOCK_FILE = "runner.lock"
START_WAIT_S = 60.0


def runner_lock(settings: Settings) -> ProcessLock:
    return ProcessLock(settings.state_dir / LOCK_FILE, "the runner of this home")


def running_pid(settings: Settings) -> int | None:
    holder = runner_lock(settings).holder()
    return int(holder["pid"]) if holder and str(holder.get("pid", "")).isdigit() else None


# --- start ------------------------------------------------------------------------------------------------
def _session_paths(settings: Settings) -> list[Path]:
    state = settings.state_dir
    return [*state.glob(f"{LEDGER_FILE}*"), *state.glob("paper_*.sqlite*"), *state.glob("paper_*.json")]


def reset_session(settings: Settings) -> Path | None:
    """Move the trade ledger and the paper accounts to ``state/archive/<time>/`` (nothing is deleted).

    Done holding the runner lock: a session a runner is using (or starting with) is never archived under it.
    """
    lock = runner_lock(settings)
    try:
        lock.acquire("runner --reset")
    except LockHeld as exc:
        raise UserError(f"a runner is using this session ({exc}); stop it before --reset") from None
    try:
        return reset_session_locked(settings)
    finally:
        lock.release()


def owned_positions(settings: Settings) -> dict[str, dict[str, Decimal]]:
    """Per ownership ledger (``owned_<venue>_<env>``): the symbols AiTrade holds there and the quantities."""
    from aitrade.brokers.inventory import OwnedInventory  # noqa: PLC0415 (read only when a ledger is in doubt)

    out: dict[str, dict[str, Decimal]] = {}
    for path in sorted(settings.state_dir.glob("owned_*.sqlite")):
        inventory = OwnedInventory(path, read_only=True)
        try:
            out[path.stem] = {sym: inventory.quantity(sym) for sym in inventory.symbols()}
        finally:
            inventory.close()
    return out


def holdings_without_ledger(settings: Settings, mode: str) -> list[str]:
    """What the accounts say AiTrade holds while the trade ledger is missing: ``venue: SYMBOL qty`` lines."""
    from aitrade.brokers.paperstore import PaperStore  # noqa: PLC0415

    held: list[str] = []
    if mode == "paper":
        for path in sorted(settings.state_dir.glob("paper_*.sqlite")):
            store = PaperStore(path, read_only=True)
            try:
                positions = store.load().get("positions", {})
            finally:
                store.close()
            held += [f"{path.stem}: {sym} {p.get('qty')}" for sym, p in positions.items() if float(p.get("qty", 0))]
        return held
    return [
        f"{name}: {sym} {qty}"
        for name, held_there in owned_positions(settings).items()
        for sym, qty in held_there.items()
    ]


def _refuse_a_lost_paper_account(settings: Settings, ledger: TradeLedger, routing: dict[str, str]) -> None:
    """Open books over a paper account that is gone: say so, never trade them against a fresh account."""
    open_books = sorted(s for s, b in ledger.books().items() if b.state.mode != FLAT)
    lost = sorted(
        {
            routing[s]
            for s in open_books
            if s in routing and not (settings.state_dir / f"paper_{routing[s]}.sqlite").exists()
        }
    )
    if lost:
        files = ", ".join(f"state/paper_{v}.sqlite" for v in lost)
        raise UserError(
            f"state/trades.sqlite holds open books ({', '.join(open_books)}) but the paper account "
            f"{files} is missing; nothing started. Restore it from a backup, or start afresh with "
            "--reset (archives the ledger and the paper accounts)"
        )


def _refuse_a_lost_ledger(settings: Settings, mode: str) -> None:
    """A missing or emptied trade ledger over accounts that hold positions: never a silent fresh session."""
    path = settings.state_dir / LEDGER_FILE
    if path.exists() and path.stat().st_size > 0:
        return
    held = holdings_without_ledger(settings, mode)
    if held:
        raise UserError(
            f"{path} is {'empty' if path.exists() else 'missing'} but the accounts hold positions AiTrade opened "
            f"({'; '.join(held)}); nothing started. Restore the ledger from a backup, or close those positions "
            "(`aitrade close-all --confirm`, which reads the venue) and start again; `--reset` archives the paper "
            "accounts with it"
        )


def prepare(
    settings: Settings,
    *,
    signals: str,
    params: str | None,
    mode: str,
    replay: bool,
    capital: float,
    long_only: bool,
    start: str | None,
    end: str | None,
    speed: float,
    source: str | None = None,
    symbols: list[str] | None = None,
    interval: str | None = None,
    path: str | None = None,
) -> tuple[Any, Any]:
    """Check everything a start needs before any process or file is touched; returns (the runner's config, its feed).

    ``signals`` is a signals run (its own bars and probabilities are replayed) or ``model``: live inference
    with the promoted bundle over bars from ``source`` (default: the promoted run's source).
    """
    from aitrade.backtest.config import BacktestConfig  # noqa: PLC0415
    from aitrade.backtest.params import load_genome  # noqa: PLC0415
    from aitrade.costs import cost_class  # noqa: PLC0415
    from aitrade.runner.engine import RunnerConfig  # noqa: PLC0415
    from aitrade.runner.replay import ArtifactReplay  # noqa: PLC0415
    from aitrade.runs import require_complete  # noqa: PLC0415
    from aitrade.signals import load_signals  # noqa: PLC0415
    from aitrade.strategy import Genome  # noqa: PLC0415
    from aitrade.universe import asset_class  # noqa: PLC0415

    if params:  # typed in a panel or a shell: against the home first (the placeholders say runs/...)
        params = str(settings.resolve_path(params))
    if not replay and signals != "model":
        raise UserError(
            "a signals run is history: add --replay to replay it through paper, or trade the promoted "
            "model on the venue's bars with --signals model"
        )
    if replay and mode != "paper":
        raise UserError("a replay trades paper only (its market is history); use --mode paper")
    genome = load_genome(params) if params else Genome.from_mapping(settings.profile.strategy)
    feed: Any
    if not replay:
        if start or end or source or path:
            raise UserError("--start, --end, --source and --path go with --replay; the venue feed trades from now")
        if mode == "live" and not settings.allow_live:
            raise UserError("live trading needs ALLOW_LIVE=1 (environment or .env)")
        model, production = _promoted(settings, symbols, interval)
        feed = VenueSpec(model)
        names = list(model.symbols)
        origin = f"model:{production.resolve()} (venue {model.interval})"
    elif signals == "model":
        feed, origin = _model_feed(
            settings, source=source, symbols=symbols, interval=interval, path=path, start=start, end=end, speed=speed
        )
        names = list(feed.symbols)
    else:
        if source or symbols or interval or path:
            raise UserError(
                "--source, --symbols, --interval and --path go with --signals model; a signals run replays its own bars"
            )
        run = settings.resolve_path(signals)
        if not run.is_dir():
            raise UserError(f"signals run {run} does not exist")
        require_complete(run, "signals run")
        sig = load_signals(run)
        names = list(sig.symbols)
        feed = ArtifactReplay(sig.frame, start=start, end=end, speed=speed)
        origin = str(run.resolve())
    base = BacktestConfig.from_settings(settings, capital, long_only=long_only)
    rules = {}
    for sym in names:
        klass = cost_class(sym, asset_class(sym))
        if klass not in ("crypto", "stocks"):
            raise UserError(f"{sym}: no venue trades it ({klass}); replay runs of crypto or stock symbols")
        shorting = klass == "stocks" or settings.bitget_market == "futures"
        rule = base.rules(sym)
        rules[sym] = replace(rule, allow_short=rule.allow_short and shorting)
    return RunnerConfig(
        mode=mode,
        signals_run=origin,
        genome=genome,
        rules=rules,
        capital=capital,
        feed="replay" if replay else "venue",
        start=start,
        end=end,
        speed=speed,
        strategy_id=settings.strategy_id,
        max_open_positions=max(settings.max_open_positions, 1),
        max_daily_drawdown=settings.max_daily_drawdown,
        params_file=str(params) if params else None,
    ), feed


@dataclass
class VenueSpec:
    """A venue feed to build once the router is up (the feed asks the brokers for candles)."""

    model: Any
    clock: Any = None
    poll_s: float = 1.0
    settle_s: float = 2.0


def _promoted(settings: Settings, symbols: list[str] | None, interval: str | None) -> tuple[Any, Path]:
    """The promoted bundle's live inference for ``symbols`` (default: all it has), at its own interval."""
    from aitrade.runner.inference import ModelSignals  # noqa: PLC0415

    production = settings.state_dir / "production"
    model = ModelSignals(production, symbols)
    if interval and interval != model.interval:
        raise UserError(f"the promoted model was trained on {model.interval} bars, not {interval}")
    return model, production


def _model_feed(
    settings: Settings,
    *,
    source: str | None,
    symbols: list[str] | None,
    interval: str | None,
    path: str | None,
    start: str | None,
    end: str | None,
    speed: float,
) -> tuple[Any, str]:
    """Bars from a data source with live inference by the promoted bundle."""
    from aitrade.data import load_bars  # noqa: PLC0415
    from aitrade.intervals import interval_delta  # noqa: PLC0415
    from aitrade.runner.replay import ModelReplay, _utc  # noqa: PLC0415

    model, production = _promoted(settings, symbols, interval)
    src = source or model.meta.get("source") or "sample"
    warm = None if start is None else _utc(start) - model.window * interval_delta(model.interval)
    bars = load_bars(model.symbols, model.interval, warm, end, source=src, path=path)
    feed = ModelReplay(bars, model, start=start, end=end, speed=speed)
    return feed, f"model:{production.resolve()} ({src} {model.interval})"


async def run_foreground(
    settings: Settings, config: Any, feed: Any, *, reset: bool = False, stop: asyncio.Event | None = None
) -> dict[str, Any]:
    """Run the loop in this process (the background runner runs this too). Holds the runner lock throughout.

    ``stop``: an event that ends the loop after its current tick, as SIGTERM does.
    """
    import aiohttp  # noqa: PLC0415

    from aitrade.alerts import Alerts  # noqa: PLC0415
    from aitrade.config import load_settings  # noqa: PLC0415
    from aitrade.costs import cost_class  # noqa: PLC0415
    from aitrade.factory import build_brokers  # noqa: PLC0415
    from aitrade.router import Router  # noqa: PLC0415
    from aitrade.runner.engine import Runner  # noqa: PLC0415
    from aitrade.runner.venue import VenueFeed  # noqa: PLC0415
    from aitrade.universe import asset_class  # noqa: PLC0415

    lock = runner_lock(settings)
    lock.acquire("runner")
    try:
        archived = reset_session_locked(settings) if reset else None
        _refuse_a_lost_ledger(settings, config.mode)
        ledger = TradeLedger(settings.state_dir / LEDGER_FILE)
        try:
            wanted = config.session()
            recorded = ledger.begin_session(wanted)
            if recorded != wanted:
                window = f"{recorded.get('start')}..{recorded.get('end')}"
                raise UserError(
                    "state/trades.sqlite belongs to another runner session (signals "
                    f"{recorded.get('signals_run')}, window {window}); "
                    "resume it with the same options, or start afresh with --reset (archives the "
                    "ledger and paper accounts)"
                )
            routing = {s: "bitget" if cost_class(s, asset_class(s)) == "crypto" else "tinkoff" for s in config.rules}
            if config.mode == "paper":
                _refuse_a_lost_paper_account(settings, ledger, routing)
            live_feed = isinstance(feed, VenueSpec)
            async with aiohttp.ClientSession() as http:
                alerts = Alerts(settings, http)
                alerts.start()
                try:
                    brokers = build_brokers(settings, http, config.mode, set(routing.values()), market_data=live_feed)
                    router = Router(
                        settings, http, mode=config.mode, symbols=list(routing), routing=routing, brokers=brokers
                    )
                    async with router:
                        stopped = stop or asyncio.Event()
                        source = (
                            VenueFeed(
                                router,
                                feed.model,
                                clock=feed.clock,
                                poll_s=feed.poll_s,
                                settle_s=feed.settle_s,
                                stop=stopped.is_set,
                            )
                            if live_feed
                            else feed
                        )
                        runner = Runner(
                            config,
                            router,
                            ledger,
                            settings.state_dir,
                            source,
                            alerts,
                            stop=stopped,
                            settings_source=lambda: load_settings(settings.home),
                        )
                        result = await runner.run()
                finally:
                    await alerts.close()
        finally:
            ledger.close()
        return {**asdict(result), "archived": str(archived) if archived else None}
    finally:
        lock.release()


def reset_session_locked(settings: Settings) -> Path | None:
    paths = [p for p in _session_paths(settings) if p.exists()]
    if not paths:
        return None
    dest = settings.state_dir / "archive" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest.mkdir(parents=True)
    for p in paths:
        os.replace(p, dest / p.name)
    return dest


def start_background(settings: Settings, argv: list[str]) -> dict[str, Any]:
    """Start ``aitrade runner start --foreground ...`` detached; wait for its first heartbeat or its exit."""
    pid = running_pid(settings)
    if pid is not None:
        raise LockHeld(runner_lock(settings).refusal())
    logs = settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"runner-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.log"
    cmd = [sys.executable, "-m", "aitrade", "runner", "start", "--foreground", *argv]
    proc = detached(cmd, settings, log_path)
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        code = proc.poll()
        beat = _beat_or_none(settings)
        if beat and beat.pid == proc.pid:
            return {"pid": proc.pid, "log": str(log_path), "state": beat.state, "phase": beat.phase}
        if code is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise UserError(f"the runner exited at start (code {code}): {tail[0]} (log: {log_path})")
        time.sleep(0.2)
    return {"pid": proc.pid, "log": str(log_path), "state": "starting", "phase": "no heartbeat yet"}


def runner_argv(
    *, mode: str, signals: str, capital: float, speed: float, replay: bool, long_only: bool, **optional: Any
) -> list[str]:
    """The options a background start hands to its foreground process (``optional``: params, start, end,
    source, symbols, interval, path; None or empty is left out)."""
    out = ["--mode", mode, "--signals", signals, "--capital", repr(float(capital)), "--speed", repr(float(speed))]
    for name in ("params", "start", "end", "source", "symbols", "interval", "path"):
        value = optional.get(name)
        if isinstance(value, list):
            value = ",".join(value)
        if value:
            out += [f"--{name}", str(value)]
    out += ["--replay"] if replay else []
    out += ["--long-only"] if long_only else []
    return out


def start(
    settings: Settings,
    *,
    reset: bool = False,
    signals: str,
    params: str | None = None,
    mode: str = "paper",
    replay: bool = False,
    capital: float = CAPITAL,
    long_only: bool = False,
    start: str | None = None,
    end: str | None = None,
    speed: float = 0.0,
    source: str | None = None,
    symbols: list[str] | None = None,
    interval: str | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """Check, optionally archive the old session, and start the runner in the background (CLI and CONTROL)."""
    options: dict[str, Any] = {
        "signals": signals,
        "params": params,
        "mode": mode,
        "replay": replay,
        "capital": capital,
        "long_only": long_only,
        "start": start,
        "end": end,
        "speed": speed,
        "source": source,
        "symbols": symbols,
        "interval": interval,
        "path": path,
    }
    for name in ("params", "signals", "path"):  # the background process gets absolute paths: its folder is not ours
        if options[name] and options[name] != "model":
            options[name] = str(settings.resolve_path(options[name]))
    prepare(settings, **options)
    archived = reset_session(settings) if reset else None
    out = start_background(settings, runner_argv(**options))
    return {**out, "archived": str(archived) if archived else None}


def _beat_or_none(settings: Settings) -> control.Heartbeat | None:
    try:
        return control.read_heartbeat(settings.state_dir)
    except StateFileError:
        return None


# --- stop and status ----------------------------------------------------------------------------------------
def stop(settings: Settings, *, wait_s: float = 30.0) -> dict[str, Any]:
    """Ask the runner to stop after its current tick (SIGTERM); positions and protections stay."""
    pid = running_pid(settings)
    if pid is None:
        return {"stopped": False, "message": "no runner is running"}
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if running_pid(settings) is None:
            return {"stopped": True, "pid": pid}
        time.sleep(0.1)
    raise UserError(f"the runner (pid {pid}) did not stop within {wait_s:g} s; it may be waiting on a venue")


def status(settings: Settings) -> dict[str, Any]:
    """Alive, mode, state, heartbeat age, positions, coverage, kill switch, last error, ledger counts."""
    pid = running_pid(settings)
    out: dict[str, Any] = {"alive": pid is not None, "pid": pid, "kill": asdict(control.read_kill(settings.state_dir))}
    try:
        beat = control.read_heartbeat(settings.state_dir)
    except StateFileError as exc:
        beat, out["heartbeat_error"] = None, str(exc)
    if beat:
        said = beat.to_json()
        out.update(
            {
                k: said[k]
                for k in (
                    "mode",
                    "feed",
                    "phase",
                    "state",
                    "ticks",
                    "positions",
                    "pending",
                    "coverage",
                    "last_error",
                    "last_bar",
                )
            }
        )
        out["heartbeat_age_s"] = round(beat.age_s or 0.0, 3)
    if pid is None:  # the heartbeat is history: what is held now is what the accounts say
        from aitrade.commands.accounts import read_accounts  # noqa: PLC0415
        from aitrade.commands.monitor import has_accounts  # noqa: PLC0415

        if has_accounts(settings):
            view = read_accounts(settings)
            out["accounts"] = {
                "mode": view.mode,
                "where": view.where,
                "read_at": view.read_at.isoformat(),
                "positions": [{k: _plain_value(v) for k, v in p.items()} for p in view.positions],
                "orders": [{k: _plain_value(v) for k, v in o.items()} for o in view.orders],
                "coverage": view.coverage(),
                "errors": view.errors,
            }
    ledger_path = settings.state_dir / LEDGER_FILE
    if ledger_path.exists():
        with TradeLedger(ledger_path, read_only=True) as ledger:
            trades = ledger.trades()
            out["trades"] = len(trades)
            out["realised_pnl"] = sum(float(t["pnl"] or 0) for t in trades)
            out["open_intents"] = len(ledger.open_intents())
            out["events"] = ledger.events(10)
    return out


def _plain_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def trades(settings: Settings) -> pd.DataFrame:
    """Closed trades from the ledger with the backtest's ``trades.csv`` columns."""
    with TradeLedger(settings.state_dir / LEDGER_FILE, read_only=True) as ledger:
        frame = pd.DataFrame(ledger.trades(), columns=list(TRADE_COLUMNS))
    for col in ("entry_time", "exit_time"):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")  # bar times and fill times
    return frame


def ledger_session(settings: Settings) -> dict[str, Any] | None:
    """The session the trade ledger recorded (signals run, genome, feed...), or None without a ledger."""
    path = settings.state_dir / LEDGER_FILE
    if not path.exists():
        return None
    with TradeLedger(path, read_only=True) as ledger:
        return ledger.session()


# --- parity -------------------------------------------------------------------------------------------------
def parity(
    settings: Settings,
    *,
    signals: str | None = None,
    params: str | None = None,
    ledger: str | Path | None = None,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """The ledger's closed trades against ``aitrade backtest`` of the same signals, genome, capital and window.

    The signals run, genome and window default to the ones the ledger's session recorded.
    """
    from aitrade.backtest.engine import BacktestConfig, Panel, run_backtest  # noqa: PLC0415
    from aitrade.backtest.params import load_genome  # noqa: PLC0415
    from aitrade.runner.parity import compare  # noqa: PLC0415
    from aitrade.signals import load_signals  # noqa: PLC0415
    from aitrade.statefile import atomic_write  # noqa: PLC0415
    from aitrade.strategy import Genome  # noqa: PLC0415

    path = Path(ledger).expanduser() if ledger else settings.state_dir / LEDGER_FILE
    if not path.is_file():
        raise UserError(f"no trade ledger at {path}; run the runner first")
    with TradeLedger(path, read_only=True) as book:
        session = book.session() or {}
        session_trades = pd.DataFrame(book.trades(), columns=list(TRADE_COLUMNS))
        reached = [b.last_bar for b in book.books().values() if b.last_bar]
    run = signals or session.get("signals_run")
    if not run:
        raise UserError("the ledger names no signals run; pass --signals")
    genome = load_genome(params) if params else Genome.from_mapping(obj(session.get("genome")))
    capital = num(session.get("capital"), CAPITAL)
    long_only = bool(session.get("long_only", False))
    sig = load_signals(run)
    end = _stamp(session.get("end"))
    if reached:  # a session stopped early is compared up to the last bar it processed
        last = max(pd.Timestamp(r) for r in reached) + pd.Timedelta(microseconds=1)
        end = last if end is None else min(end, last)
    panel = Panel.from_signals(sig, start=_stamp(session.get("start")), end=end)
    symbols = session.get("symbols")
    if symbols:
        panel = panel.select(symbols)
    result = run_backtest(panel, genome, BacktestConfig.from_settings(settings, capital, long_only=long_only))
    report = compare(result.trades, session_trades)
    written = None
    if out:
        written = Path(out).expanduser()
        written.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(written, lambda tmp: report.diff.to_csv(tmp, index=False))
    notes = []
    outside = session_trades["exit_reason"].isin(["kill", "external"]).sum() if len(session_trades) else 0
    if outside:
        notes.append(f"{outside} trades were closed by the kill switch or by hand: the backtest has no such exits")
    if settings.max_open_positions < len(panel.symbols) and not report.ok:
        notes.append(
            f"MAX_OPEN_POSITIONS is {settings.max_open_positions} for {len(panel.symbols)} symbols: the "
            "runner skips entries beyond it, the backtest does not"
        )
    return {
        "ok": report.ok,
        "summary": report.summary(),
        "matched": report.matched,
        "missing": report.missing,
        "extra": report.extra,
        "drift": report.drift,
        "max_rel": report.max_rel,
        "backtest_trades": len(result.trades),
        "session_trades": len(session_trades),
        "diff_csv": str(written) if written else None,
        "notes": notes,
    }


def _stamp(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts


def paper_replay(
    settings: Settings,
    signals: str | Path,
    params: str | Path,
    folder: str | Path,
    *,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """A paper replay of ``signals`` through the runner with its own state under ``folder``, and its parity.

    The user's ``state/`` is not touched. Entries are not capped below the number of symbols, so the
    replay can be compared with the backtest.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    own = replace(settings, home=folder, max_daily_drawdown=0.99)  # limits the backtest does not model are lifted
    config, feed = prepare(
        own,
        signals=str(signals),
        params=str(params),
        mode="paper",
        replay=True,
        capital=1000.0,
        long_only=False,
        start=start,
        end=end,
        speed=0.0,
    )
    own = replace(own, max_open_positions=max(own.max_open_positions, len(config.rules)))
    config = replace(config, max_open_positions=own.max_open_positions)
    result = asyncio.run(run_foreground(own, config, feed))
    check = parity(own, out=folder / "parity.csv")
    return {**result, **check, "state": str(own.state_dir)}


# --- the watchdog -------------------------------------------------------------------------------------------
def watchdog_check(settings: Settings, *, stale_after_s: float = 120.0) -> dict[str, Any]:
    """Whether the runner is healthy: a heartbeat younger than ``stale_after_s``, or a live pid.

    A runner that finished or was stopped is not an incident. Returns ``ok`` and the reason.
    """
    try:
        beat = control.read_heartbeat(settings.state_dir)
    except StateFileError as exc:
        return {"ok": False, "reason": f"the heartbeat cannot be read: {exc}"}
    if beat is None:
        return {"ok": True, "reason": "no runner has run in this home"}
    if beat.ended:
        return {"ok": True, "reason": f"the runner {beat.phase}"}
    age = beat.age_s or 0.0
    alive = pid_alive(beat.pid) and running_pid(settings) is not None
    if age <= stale_after_s:
        return {"ok": True, "reason": f"heartbeat {age:.0f} s old", "pid": beat.pid}
    if alive:
        return {
            "ok": False,
            "reason": f"the runner (pid {beat.pid}) is alive but its heartbeat is {age:.0f} s old: it is stuck",
        }
    return {
        "ok": False,
        "reason": f"the runner (pid {beat.pid}) is gone and its heartbeat is {age:.0f} s old; "
        f"positions may be unwatched: start it again",
    }


async def _alert(settings: Settings, text: str) -> bool:
    import aiohttp  # noqa: PLC0415

    from aitrade.alerts import Alerts  # noqa: PLC0415

    async with aiohttp.ClientSession() as http:
        alerts = Alerts(settings, http, min_interval_s=0.0)
        alerts.start()
        alerts.send(text)
        await alerts.close(drain_s=30.0)
        return alerts.sent > 0


def watchdog(
    settings: Settings, *, once: bool, stale_after_s: float = 120.0, every_s: float = 30.0, say: Any = print
) -> int:
    """``aitrade runner watchdog``: alert when the runner is stale; ``once`` for cron (exit 1 on an incident)."""
    alerted = False
    while True:
        check = watchdog_check(settings, stale_after_s=stale_after_s)
        say(("ok: " if check["ok"] else "ALERT: ") + check["reason"])
        if not check["ok"] and not alerted:
            delivered = asyncio.run(_alert(settings, f"watchdog: {check['reason']}"))
            say("alert sent" if delivered else "alert not sent (alerts are off or Telegram did not answer)")
            alerted = True
        if check["ok"]:
            alerted = False
        if once:
            return 0 if check["ok"] else 1
        time.sleep(every_s)
