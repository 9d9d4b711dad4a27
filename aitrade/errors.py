"""Error types, named for what the caller must do.

Every error AiTrade raises on purpose derives from :class:`AiTradeError`. The
branches tell the caller how to react:

* :class:`UserError` — the input is wrong (a bad value, an unknown symbol, a
  corrupt file). Fix the input; the CLI prints one line and exits 2.
* :class:`RetryableError` — transient (timeout before sending, HTTP 429, 5xx).
  Retry with backoff; :func:`aitrade.net.retry.retry_async` does.
* :class:`ReconcileError` — the outcome of a request that was sent is unknown.
  Look the order up by its client id before anything is re-sent.
* :class:`SkipError` — the venue rejected this request (funds, size, market
  closed). Skip this symbol or cycle.
* :class:`HaltError` — authentication or configuration is broken. Stop trading
  and page a human.
"""

from __future__ import annotations


class AiTradeError(Exception):
    """Root of every error AiTrade raises on purpose."""


class UserError(AiTradeError):
    """Bad input from the user: fix the input and run again."""


class ConfigError(UserError):
    """A setting is invalid; the message names the setting and what is allowed."""


class DataError(UserError):
    """Bars or a data file are unusable (quality gate, corrupt file, bad schema)."""


class TooFewRows(DataError):
    """Too few usable rows to fit a model (a fold of a short or late-starting series); that fold is skipped."""


class UnknownSymbolError(DataError):
    """A symbol is not known to the chosen source."""


class StateFileError(UserError):
    """A state file is corrupt; it has been moved aside, never silently replaced."""


class LockHeld(UserError):
    """Another process holds the lock on a venue account or a home; the message names its pid."""


class HaltError(AiTradeError):
    """Authentication or configuration failure at a venue: stop and page a human."""


class AuthError(HaltError):
    """The venue refused our credentials."""


class InvalidRequest(HaltError):
    """AiTrade built a request the venue's contract forbids (a market order with a price, a price off the tick);
    nothing was sent."""


class VenueProtocolError(HaltError):
    """A venue answered with something its protocol does not allow (an unknown side or status): stop, never guess."""


class RetryableError(AiTradeError):
    """A transient failure; the same request may succeed later.

    ``retry_after`` is the delay in seconds the venue asked for, when it did.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LedgerBusy(RetryableError):
    """The ownership ledger stayed locked by another process past the busy timeout."""


class RateLimited(RetryableError):
    """The venue answered 429 / a rate-limit code."""


class SourceUnavailable(DataError):
    """A data source kept failing after every retry."""


class ReconcileError(AiTradeError):
    """A request was sent but its outcome is unknown; look it up before re-sending."""


class SkipError(AiTradeError):
    """The venue rejected the request; skip this symbol or cycle."""


class DuplicateOrder(ReconcileError):
    """The venue says this client id was already used: look the order up instead of re-sending."""


class ExpiredRequest(SkipError):
    """The venue refused a request that reached it after its receive window: it was certainly not placed."""


class OrderNotFound(SkipError):
    """The venue does not know the order (already final or never placed)."""
