"""Trading calendars: which bar slots a venue is expected to fill.

A calendar answers one question for the quality gate: given a bar grid, which
slots should hold a bar. Extra bars (an evening session, a dealer weekend) are
never an error; missing expected slots are gaps. A gap is tolerated when it is
a run of whole missing sessions no longer than ``max_missing_sessions`` (an
exchange holiday the calendar does not list), or a hole inside a session no
longer than ``max_missing_bars``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from aitrade.universe import CRYPTO_UNIVERSE, EQUITY_UNIVERSE, is_fx_pair

MSK_OFFSET = pd.Timedelta(hours=3)  # Moscow time is UTC+3 all year (no DST since 2014)


@dataclass(frozen=True)
class Calendar:
    """Base calendar: every slot of the grid is expected (24/7)."""

    name: str = "24/7"
    max_missing_sessions: int = 0
    max_missing_bars: int = 0

    def expected_mask(self, slots: pd.DatetimeIndex, interval: pd.Timedelta) -> np.ndarray:
        """Boolean mask over UTC bar-open ``slots``: True where a bar is expected."""
        return np.ones(len(slots), dtype=bool)

    def session_key(self, slots: pd.DatetimeIndex) -> np.ndarray:
        """Label of the session each slot belongs to (the UTC date by default)."""
        return slots.normalize().asi8


@dataclass(frozen=True)
class WeekdayCalendar(Calendar):
    """Daily (or slower) bars on weekdays; holidays tolerated up to a few sessions."""

    name: str = "weekdays"
    max_missing_sessions: int = 4  # the NYSE closed four days after 11 September 2001

    def expected_mask(self, slots: pd.DatetimeIndex, interval: pd.Timedelta) -> np.ndarray:
        return np.asarray(slots.day_of_week < 5)


@dataclass(frozen=True)
class MoexCalendar(Calendar):
    """MOEX main session, weekdays 10:00-18:40 Moscow time (07:00-15:40 UTC).

    A bar is expected when it opens inside the main session. Morning, evening
    and weekend bars are allowed but not required. Holidays are tolerated up
    to ``max_missing_sessions`` whole days (the New Year break is the longest).
    """

    name: str = "moex-main"
    max_missing_sessions: int = 8
    max_missing_bars: int = 0

    def expected_mask(self, slots: pd.DatetimeIndex, interval: pd.Timedelta) -> np.ndarray:
        msk = slots + MSK_OFFSET
        weekday = np.asarray(msk.day_of_week < 5)
        if interval >= pd.Timedelta(days=1):
            return weekday
        minute = np.asarray(msk.hour * 60 + msk.minute)
        return weekday & (minute >= 10 * 60) & (minute < 18 * 60 + 40)

    def session_key(self, slots: pd.DatetimeIndex) -> np.ndarray:
        return (slots + MSK_OFFSET).normalize().asi8


@dataclass(frozen=True)
class FxCalendar(Calendar):
    """Spot FX, 24/5: closed from Friday 21:00 UTC to Sunday 22:00 UTC.

    Christmas Day and New Year's Day are holidays (not expected), as are the
    evenings before them (from 21:00 UTC). The weekend window is the widest of
    the summer and winter hours, so either season passes.
    """

    name: str = "fx-24/5"
    max_missing_sessions: int = 1
    max_missing_bars: int = 0

    def expected_mask(self, slots: pd.DatetimeIndex, interval: pd.Timedelta) -> np.ndarray:
        dow = np.asarray(slots.day_of_week)
        hour = np.asarray(slots.hour)
        closed = (dow == 5) | ((dow == 4) & (hour >= 21)) | ((dow == 6) & (hour < 22))
        month, day = np.asarray(slots.month), np.asarray(slots.day)
        holiday = ((month == 12) & (day == 25)) | ((month == 1) & (day == 1))
        holiday |= (((month == 12) & (day == 24)) | ((month == 12) & (day == 31))) & (hour >= 21)
        return ~closed & ~holiday


CRYPTO_247 = Calendar()
WEEKDAYS = WeekdayCalendar()
MOEX = MoexCalendar()
FX = FxCalendar()
CALENDARS: dict[str, Calendar] = {c.name: c for c in (CRYPTO_247, WEEKDAYS, MOEX, FX)}


def calendar_for(symbol: str, interval: str | None = None) -> Calendar:
    """Best calendar for a symbol: crypto pairs 24/7, MOEX tickers the main session,
    FX pairs 24/5, anything else weekdays."""
    sym = symbol.upper()
    if sym in CRYPTO_UNIVERSE or sym.endswith(("USDT", "USDC", "BTC", "ETH")):
        return CRYPTO_247
    if sym in EQUITY_UNIVERSE:
        return MOEX
    if is_fx_pair(sym):
        return FX
    return WEEKDAYS
