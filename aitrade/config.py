"""Settings: environment, then ``.env``, then ``state/runtime_settings.json``.

:func:`load_settings` builds one frozen :class:`Settings` object. Precedence,
lowest first: built-in defaults (the universe's risk profile), ``.env`` in the
home directory, the process environment (``.env`` never overrides it), and the
runtime overrides written by the control room. Every path is resolved from the
home directory (``AITRADE_HOME``, default the current directory) when the
object is built, never at import.

Safety rules enforced here:

* ``EXECUTION_MODE=live`` without ``ALLOW_LIVE`` becomes ``paper``, with a warning.
* ``ALLOW_LIVE`` and credentials come only from the environment or ``.env``;
  the runtime file cannot arm live trading or carry secrets.
* ``TINKOFF_SANDBOX`` defaults to the sandbox, and ``1`` means sandbox.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from aitrade.errors import ConfigError, StateFileError
from aitrade.redact import remember_secrets
from aitrade.statefile import atomic_write_json, read_json_object
from aitrade.universe import ROUTING, UNIVERSE_MODES, RiskProfile, assets_for, profile_for

log = logging.getLogger(__name__)

EXECUTION_MODES: tuple[str, ...] = ("backtest", "paper", "live")
TELEGRAM_URL = "https://api.telegram.org"
TINKOFF_PROD_URL = "https://invest-public-api.tbank.ru/rest"
TINKOFF_SANDBOX_URL = "https://sandbox-invest-public-api.tbank.ru/rest"
BITGET_URL = "https://api.bitget.com"
RUNTIME_FILE = "runtime_settings.json"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")


class Secret:
    """A credential that never shows itself in ``repr``, ``str`` or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def get(self) -> str:
        """The clear value, for signing requests only."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def masked(self) -> str:
        """``<unset>``, or ``****`` plus the last 4 characters of a long value."""
        if not self._value:
            return "<unset>"
        return "****" + self._value[-4:] if len(self._value) >= 16 else "****"

    def __repr__(self) -> str:
        return f"Secret({self.masked()})"

    __str__ = masked


# --- value parsers: each takes (variable name, raw value) ------------------------------


def parse_bool(name: str, value: Any) -> bool:
    """1/0/true/false/yes/no/on/off in any case; anything else names the variable."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean; allowed: 1/0, true/false, yes/no, on/off (any case)")


