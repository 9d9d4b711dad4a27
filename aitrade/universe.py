"""The original's universes, routing table, FIGI defaults and risk profiles.

These are reference data, not settings: :mod:`aitrade.config` picks from them
by ``UNIVERSE_MODE``. Every symbol is routed explicitly; a symbol that is in no
universe has no broker (the original silently sent such symbols to Bitget).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

UniverseMode = Literal["crypto", "stocks", "both"]
UNIVERSE_MODES: tuple[str, ...] = ("crypto", "stocks", "both")

#: 20 USDT pairs traded on Bitget, with the original's grouping.
CRYPTO_UNIVERSE: MappingProxyType[str, str] = MappingProxyType(
    {
        "BTCUSDT": "major",
        "ETHUSDT": "major",
        "BNBUSDT": "major",
        "LTCUSDT": "major",
        "NEOUSDT": "old",
        "ETCUSDT": "old",
        "XRPUSDT": "major",
        "XLMUSDT": "old",
        "ADAUSDT": "major",
        "TRXUSDT": "major",
        "EOSUSDT": "old",
        "QTUMUSDT": "old",
        "ICXUSDT": "old",
        "VETUSDT": "old",
        "LINKUSDT": "defi",
        "ZECUSDT": "old",
        "DASHUSDT": "old",
        "BATUSDT": "old",
        "ZRXUSDT": "old",
        "IOSTUSDT": "old",
    }
)

#: 21 MOEX instruments traded through T-Invest: 16 shares and 5 FX/metal pairs.
EQUITY_UNIVERSE: tuple[str, ...] = (
    "SBER",
    "GAZP",
    "LKOH",
    "GMKN",
    "TATN",
    "NVTK",
    "SNGS",
    "ROSN",
    "PLZL",
    "MGNT",
    "NLMK",
    "CHMF",
    "ALRS",
    "MOEX",
    "T",
    "SNGSP",
    "CNYRUB_TOM",
    "HKDRUB_TOM",
    "TRYRUB_TOM",
    "KZTRUB_TOM",
    "GLDRUB_TOM",
)

#: Ticker -> FIGI, as the original's get_instruments.py produced them. Used to
#: cross-check instruments resolved at run time (tickers can be reassigned).
TINKOFF_FIGI_MAP: MappingProxyType[str, str] = MappingProxyType(
    {
        "SBER": "BBG004730N88",
        "LKOH": "BBG004731032",
        "GAZP": "BBG004730RP0",
        "GMKN": "BBG004731489",
        "TATN": "BBG004RVFFC0",
        "NVTK": "BBG00475KKY8",
        "SNGS": "BBG0047315D0",
        "ROSN": "BBG004731354",
        "PLZL": "BBG000R607Y3",
        "MGNT": "BBG004RVFCY3",
        "NLMK": "BBG004S681B4",
        "CHMF": "BBG00475K6C3",
        "ALRS": "BBG004S68B31",
        "MOEX": "BBG004730JJ5",
        "T": "TCS80A107UL4",
        "SNGSP": "BBG004S681M2",
        "CNYRUB_TOM": "BBG0013HRTL0",
        "HKDRUB_TOM": "BBG0013HSW87",
        "TRYRUB_TOM": "BBG0013J12N1",
        "KZTRUB_TOM": "BBG0013HG026",
        "GLDRUB_TOM": "BBG000VJ5YR4",
    }
)


def tinvest_class_code(ticker: str) -> str:
    """MOEX board of a ticker: ``CETS`` for FX/metal ``*_TOM`` pairs, else ``TQBR``."""
    return "CETS" if ticker.upper().endswith("_TOM") else "TQBR"


#: Symbol -> broker name. Crypto goes to Bitget, MOEX to T-Invest (Tinkoff).
ROUTING: MappingProxyType[str, str] = MappingProxyType(
    {**{s: "bitget" for s in CRYPTO_UNIVERSE}, **{s: "tinkoff" for s in EQUITY_UNIVERSE}}
)


def assets_for(mode: str) -> tuple[str, ...]:
    """Symbols of a universe mode, crypto first for ``both``."""
    if mode == "crypto":
        return tuple(CRYPTO_UNIVERSE)
    if mode == "stocks":
        return EQUITY_UNIVERSE
    if mode == "both":
        return tuple(CRYPTO_UNIVERSE) + EQUITY_UNIVERSE
    raise ValueError(f"unknown universe mode {mode!r}; allowed: {', '.join(UNIVERSE_MODES)}")


#: currencies of spot FX pairs written as six letters (EURUSD)
FX_CODES = frozenset({"EUR", "USD", "GBP", "JPY", "CHF", "AUD", "NZD", "CAD", "CNY", "HKD", "SEK", "NOK"})


def is_fx_pair(symbol: str) -> bool:
    """Whether a symbol is a spot FX pair such as EURUSD."""
    sym = symbol.upper()
    return len(sym) == 6 and sym.isalpha() and sym[:3] in FX_CODES and sym[3:] in FX_CODES


def asset_class(symbol: str) -> Literal["crypto", "stocks"] | None:
    """``crypto`` or ``stocks`` for a universe symbol, ``None`` otherwise."""
    if symbol in CRYPTO_UNIVERSE:
        return "crypto"
    if symbol in EQUITY_UNIVERSE:
        return "stocks"
    return None


@dataclass(frozen=True)
class RiskProfile:
    """Money management of one asset class (the original's CRYPTO_MM / STOCKS_MM).

    ``max_position_notional`` is in the account currency of the venue (USDT on
    Bitget, RUB on T-Invest); the original used one number for both.
    """

    name: str
    timeframe_ltf: str
    timeframe_htf: str
    deposit: float
    risk_per_trade: float
    max_open_positions: int
    max_position_notional: float
    commission: float
    slippage: float
    max_daily_drawdown: float
    currency: str
    strategy: MappingProxyType[str, float] = field(default_factory=lambda: MappingProxyType({}))


CRYPTO_PROFILE = RiskProfile(
    name="crypto",
    timeframe_ltf="4h",
    timeframe_htf="1d",
    deposit=1000.0,
    risk_per_trade=0.02,
    max_open_positions=4,
    max_position_notional=500.0,
    commission=0.00075,
    slippage=0.0005,
    max_daily_drawdown=0.05,
    currency="USDT",
    strategy=MappingProxyType(
        {
            "sl": 2.0,
            "tp": 3.5,
            "conf": 0.60,
            "vol_exit": 6.0,
            "trail_act": 1.2,
            "trail_off": 0.3,
            "max_hold": 48,
            "abort": 0.75,
            "pullback": 0.20,
            "fill_wait": 8,
        }
    ),
)

STOCKS_PROFILE = RiskProfile(
    name="stocks",
    timeframe_ltf="1h",
    timeframe_htf="1d",
    deposit=1000.0,
    risk_per_trade=0.01,
    max_open_positions=2,
    max_position_notional=500.0,
    commission=0.00025,
    slippage=0.0008,
    max_daily_drawdown=0.03,
    currency="RUB",
    strategy=MappingProxyType(
        {
            "sl": 1.5,
            "tp": 2.5,
            "conf": 0.55,
            "vol_exit": 4.0,
            "trail_act": 0.8,
            "trail_off": 0.4,
            "max_hold": 32,
            "abort": 0.75,
            "pullback": 0.15,
            "fill_wait": 12,
        }
    ),
)

RISK_PROFILES: MappingProxyType[str, RiskProfile] = MappingProxyType(
    {"crypto": CRYPTO_PROFILE, "stocks": STOCKS_PROFILE}
)


def profile_for(mode: str) -> RiskProfile:
    """Risk profile of a universe mode; ``both`` uses the crypto profile, as the original did."""
    return STOCKS_PROFILE if mode == "stocks" else CRYPTO_PROFILE
