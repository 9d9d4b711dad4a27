"""T-Invest instruments: ticker -> uid, FIGI, lot and tick, resolved once a week and cached in ``state/``.

Resolved by ticker and board (TQBR shares, CETS FX) through
``InstrumentsService/GetInstrumentBy``, falling back to ``FindInstrument``,
and cached in ``state/instruments.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from aitrade.brokers.tinkoff.http import TinvestRest
from aitrade.errors import UnknownSymbolError
from aitrade.money import quotation_to_decimal
from aitrade.statefile import atomic_write_json, read_json_object
from aitrade.universe import TINKOFF_FIGI_MAP, tinvest_class_code

log = logging.getLogger(__name__)
INSTRUMENT_TTL = pd.Timedelta(days=7)


class TinvestInstruments:
    """Ticker -> instrument, cached in ``state/instruments.json``."""

    def __init__(self, rest: TinvestRest, cache_path: Path, *, now: Callable[[], pd.Timestamp] | None = None):
        self.rest = rest
        self.cache_path = cache_path
        self._now = now or (lambda: pd.Timestamp.now(tz="UTC"))

    def _load(self) -> dict[str, Any]:
        data = read_json_object(self.cache_path, {})
        return data.get("tinvest", {}) if isinstance(data.get("tinvest", {}), dict) else {}

    def _store(self, key: str, entry: dict[str, Any]) -> None:
        data = read_json_object(self.cache_path, {})
        data.setdefault("version", 1)
        data.setdefault("tinvest", {})[key] = entry
        atomic_write_json(self.cache_path, data)

    async def resolve(self, ticker: str, *, refresh: bool = False) -> dict[str, Any]:
        """Instrument facts for ``ticker``: uid, figi, classCode, lot, tick, currency."""
        ticker = ticker.upper()
        class_code = tinvest_class_code(ticker)
        key = f"{ticker}_{class_code}"
        cached = self._load().get(key)
        if cached and not refresh:
            fetched = pd.Timestamp(cached.get("fetched_at", "1970-01-01T00:00:00Z"))
            if self._now() - fetched < INSTRUMENT_TTL:
                return cached
        what = f"T-Invest instrument {ticker}"
        try:
            answer = await self.rest.call(
                "InstrumentsService",
                "GetInstrumentBy",
                {"idType": "INSTRUMENT_ID_TYPE_TICKER", "classCode": class_code, "id": ticker},
                what=what,
            )
            inst = answer.get("instrument") or {}
        except UnknownSymbolError:
            inst = await self._find(ticker, what)
        if not inst.get("uid") and not inst.get("figi"):
            raise UnknownSymbolError(f"T-Invest does not know ticker {ticker!r} on {class_code}")
        entry = {
            "ticker": inst.get("ticker", ticker),
            "classCode": inst.get("classCode", class_code),
            "uid": inst.get("uid", ""),
            "figi": inst.get("figi", ""),
            "lot": int(inst.get("lot", 1) or 1),
            "minPriceIncrement": str(quotation_to_decimal(inst.get("minPriceIncrement"))),
            "currency": str(inst.get("currency", "")).upper(),
            "name": inst.get("name", ""),
            "shortEnabledFlag": bool(inst.get("shortEnabledFlag", False)),
            "apiTradeAvailableFlag": bool(inst.get("apiTradeAvailableFlag", False)),  # proto3: absent is false
            "fetched_at": self._now().isoformat(),
        }
        expected = TINKOFF_FIGI_MAP.get(ticker)
        if expected and entry["figi"] and entry["figi"] != expected:
            log.warning("T-Invest %s resolved to FIGI %s, the default map says %s", ticker, entry["figi"], expected)
        self._store(key, entry)
        return entry

    async def ticker_of_uid(self, uid: str) -> str | None:
        """Our ticker of an instrument uid (order states carry the uid, not the ticker); ``None`` if unknown."""
        for entry in self._load().values():
            if isinstance(entry, dict) and uid and uid in (entry.get("uid"), entry.get("figi")):
                return str(entry.get("ticker") or "") or None
        try:
            answer = await self.rest.call(
                "InstrumentsService",
                "GetInstrumentBy",
                {"idType": "INSTRUMENT_ID_TYPE_UID", "id": uid},
                what=f"T-Invest instrument {uid}",
            )
        except UnknownSymbolError:
            return None
        ticker = str((answer.get("instrument") or {}).get("ticker") or "")
        if not ticker:
            return None
        await self.resolve(ticker)
        return ticker.upper()

    async def _find(self, ticker: str, what: str) -> dict[str, Any]:
        answer = await self.rest.call("InstrumentsService", "FindInstrument", {"query": ticker}, what=what)
        found = [i for i in answer.get("instruments", []) or [] if str(i.get("ticker", "")).upper() == ticker]
        if not found:
            raise UnknownSymbolError(f"T-Invest does not know ticker {ticker!r}")
        found.sort(key=lambda i: (i.get("classCode") not in ("TQBR", "CETS"), not i.get("apiTradeAvailableFlag")))
        uid = found[0].get("uid")
        full = await self.rest.call(
            "InstrumentsService",
            "GetInstrumentBy",
            {"idType": "INSTRUMENT_ID_TYPE_UID", "id": uid},
            what=what,
        )
        return full.get("instrument") or found[0]
