"""The T-Invest error table: every official code classified, and a change of class fails here.

``OFFICIAL`` is the code list of ``src/docs/errors/api_errors.json`` in
``RussianInvestments/investAPI`` (commit 1ba3726), written here independently of
``aitrade/brokers/tinkoff/errors.json``: a code missing from the data file, or
one the file invents, fails the first test. ``EXPECTED`` pins what a trading
caller must do for the codes it can meet.
"""

from __future__ import annotations

import pytest

from aitrade.brokers.tinkoff.errors import table, translate
from aitrade.errors import (
    AuthError,
    ConfigError,
    DataError,
    DuplicateOrder,
    HaltError,
    OrderNotFound,
    RateLimited,
    RetryableError,
    SkipError,
    UnknownSymbolError,
)

OFFICIAL = [
    12001,
    12002,
    *range(30001, 30024),
    *range(30025, 30035),
    *range(30036, 30046),
    *range(30047, 30071),
    *range(30077, 30110),
    *range(30210, 30239),
    30240,
    35001,
    40002,
    40003,
    40004,
    50001,
    50002,
    *range(50004, 50014),
    70001,
    70002,
    70003,
    80001,
    80002,
    80003,
    80004,
    90001,
    90002,
    90003,
]
HALT = {  # account-level refusals, unimplemented methods and request bugs: every retry fails the same way
    "30081",
    "30082",
    "30022",
    "35001",
    "12001",
    "12002",
    "30015",
    "30021",
    "30025",
    "30027",
    "30028",
    "30036",
    "30043",
    "30055",
    "30093",
    "30014",
    "30016",
    "30017",
    "30018",
    "30080",
    "30100",
    "50004",
    "80001",
}
SKIP = {
    "30034",
    "30042",
    "30049",
    "30051",
    "30052",
    "30053",
    "30059",
    "30060",
    "30068",
    "30078",
    "30079",
    "30092",
    "30095",
    "30096",
    "30097",
    "30098",
    "30099",
    "30101",
    "30103",
    "30109",
    "30227",
    "30240",
    "90001",
    "90002",
    "90003",
    "80003",
}
RETRY = {"70001", "70002", "70003", "80002", "30058"}
EXPECTED = {
    **{c: "halt" for c in HALT},
    **{c: "skip" for c in SKIP},
    **{c: "retry" for c in RETRY},
    "30057": "reconcile",
    "50005": "not_found",
    "50006": "not_found",
    "50002": "unknown_instrument",
    "40002": "halt",
    "40003": "halt",
    "40004": "halt",
}


def test_the_table_has_every_official_code_and_no_other() -> None:
    assert sorted(table()) == sorted(str(c) for c in OFFICIAL)
    assert len(table()) == 158


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_trading_relevant_codes_keep_their_class(code: str) -> None:
    assert table()[code]["action"] == EXPECTED[code], table()[code]


def _error(code: str, status: int = 400, grpc: int = 3, *, trading: bool = True) -> Exception:
    body = {"code": grpc, "message": table().get(code, {}).get("message", "x"), "description": code}
    return translate(status, body, {"x-tracking-id": "abc"}, "T-Invest call", trading=trading)


@pytest.mark.parametrize("code", sorted(table()))
def test_every_code_becomes_the_error_its_action_names(code: str) -> None:
    action = table()[code]["action"]
    err = _error(code)
    expected = {
        "retry": RetryableError,
        "reconcile": DuplicateOrder,
        "skip": SkipError,
        "not_found": OrderNotFound,
        "unknown_instrument": HaltError,
        "halt": HaltError,
    }[action]
    assert isinstance(err, expected), (code, type(err))
    assert code in str(err) and "tracking id abc" in str(err)
    if action == "halt":
        assert not isinstance(err, SkipError | RetryableError)


def test_special_classes_and_data_calls() -> None:
    assert isinstance(_error("80002", 429, 8), RateLimited)
    assert isinstance(_error("40003", 401, 16), AuthError) and isinstance(_error("40002", 403, 7), AuthError)
    assert isinstance(_error("30081"), HaltError) and "closed" in str(_error("30081")).lower()
    assert isinstance(_error("50002", 404, 5, trading=False), UnknownSymbolError)
    assert isinstance(_error("30022", trading=False), ConfigError)
    assert isinstance(_error("30014", trading=False), DataError)  # a data request the caller built wrong


def test_unknown_codes_fall_back_on_their_status_never_to_skip() -> None:
    assert isinstance(_error("39999"), HaltError)  # an unlisted INVALID_ARGUMENT: halt with code and message
    assert isinstance(_error("", 500, 13), RetryableError)
    assert isinstance(_error("", 503, 14), RetryableError)
    assert isinstance(translate(500, {"code": 2, "message": None, "description": None}, {}, "x"), RetryableError)
    assert isinstance(_error("", 404, 5), HaltError)  # a wrong URL on a trading call
