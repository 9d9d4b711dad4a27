"""Backoff, token bucket and Quotation arithmetic."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aitrade.errors import DataError, RateLimited, RetryableError
from aitrade.money import decimal_to_quotation, quotation_to_decimal, round_to_step
from aitrade.net.ratelimit import RateLimiter, Window
from aitrade.net.retry import RetryPolicy, retry_async


async def test_retry_backs_off_exponentially_and_honours_retry_after() -> None:
    waits: list[float] = []
    calls = {"n": 0}

    async def sleep(s: float) -> None:
        waits.append(s)

    async def flaky() -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RetryableError("500")
        if calls["n"] == 2:
            raise RateLimited("429", retry_after=1.5)
        if calls["n"] == 3:
            raise RetryableError("timeout")
        return "ok"

    policy = RetryPolicy(attempts=5, base_s=0.5, cap_s=8.0, jitter=0.5)
    assert await retry_async(flaky, policy, sleep=sleep, rnd=lambda: 0.0) == "ok"
    assert waits == [0.5, 1.5, 2.0]


async def test_retry_gives_up_and_never_retries_other_errors() -> None:
    async def sleep(s: float) -> None:
        pass

    async def always() -> None:
        raise RetryableError("down")

    with pytest.raises(RetryableError):
        await retry_async(always, RetryPolicy(attempts=3), sleep=sleep)
    n = {"c": 0}

    async def bad() -> None:
        n["c"] += 1
        raise DataError("bad request")

    with pytest.raises(DataError):
        await retry_async(bad, RetryPolicy(attempts=3), sleep=sleep)
    assert n["c"] == 1


def test_backoff_is_capped_and_jittered() -> None:
    p = RetryPolicy(base_s=1.0, cap_s=4.0, jitter=0.5)
    assert p.delay(10, None, 0.0) == 4.0 and p.delay(10, None, 1.0) == 2.0
    assert p.delay(1, 999.0, 0.0) == p.max_wait_s


def _fake_time() -> tuple[dict[str, float], Any]:
    now = {"t": 0.0}

    async def sleep(s: float) -> None:
        now["t"] += s

    return now, sleep


def _max_in_window(times: list[float], seconds: float) -> int:
    """The most calls any ``seconds``-long interval holds (intervals start at a call)."""
    return max(sum(1 for u in times if t <= u < t + seconds) for t in times)


async def test_rate_window_never_exceeds_its_count_in_any_window_bursts_included() -> None:
    now, sleep = _fake_time()
    limiter = RateLimiter({"OrdersService": Window(100, 60.0)}, clock=lambda: now["t"], sleep=sleep)
    sent: list[float] = []
    for _ in range(100):  # a burst after idling: allowed at once, up to the count
        await limiter.acquire("OrdersService")
        sent.append(now["t"])
    assert now["t"] == 0.0
    now["t"] = 30.0
    for _ in range(150):  # the next 100 wait until the first ones are a minute old, then pace
        await limiter.acquire("OrdersService")
        sent.append(now["t"])
    assert _max_in_window(sent, 60.0) == 100
    assert sent[100] == pytest.approx(60.0) and sent[-1] == pytest.approx(120.0)


async def test_rate_windows_per_key_and_overall() -> None:
    now, sleep = _fake_time()
    limiter = RateLimiter(
        {"a": Window(5, 1.0)}, Window(3, 1.0), overall=Window(6, 1.0), clock=lambda: now["t"], sleep=sleep
    )
    for _ in range(5):
        await limiter.acquire("a")
    assert now["t"] == 0.0
    await limiter.acquire("b")  # b has room, the overall window too (6th call)
    assert now["t"] == 0.0
    await limiter.acquire("b")  # the overall window is full: wait for the first call to age out
    assert now["t"] == pytest.approx(1.0)
    unlimited = RateLimiter({})
    for _ in range(1000):
        await unlimited.acquire("x")
    with pytest.raises(ValueError, match="positive count"):
        Window(0, 1.0)


@pytest.mark.parametrize(
    ("value", "units", "nano"),
    [
        ("114.25", "114", 250000000),
        ("-200.20", "-200", -200000000),
        ("-0.01", "0", -10000000),
        ("1.5", "1", 500000000),
        ("-1.5", "-1", -500000000),
        ("0.000000001", "0", 1),
        ("0.01", "0", 10000000),
    ],
)
def test_quotation_vectors(value: str, units: str, nano: int) -> None:
    assert decimal_to_quotation(Decimal(value)) == {"units": units, "nano": nano}
    assert quotation_to_decimal({"units": units, "nano": nano}) == Decimal(value)


def test_quotation_edge_cases() -> None:
    assert quotation_to_decimal({"units": "-0", "nano": -10000000}) == Decimal("-0.01")
    assert quotation_to_decimal(None) == 0 and quotation_to_decimal({}) == 0
    with pytest.raises(ValueError, match="different signs"):
        quotation_to_decimal({"units": "1", "nano": -5})
    with pytest.raises(ValueError, match="out of range"):
        quotation_to_decimal({"units": "1", "nano": 1_000_000_000})


@given(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=9, allow_nan=False, allow_infinity=False)
)
def test_quotation_round_trip(value: Decimal) -> None:
    q = decimal_to_quotation(value)
    assert quotation_to_decimal(q) == value
    assert abs(q["nano"]) < 1_000_000_000
    assert int(q["units"]) == 0 or q["nano"] == 0 or (int(q["units"]) > 0) == (q["nano"] > 0)


@given(
    st.decimals(min_value=Decimal("0"), max_value=Decimal("1e6"), places=6),
    st.sampled_from(["0.01", "0.5", "0.0005", "1"]),
)
def test_round_to_step_goes_down_to_a_multiple(value: Decimal, step: str) -> None:
    s = Decimal(step)
    r = round_to_step(value, s)
    assert r <= value < r + s and (r / s) == (r / s).to_integral_value()
