"""Building the brokers of one execution mode: venue clients, ownership ledgers, paper price feeds, candles.

* ``live`` builds the venue brokers (Bitget demo and the T-Invest sandbox are
  venues too); a needed broker without credentials is a :class:`ConfigError`.
* ``paper`` builds only :class:`SimulatedBroker` objects priced by feeds that
  cannot trade (:mod:`aitrade.brokers.quotes`).
* ``read_only`` brokers open their ledgers and paper state for reading only,
  take no account lock and open no venue account.
* Candles come from the data layer's sources and are handed to each broker
  here, so brokers never import a data source.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import aiohttp

from aitrade.brokers.bitget.broker import bitget_broker
from aitrade.brokers.bitget.candles import BitgetCandles
from aitrade.brokers.bitget.http import BitgetHttp
from aitrade.brokers.bitget.quotes import BitgetQuotes
from aitrade.brokers.inventory import OwnedInventory
from aitrade.brokers.quotes import PaperPrices
from aitrade.brokers.simulated import SimulatedBroker
from aitrade.brokers.tinkoff.broker import TinkoffBroker
from aitrade.brokers.tinkoff.candles import TinvestCandles
from aitrade.brokers.tinkoff.http import TinvestRest
from aitrade.brokers.tinkoff.instruments import TinvestInstruments
from aitrade.brokers.tinkoff.quotes import QUOTE_SERVICES, TinvestQuotes
from aitrade.config import Settings
from aitrade.costs import costs_for
from aitrade.errors import ConfigError
from aitrade.universe import profile_for

VENUES = ("bitget", "tinkoff")
CURRENCY = {"bitget": "USDT", "tinkoff": "RUB"}
ASSET_CLASS = {"bitget": "crypto", "tinkoff": "stocks"}


def _missing_credentials(settings: Settings, venue: str) -> list[str]:
    if venue == "bitget":
        names = {
            "BITGET_API_KEY": settings.bitget_api_key,
            "BITGET_API_SECRET": settings.bitget_api_secret,
            "BITGET_API_PASSPHRASE": settings.bitget_api_passphrase,
        }
    else:
        names = {"TINKOFF_API_TOKEN": settings.tinkoff_api_token}
    return [n for n, v in names.items() if not v]


def _tinvest_rest(settings: Settings, session: aiohttp.ClientSession, *, quotes_only: bool) -> TinvestRest:
    return TinvestRest(
        session,
        settings.tinkoff_base_url,
        settings.tinkoff_api_token.get(),
        allowed_services=QUOTE_SERVICES if quotes_only else None,
    )


def build_brokers(
    settings: Settings,
    session: aiohttp.ClientSession,
    mode: str,
    venues: Iterable[str],
    *,
    read_only: bool = False,
    market_data: bool = True,
) -> dict[str, Any]:
    """Fresh broker objects for ``mode``; a needed live broker without credentials is a ConfigError.

    ``read_only`` brokers open their ledgers and paper state for reading only,
    take no account lock and open no venue account. Paper brokers built with
    ``market_data=False`` are priced only by the bars fed to them (a replay).
    """
    venues = sorted(set(venues))
    unknown = [v for v in venues if v not in VENUES]
    if unknown:
        raise ConfigError(f"unknown broker {unknown[0]!r}; known: {', '.join(VENUES)}")
    state = settings.state_dir
    out: dict[str, Any] = {}
    if mode == "live":
        missing = [n for v in venues for n in _missing_credentials(settings, v)]
        if missing:
            raise ConfigError(f"live trading on {', '.join(venues)} needs {', '.join(missing)}")
        for venue in venues:
            if venue == "bitget":
                http = BitgetHttp(
                    session,
                    settings.bitget_base_url,
                    settings.bitget_api_key.get(),
                    settings.bitget_api_secret.get(),
                    settings.bitget_api_passphrase.get(),
                    demo=settings.bitget_demo,
                )
                env = "demo" if settings.bitget_demo else "live"
                inv = OwnedInventory(state / f"owned_bitget_{settings.bitget_market}_{env}.sqlite", read_only=read_only)
                bitget_candles = BitgetCandles(
                    session, settings.bitget_base_url, market=settings.bitget_market, retry=http.retry
                ).fetch
                out[venue] = bitget_broker(
                    http,
                    inv,
                    market=settings.bitget_market,
                    margin_mode=settings.bitget_margin_mode,
                    leverage=settings.bitget_leverage,
                    candles=bitget_candles,
                )
            else:
                rest = _tinvest_rest(settings, session, quotes_only=False)
                env = "sandbox" if settings.tinkoff_sandbox else "live"
                inv = OwnedInventory(state / f"owned_tinkoff_{env}.sqlite", read_only=read_only)
                instruments = TinvestInstruments(rest, settings.instruments_path)
                out[venue] = TinkoffBroker(
                    rest,
                    instruments,
                    inv,
                    sandbox=settings.tinkoff_sandbox,
                    account_id=settings.tinkoff_account_id,
                    candles=TinvestCandles(rest, instruments).fetch,
                )
        return out
    for venue in venues:
        feed: Any = None
        if not market_data:
            pass
        elif venue == "bitget":
            feed = BitgetQuotes(session, settings.bitget_base_url, settings.bitget_market)
        elif settings.tinkoff_api_token:
            rest = _tinvest_rest(settings, session, quotes_only=True)
            feed = TinvestQuotes(rest, TinvestInstruments(rest, settings.instruments_path))
        prices = PaperPrices(feed)
        candles: Any = None
        if not market_data:
            pass
        elif venue == "bitget":
            candles = BitgetCandles(session, settings.bitget_base_url, market=settings.bitget_market).fetch
        elif settings.tinkoff_api_token:
            candles = TinvestCandles(feed.rest, feed.instruments).fetch
        profile = profile_for(ASSET_CLASS[venue])
        shorting = venue == "tinkoff" or settings.bitget_market == "futures"
        sim = SimulatedBroker(
            f"{venue}-paper",
            state / f"paper_{venue}.sqlite",
            prices,
            costs_for(ASSET_CLASS[venue]),
            currency=CURRENCY[venue],
            starting_cash=Decimal(str(profile.deposit)),
            shorting=shorting,
            candles=candles,
            read_only=read_only,
            bars_only=not market_data,
        )
        prices.broker = sim
        out[venue] = sim
    return out