def _choice(allowed: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(name: str, value: Any) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ConfigError(f"{name}={value!r} is invalid; allowed: {', '.join(allowed)}")
        return text

    return parse


def _number(lo: float, hi: float, *, lo_open: bool = False, integer: bool = False) -> Callable[[str, Any], Any]:
    def parse(name: str, value: Any) -> Any:
        if isinstance(value, bool):
            raise ConfigError(f"{name}={value!r} must be a number, not a boolean")
        try:
            num: float = int(str(value).strip()) if integer else float(str(value).strip())
        except ValueError as exc:
            kind = "an integer" if integer else "a number"
            raise ConfigError(f"{name}={value!r} must be {kind}") from exc
        if num != num or (num <= lo if lo_open else num < lo) or num > hi:  # noqa: PLR0124 (NaN)
            left = "(" if lo_open else "["
            raise ConfigError(f"{name}={value!r} is out of range; allowed: {left}{lo:g}, {hi:g}]")
        return num

    return parse


def _symbol(name: str, value: Any) -> str:
    text = str(value).strip().upper()
    if not _SYMBOL_RE.match(text):
        raise ConfigError(f"{name}={value!r} is not a symbol (letters, digits, _ . -; at most 32)")
    return text


def _url(name: str, value: Any) -> str:
    text = str(value).strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", text):
        raise ConfigError(f"{name}={value!r} must be an http(s) URL")
    return text


def _text(name: str, value: Any) -> str:
    return str(value).strip()


def _level(name: str, value: Any) -> str:
    text = str(value).strip().upper()
    if text not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{name}={value!r} is invalid; allowed: DEBUG, INFO, WARNING, ERROR")
    return text


@dataclass(frozen=True)
class _Field:
    var: str
    attr: str
    parse: Callable[[str, Any], Any]
    runtime: bool = False  # may runtime_settings.json override it?
    secret: bool = False


_FIELDS: tuple[_Field, ...] = (
    _Field("EXECUTION_MODE", "requested_mode", _choice(EXECUTION_MODES), runtime=True),
    _Field("UNIVERSE_MODE", "universe_mode", _choice(UNIVERSE_MODES), runtime=True),
    _Field("ALLOW_LIVE", "allow_live", parse_bool),
    _Field("STRATEGY_ID", "strategy_id", _text, runtime=True),
    _Field("RISK_PER_TRADE", "risk_per_trade", _number(0.0, 0.1, lo_open=True), runtime=True),
    _Field("MAX_OPEN_POSITIONS", "max_open_positions", _number(1, 200, integer=True), runtime=True),
    _Field("MAX_POSITION_NOTIONAL", "max_position_notional", _number(0.0, 1e12, lo_open=True), runtime=True),
    _Field("MAX_DAILY_DRAWDOWN", "max_daily_drawdown", _number(0.0, 0.99, lo_open=True), runtime=True),
    _Field("LEADER_SYMBOL_CRYPTO", "leader_symbol_crypto", _symbol, runtime=True),
    _Field("LEADER_SYMBOL_EQUITY", "leader_symbol_equity", _symbol, runtime=True),
    _Field("USE_LEADER_CRYPTO", "use_leader_crypto", parse_bool, runtime=True),
    _Field("USE_LEADER_STOCKS", "use_leader_stocks", parse_bool, runtime=True),
    _Field("BITGET_API_KEY", "bitget_api_key", lambda n, v: Secret(_text(n, v)), secret=True),
    _Field("BITGET_API_SECRET", "bitget_api_secret", lambda n, v: Secret(_text(n, v)), secret=True),
    _Field("BITGET_API_PASSPHRASE", "bitget_api_passphrase", lambda n, v: Secret(_text(n, v)), secret=True),
    _Field("BITGET_BASE_URL", "bitget_base_url", _url),
    _Field("BITGET_DEMO", "bitget_demo", parse_bool),
    _Field("BITGET_MARKET", "bitget_market", _choice(("futures", "spot"))),
    _Field("BITGET_MARGIN_MODE", "bitget_margin_mode", _choice(("crossed", "isolated"))),
    _Field("BITGET_LEVERAGE", "bitget_leverage", _number(1, 125, integer=True)),
    _Field("TINKOFF_API_TOKEN", "tinkoff_api_token", lambda n, v: Secret(_text(n, v)), secret=True),
    _Field("TINKOFF_SANDBOX", "tinkoff_sandbox", parse_bool),
    _Field("TINKOFF_ACCOUNT_ID", "tinkoff_account_id", _text),
    _Field("TINKOFF_BASE_URL", "tinkoff_base_url", _url),
    _Field("ALERTS_ENABLED", "alerts_enabled", parse_bool, runtime=True),
    _Field("ALERT_TG_BOT_TOKEN", "alert_tg_bot_token", lambda n, v: Secret(_text(n, v)), secret=True),
    _Field("ALERT_TG_CHAT_ID", "alert_tg_chat_id", _text),
    _Field("ALERT_TG_BASE_URL", "alert_tg_base_url", _url),
    _Field("AITRADE_LOG_LEVEL", "log_level", _level),
)
FIELDS_BY_VAR: Mapping[str, _Field] = {f.var: f for f in _FIELDS}
RUNTIME_KEYS: tuple[str, ...] = tuple(f.var for f in _FIELDS if f.runtime)
SECRET_VARS: tuple[str, ...] = tuple(f.var for f in _FIELDS if f.secret)


@dataclass(frozen=True)
class Settings:
    """One frozen view of the configuration. Build it with :func:`load_settings`."""

    home: Path
    requested_mode: str = "backtest"
    execution_mode: str = "backtest"
    universe_mode: str = "both"
    allow_live: bool = False
    strategy_id: str = "universal_live_v1"
    risk_per_trade: float = 0.02
    max_open_positions: int = 4
    max_position_notional: float = 500.0
    max_daily_drawdown: float = 0.05
    leader_symbol_crypto: str = "BTCUSDT"
    leader_symbol_equity: str = "MOEX"
    use_leader_crypto: bool = True
    use_leader_stocks: bool = True
    bitget_api_key: Secret = field(default_factory=Secret)
    bitget_api_secret: Secret = field(default_factory=Secret)
    bitget_api_passphrase: Secret = field(default_factory=Secret)
    bitget_base_url: str = BITGET_URL
    bitget_demo: bool = False
    bitget_market: str = "futures"
    bitget_margin_mode: str = "crossed"
    bitget_leverage: int = 1
    tinkoff_api_token: Secret = field(default_factory=Secret)
    tinkoff_sandbox: bool = True
    tinkoff_account_id: str = ""
    tinkoff_base_url: str = TINKOFF_SANDBOX_URL
    alerts_enabled: bool = False
    alert_tg_bot_token: Secret = field(default_factory=Secret)
    alert_tg_chat_id: str = ""
    alert_tg_base_url: str = TELEGRAM_URL
    log_level: str = "INFO"
    origins: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    runtime_quarantine: tuple[str, ...] = ()  # corrupt runtime files moved aside and not yet dealt with

    # --- paths, all under home -------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def data_cache_dir(self) -> Path:
        return self.home / "data_cache"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    def resolve_path(self, text: str | Path) -> Path:
        """A path a user typed: ``~`` expanded; a relative one against the home first (what the control room's
        placeholders and the docs mean), then the working folder; the home's when neither holds it."""
        path = Path(text).expanduser()
        if path.is_absolute():
            return path
        in_home = self.home / path
        if in_home.exists() or not path.exists():
            return in_home
        return path.resolve()

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def runtime_settings_path(self) -> Path:
        return self.state_dir / RUNTIME_FILE

    @property
    def instruments_path(self) -> Path:
        return self.state_dir / "instruments.json"

    # --- derived ---------------------------------------------------------------------
    @property
    def profile(self) -> RiskProfile:
        """The risk profile of the universe (``both`` uses crypto, as the original)."""
        return profile_for(self.universe_mode)

    @property
    def assets(self) -> tuple[str, ...]:
        return assets_for(self.universe_mode)

    @property
    def routing(self) -> Mapping[str, str]:
        return ROUTING

    def require_runtime_intact(self, what: str) -> None:
        """Refuse ``what`` (trading, changing risk) while a corrupt runtime settings file sits quarantined."""
        if self.runtime_quarantine:
            aside = self.runtime_quarantine[0]
            raise ConfigError(
                f"{what} refused: state/{RUNTIME_FILE} was corrupt and was moved aside to {aside}, so your risk "
                f"limits are not in force; fix it and move it back to state/{RUNTIME_FILE}, or delete {aside}"
            )

    def secrets(self) -> tuple[str, ...]:
        """Clear values of every configured secret, for log redaction."""
        return tuple(
            getattr(self, FIELDS_BY_VAR[v].attr).get() for v in SECRET_VARS if getattr(self, FIELDS_BY_VAR[v].attr)
        )

    def credentials_present(self) -> dict[str, bool]:
        """Which venue credentials are set (values never leave this object)."""
        return {
            "bitget": bool(self.bitget_api_key and self.bitget_api_secret and self.bitget_api_passphrase),
            "tinkoff": bool(self.tinkoff_api_token),
            "telegram": bool(self.alert_tg_bot_token and self.alert_tg_chat_id),
        }

    def public_view(self) -> dict[str, dict[str, Any]]:
        """Every variable with its (masked) value and where it came from."""
        out: dict[str, dict[str, Any]] = {}
        for f in _FIELDS:
            value = getattr(self, f.attr)
            shown: Any = value.masked() if isinstance(value, Secret) else value
            out[f.var] = {"value": shown, "origin": self.origins.get(f.var, "default")}
        out["EXECUTION_MODE"]["effective"] = self.execution_mode
        out["AITRADE_HOME"] = {"value": str(self.home), "origin": self.origins.get("AITRADE_HOME", "default")}
        return out


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        values = dotenv_values(path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc}") from exc
    return {k: v for k, v in values.items() if v is not None}


def read_runtime_overrides(path: Path) -> dict[str, Any]:
    """Validated runtime overrides; an unknown or non-overridable key is a ConfigError."""
    data = read_json_object(path, {})
    for key, value in data.items():
        if key not in FIELDS_BY_VAR:
            raise ConfigError(f"{path}: unknown setting {key!r}; allowed: {', '.join(RUNTIME_KEYS)}")
        if key not in RUNTIME_KEYS:
            raise ConfigError(
                f"{path}: {key} cannot be set at runtime (environment or .env only); allowed: {', '.join(RUNTIME_KEYS)}"
            )
        f = FIELDS_BY_VAR[key]
        f.parse(f"{key} (in {path.name})", value)
    return data


def load_settings(
    home: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    use_dotenv: bool = True,
    use_runtime: bool = True,
) -> Settings:
    """Build :class:`Settings`; raise :class:`ConfigError` naming any bad variable."""
    env = dict(os.environ if environ is None else environ)
    origins: dict[str, str] = {}
    home_raw = home if home is not None else env.get("AITRADE_HOME") or os.getcwd()
    home_path = Path(home_raw).expanduser().resolve()
    if home is not None:
        origins["AITRADE_HOME"] = "argument"
    elif env.get("AITRADE_HOME"):
        origins["AITRADE_HOME"] = "env"
    if home_path.exists() and not home_path.is_dir():
        raise ConfigError(f"AITRADE_HOME={str(home_path)!r} is not a directory")

    raw: dict[str, Any] = {}
    if use_dotenv:
        for key, value in _read_dotenv(home_path / ".env").items():
            if key in FIELDS_BY_VAR and value.strip() != "":
                raw[key], origins[key] = value, ".env"
    for key in FIELDS_BY_VAR:
        from_env = env.get(key)
        if from_env is not None and from_env.strip() != "":
            raw[key], origins[key] = from_env, "env"
    quarantined: list[str] = []
    warnings: list[str] = []
    if use_runtime:
        runtime_path = home_path / "state" / RUNTIME_FILE
        try:
            overrides = read_runtime_overrides(runtime_path)
        except StateFileError as exc:  # moved aside: say so on every start until the user deals with it
            overrides = {}
            log.debug("%s", exc)
        for key, value in overrides.items():
            raw[key], origins[key] = value, "runtime"
        quarantined = sorted(p.name for p in runtime_path.parent.glob(f"{RUNTIME_FILE}.corrupt-*"))
        if quarantined:
            warnings.append(
                f"state/{RUNTIME_FILE} was corrupt and was moved aside to {quarantined[0]}: runtime "
                "risk limits are NOT applied; trading commands refuse to run until you restore or "
                "delete it"
            )

    values: dict[str, Any] = {}
    for var, value in raw.items():
        f = FIELDS_BY_VAR[var]
        values[f.attr] = f.parse(var, value)

    universe = values.get("universe_mode", "both")
    profile = profile_for(universe)
    values.setdefault("risk_per_trade", profile.risk_per_trade)
    values.setdefault("max_open_positions", profile.max_open_positions)
    values.setdefault("max_position_notional", profile.max_position_notional)
    values.setdefault("max_daily_drawdown", profile.max_daily_drawdown)
    sandbox = values.get("tinkoff_sandbox", True)
    values.setdefault("tinkoff_base_url", TINKOFF_SANDBOX_URL if sandbox else TINKOFF_PROD_URL)

    requested = values.get("requested_mode", "backtest")
    effective = requested
    if requested == "live" and not values.get("allow_live", False):
        effective = "paper"
        warnings.append("EXECUTION_MODE=live without ALLOW_LIVE=1: running in paper mode")
    for w in warnings:
        log.warning(w)  # for notebooks with logging set up; the CLI prints settings.warnings once itself
    settings = Settings(
        home=home_path,
        execution_mode=effective,
        origins=origins,
        warnings=tuple(warnings),
        runtime_quarantine=tuple(quarantined),
        **values,
    )
    remember_secrets(settings.secrets())  # whatever this process writes later is masked
    return settings


def save_runtime_settings(settings: Settings, updates: Mapping[str, Any]) -> Settings:
    """Validate ``updates``, merge them into the runtime file atomically, and reload.

    Only :data:`RUNTIME_KEYS` are accepted. The merged result is validated by
    building new settings before anything is written.
    """
    settings.require_runtime_intact("changing the runtime settings")
    path = settings.runtime_settings_path
    current = read_runtime_overrides(path)
    merged = {**current, **dict(updates)}
    for key, value in updates.items():
        if key not in RUNTIME_KEYS:
            raise ConfigError(f"{key} cannot be set at runtime; allowed: {', '.join(RUNTIME_KEYS)}")
        FIELDS_BY_VAR[key].parse(key, value)
    atomic_write_json(path, merged)
    return load_settings(settings.home)
