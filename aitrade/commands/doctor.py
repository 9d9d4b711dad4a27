"""``aitrade doctor``: is this installation ready, and what is configured."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import aiohttp

from aitrade.brokers.tinkoff.http import TinvestRest
from aitrade.config import Settings
from aitrade.errors import AiTradeError
from aitrade.net.http import request_json

PACKAGES = (
    "aitrade",
    "numpy",
    "pandas",
    "numba",
    "torch",
    "vectorbt",
    "pyarrow",
    "aiohttp",
    "papermill",
    "ipywidgets",
)


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail | info
    detail: str


def _version(pkg: str) -> str:
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "not installed"


def _torch_device() -> str:
    try:
        import torch  # noqa: PLC0415 (heavy, only for the doctor)
    except ImportError as exc:  # pragma: no cover
        return f"torch unavailable: {exc}"
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


def _writable(path: Any) -> str | None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-", delete=True):
            pass
    except OSError as exc:
        return str(exc)
    return None


def local_checks(settings: Settings) -> list[Check]:
    """Checks that need no network."""
    checks = [Check("python", "ok", f"{platform.python_version()} ({sys.executable})")]
    checks += [Check(p, "ok" if _version(p) != "not installed" else "fail", _version(p)) for p in PACKAGES]
    checks.append(Check("torch device", "info", _torch_device()))
    checks.append(Check("config", "ok", f"home {settings.home}"))
    for warning in settings.warnings:
        checks.append(Check("config", "warn", warning))
    checks.append(
        Check(
            "mode",
            "info",
            f"execution {settings.execution_mode} (asked {settings.requested_mode}), "
            f"universe {settings.universe_mode}, live armed: {'yes' if settings.allow_live else 'no'}",
        )
    )
    for name, path in (("state dir", settings.state_dir), ("data cache", settings.data_cache_dir)):
        problem = _writable(path)
        checks.append(Check(name, "fail" if problem else "ok", problem or f"{path} writable"))
    creds = settings.credentials_present()
    checks.append(
        Check(
            "bitget credentials",
            "ok" if creds["bitget"] else "info",
            f"key {settings.bitget_api_key.masked()}, secret {settings.bitget_api_secret.masked()}, "
            f"passphrase {settings.bitget_api_passphrase.masked()}, demo {settings.bitget_demo}",
        )
    )
    checks.append(
        Check(
            "tinkoff credentials",
            "ok" if creds["tinkoff"] else "info",
            f"token {settings.tinkoff_api_token.masked()}, "
            f"{'sandbox' if settings.tinkoff_sandbox else 'PRODUCTION'} {settings.tinkoff_base_url}",
        )
    )
    checks.append(
        Check("telegram alerts", "info", f"enabled {settings.alerts_enabled}, configured {creds['telegram']}")
    )
    checks += _secret_file_modes(settings)
    if os.name != "posix":
        checks.append(Check("platform", "warn", "the background runner is tested on POSIX only"))
    return checks


def _secret_file_modes(settings: Settings) -> list[Check]:
    """A ``.env`` holding secrets, or a state file, that other users can read is a leak waiting to happen."""
    out = []
    env = settings.home / ".env"
    if env.exists() and env.stat().st_mode & 0o077:
        holds = [v for v in ("API_KEY", "SECRET", "PASSPHRASE", "TOKEN") if v in env.read_text(errors="replace")]
        mode = oct(env.stat().st_mode & 0o777)
        detail = f"{env} is mode {mode}{' and holds secrets' if holds else ''}: run `chmod 600 {env}`"
        out.append(Check(".env permissions", "fail" if holds else "warn", detail))
    loose = sorted(p.name for p in settings.state_dir.glob("*") if p.is_file() and p.stat().st_mode & 0o077)
    if loose:
        names = ", ".join(loose[:5]) + (" ..." if len(loose) > 5 else "")
        out.append(Check("state permissions", "warn", f"readable by others in {settings.state_dir}: {names}"))
    return out


async def online_checks(settings: Settings, session: aiohttp.ClientSession) -> list[Check]:
    """Ping the venues: Bitget public time, T-Invest accounts (with a token)."""
    checks: list[Check] = []
    try:
        resp = await request_json(
            session, "GET", settings.bitget_base_url + "/api/v2/public/time", what="Bitget time", timeout_s=10
        )
        ok = resp.status == 200 and isinstance(resp.body, dict) and resp.body.get("code") == "00000"
        checks.append(Check("bitget ping", "ok" if ok else "fail", f"HTTP {resp.status} {settings.bitget_base_url}"))
    except AiTradeError as exc:
        checks.append(Check("bitget ping", "fail", str(exc)))
    if not settings.tinkoff_api_token:
        checks.append(Check("tinkoff ping", "info", "skipped: TINKOFF_API_TOKEN not set"))
        return checks
    try:
        rest = TinvestRest(session, settings.tinkoff_base_url, settings.tinkoff_api_token.get())
        answer = await rest.call("UsersService", "GetAccounts", {}, what="T-Invest accounts")
        n = len(answer.get("accounts", []) or [])
        checks.append(Check("tinkoff ping", "ok", f"{n} account(s) at {settings.tinkoff_base_url}"))
    except AiTradeError as exc:
        checks.append(Check("tinkoff ping", "fail", str(exc)))
    return checks
