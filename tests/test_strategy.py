"""The trading rules on hand-computed cases; the kernel and strategy.step against the independent reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrade.backtest.kernel import (
    N_STATS,
    N_TRADE_FIELDS,
    rules_array,
    simulate_many_nb,
    simulate_nb,
    simulate_serial_nb,
)
from aitrade.backtest.reference import run_reference
from aitrade.errors import UserError
from aitrade.strategy import ABORT, END, SL, TIME, TP, TRAIL, VOL, Genome, Rules, State, close_out, step

NO_COST = Rules(risk_per_trade=0.01, fee_rate=0.0, slippage=0.0)
G = Genome(
    sl=1.0,
    tp=2.0,
    conf=0.6,
    pullback=0.5,
    fill_wait=2,
    max_hold=10,
    trail_act=50.0,
    trail_off=1.0,
    vol_exit=50.0,
    abort=0.99,
)


def run(bars, p_long, p_short=None, genome=G, rules=NO_COST, capital=10_000.0):
    o, h, lo, c = (np.array(x, dtype=float) for x in zip(*bars, strict=True))
    n = len(c)
    atr = np.full(n, 1.0)
    pl = np.array(p_long, dtype=float)
    ps = np.zeros(n) if p_short is None else np.array(p_short, dtype=float)
    trades, equity = run_reference(o, h, lo, c, atr, pl, ps, genome, rules, capital)
    stepped, stepped_equity = run_step(o, h, lo, c, atr, pl, ps, genome, rules, capital)
    assert stepped == trades
    np.testing.assert_array_equal(stepped_equity, equity)
    out, eq, st = np.zeros((64, N_TRADE_FIELDS)), np.zeros(n), np.zeros(N_STATS)
    k = simulate_nb(o, h, lo, c, atr, pl, ps, np.array(genome.as_tuple()), _rules(rules), capital, out, eq, st)
    assert k == len(trades)
    for row, tr in zip(out[:k], trades, strict=True):
        assert tuple(row) == (
            tr.side,
            tr.entry_bar,
            tr.exit_bar,
            tr.entry_price,
            tr.exit_price,
            tr.qty,
            tr.fees,
            tr.pnl,
            tr.reason,
        )
    np.testing.assert_array_equal(eq, equity)
    return trades


def _rules(r: Rules) -> np.ndarray:
    return rules_array(r)


def run_step(o, h, lo, c, atr, pl, ps, genome, rules, capital):
    """strategy.step bar by bar (the runner's path through the rules)."""
    s, cash, trades, equity = State(), capital, [], np.empty(len(c))
    for t in range(len(c)):
        s, closed = step(s, t, o[t], h[t], lo[t], c[t], atr[t], pl[t], ps[t], genome, rules, cash)
        for tr in closed:
            cash += tr.pnl
            trades.append(tr)
        equity[t] = cash
    for tr in close_out(s, len(c) - 1, c[-1], rules):
        cash += tr.pnl
        trades.append(tr)
        equity[-1] = cash
    return trades, equity


FLAT = (100.0, 100.2, 99.8, 100.0)


def test_stop_hit() -> None:
    # signal at bar 0 (close 100) -> limit 99.5; bar 1 fills at 99.5; stop 98.5 hit on bar 2
    t = run([FLAT, (100, 100.1, 99.4, 99.8), (99.6, 99.7, 98.0, 98.4), FLAT], [0.9, 0, 0, 0])
    assert len(t) == 1 and t[0].reason == SL and t[0].entry_price == 99.5 and t[0].exit_price == 98.5
    assert t[0].qty == pytest.approx(100.0) and t[0].pnl == pytest.approx(-100.0)


def test_target_hit() -> None:
    t = run([FLAT, (100, 100.1, 99.4, 99.8), (99.8, 101.6, 99.6, 101.0), FLAT], [0.9, 0, 0, 0])
    assert t[0].reason == TP and t[0].exit_price == 101.5 and t[0].pnl == pytest.approx(200.0)


def test_stop_wins_when_both_are_touched_in_one_bar() -> None:
    t = run([FLAT, (100, 100.1, 99.4, 99.8), (99.8, 101.6, 98.4, 100.0), FLAT], [0.9, 0, 0, 0])
    assert t[0].reason == SL and t[0].exit_price == 98.5


def test_gap_through_the_stop_exits_at_the_open() -> None:
    t = run([FLAT, (100, 100.1, 99.4, 99.8), (97.0, 97.5, 96.5, 97.2), FLAT], [0.9, 0, 0, 0])
    assert t[0].reason == SL and t[0].exit_price == 97.0


def test_pullback_entry_expires_after_fill_wait() -> None:
    bars = [FLAT, (100, 100.3, 99.6, 100.1), (100.1, 100.4, 99.7, 100.2), (100.2, 100.3, 99.0, 99.5), FLAT]
    assert run(bars, [0.9, 0, 0, 0, 0]) == []  # the limit 99.5 was reachable only on bar 3, too late


def test_gap_below_the_limit_fills_at_the_open() -> None:
    t = run([FLAT, (99.0, 99.6, 98.9, 99.2), FLAT, FLAT], [0.9, 0, 0, 0])
    assert t[0].entry_price == 99.0 and t[0].reason == END


def test_max_hold_exit() -> None:
    g = Genome(**{**G.to_dict(), "max_hold": 2})
    t = run([FLAT, (100, 100.1, 99.4, 99.8), FLAT, (100, 100.2, 99.9, 100.1), FLAT], [0.9, 0, 0, 0, 0], genome=g)
    assert t[0].reason == TIME and t[0].exit_bar == 3 and t[0].exit_price == 100.1


def test_trailing_stop_follows_and_exits() -> None:
    g = Genome(**{**G.to_dict(), "tp": 10.0, "trail_act": 1.0, "trail_off": 0.5})
    bars = [FLAT, (100, 100.1, 99.4, 99.8), (99.8, 101.0, 99.7, 100.9), (100.9, 101.2, 100.4, 100.6), FLAT]
    t = run(bars, [0.9, 0, 0, 0, 0], genome=g)
    # best 101.0 >= 99.5 + 1.0 -> stop 100.5 from bar 3; bar 3's low 100.4 hits it
    assert t[0].reason == TRAIL and t[0].exit_price == pytest.approx(100.5) and t[0].exit_bar == 3


def test_vol_exit() -> None:
    g = Genome(**{**G.to_dict(), "vol_exit": 1.5})
    t = run([FLAT, (100, 100.1, 99.4, 99.8), (99.8, 100.9, 99.2, 100.0), FLAT], [0.9, 0, 0, 0], genome=g)
    assert t[0].reason == VOL and t[0].exit_price == 100.0


def test_abort_on_the_opposite_probability() -> None:
    g = Genome(**{**G.to_dict(), "abort": 0.7})
    t = run([FLAT, (100, 100.1, 99.4, 99.8), FLAT, FLAT], [0.9, 0, 0, 0], [0, 0, 0.8, 0], genome=g)
    assert t[0].reason == ABORT and t[0].exit_bar == 2


def test_short_only_where_allowed() -> None:
    bars = [FLAT, (100, 100.6, 99.9, 100.3), (100.3, 100.4, 98.4, 98.6), FLAT]
    t = run(bars, [0, 0, 0, 0], [0.9, 0, 0, 0])
    assert t[0].side == -1 and t[0].entry_price == 100.5 and t[0].reason == TP and t[0].exit_price == 98.5
    assert run(bars, [0, 0, 0, 0], [0.9, 0, 0, 0], rules=Rules(**{**NO_COST.__dict__, "allow_short": False})) == []


def test_fees_slippage_and_lot_rounding_are_exact() -> None:
    rules = Rules(risk_per_trade=0.01, fee_rate=0.001, slippage=0.001, tick=0.01, lot=0.1, max_notional=5_000.0)
    t = run([FLAT, (100, 100.1, 99.4, 99.8), (99.8, 101.6, 99.6, 101.0), FLAT], [0.9, 0, 0, 0], rules=rules)
    tr = t[0]
    # 10,000 * 1% / 1 ATR = 100 units, capped by 5,000 / 99.5 = 50.25 -> 50.2 after the 0.1 lot
    assert tr.qty == pytest.approx(50.2)
    assert tr.exit_price == pytest.approx(101.39)  # 101.5 * (1 - 0.001) = 101.3985 -> down to the tick
    fees = 99.5 * 50.2 * 0.001 + 101.39 * 50.2 * 0.001
    assert tr.fees == pytest.approx(fees)
    assert tr.pnl == pytest.approx((101.39 - 99.5) * 50.2 - fees)


def test_below_minimum_quantity_places_nothing() -> None:
    rules = Rules(risk_per_trade=0.01, fee_rate=0.0, slippage=0.0, lot=1.0, min_qty=500.0)
    assert run([FLAT, (100, 100.1, 99.4, 99.8), FLAT], [0.9, 0, 0], rules=rules) == []


def test_every_gene_has_an_effect() -> None:
    rng = np.random.default_rng(1)
    n = 1500
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.r_[c[0], c[:-1]]
    h, lo = np.maximum(o, c) * 1.004, np.minimum(o, c) * 0.996
    atr = np.full(n, 1.0) * c * 0.01
    pl, ps = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    base = Genome(
        sl=1.5,
        tp=3.0,
        conf=0.7,
        pullback=0.8,
        fill_wait=3,
        max_hold=20,
        trail_act=1.0,
        trail_off=0.5,
        vol_exit=3.0,
        abort=0.8,
    )
    ref, _ = run_reference(o, h, lo, c, atr, pl, ps, base, NO_COST, 10_000.0)
    changes = {
        "sl": 2.5,
        "tp": 2.0,
        "conf": 0.8,
        "pullback": 0.3,
        "fill_wait": 1,
        "max_hold": 5,
        "trail_act": 0.5,
        "trail_off": 1.0,
        "vol_exit": 0.8,
        "abort": 0.6,
    }
    for gene, value in changes.items():
        other, _ = run_reference(o, h, lo, c, atr, pl, ps, Genome(**{**base.to_dict(), gene: value}), NO_COST, 10_000.0)
        assert other != ref, f"changing {gene} changed nothing"


def test_genome_validation_names_the_gene() -> None:
    with pytest.raises(UserError, match="conf"):
        Genome(conf=1.5)
    with pytest.raises(UserError, match="fill_wait"):
        Genome(fill_wait=0)
    with pytest.raises(UserError, match="gene sl must be a finite number > 0, got inf"):
        Genome(sl=float("inf"))
    with pytest.raises(UserError, match="fill_wait must be a whole number"):  # never truncated to 2
        Genome.from_mapping({"fill_wait": 2.7})
    assert Genome.from_mapping({"fill_wait": 3.0}).fill_wait == 3


@st.composite
def market(draw):
    n = draw(st.integers(5, 120))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    o = np.r_[100.0, c[:-1]] * np.exp(rng.normal(0, 0.005, n))
    h = np.maximum(o, c) * (1 + np.abs(rng.normal(0, 0.01, n)))
    lo = np.minimum(o, c) * (1 - np.abs(rng.normal(0, 0.01, n)))
    atr = c * rng.uniform(0.005, 0.03, n)
    atr[rng.uniform(size=n) < 0.05] = np.nan
    pl, ps = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    genome = Genome(
        sl=draw(st.floats(0.5, 3.0)),
        tp=draw(st.floats(0.5, 6.0)),
        conf=draw(st.floats(0.3, 0.9)),
        pullback=draw(st.floats(0.0, 1.0)),
        fill_wait=draw(st.integers(1, 8)),
        max_hold=draw(st.integers(1, 40)),
        trail_act=draw(st.floats(0.0, 3.0)),
        trail_off=draw(st.floats(0.1, 2.0)),
        vol_exit=draw(st.floats(0.5, 8.0)),
        abort=draw(st.floats(0.3, 1.0)),
    )
    rules = Rules(
        risk_per_trade=draw(st.floats(0.001, 0.05)),
        max_notional=draw(st.sampled_from([math.inf, 2_000.0, 50_000.0])),
        allow_short=draw(st.booleans()),
        fee_rate=draw(st.sampled_from([0.0, 0.00075, 0.00025])),
        slippage=draw(st.sampled_from([0.0, 0.0005, 0.0008])),
        tick=draw(st.sampled_from([0.0, 0.01, 0.5])),
        lot=draw(st.sampled_from([0.0, 0.001, 1.0])),
        min_qty=draw(st.sampled_from([0.0, 0.01])),
        max_leverage=draw(st.sampled_from([1.0, 3.0, math.inf])),
    )
    return o, h, lo, c, atr, pl, ps, genome, rules


@settings(max_examples=150, deadline=None)
@given(market())
def test_kernel_step_and_reference_give_identical_trades(m) -> None:
    o, h, lo, c, atr, pl, ps, genome, rules = m
    trades, equity = run_reference(o, h, lo, c, atr, pl, ps, genome, rules, 10_000.0)
    stepped, stepped_equity = run_step(o, h, lo, c, atr, pl, ps, genome, rules, 10_000.0)
    assert stepped == trades
    np.testing.assert_array_equal(stepped_equity, equity)
    out, eq, st = np.zeros((256, N_TRADE_FIELDS)), np.zeros(len(c)), np.zeros(N_STATS)
    k = simulate_nb(o, h, lo, c, atr, pl, ps, np.array(genome.as_tuple()), _rules(rules), 10_000.0, out, eq, st)
    assert k == len(trades)
    r = np.array([t.pnl / (t.entry_price * t.qty) for t in trades])  # the statistics are the trades' own
    want = [len(r), r.sum(), (r < 0).sum(), r[r < 0].sum(), (r[r < 0] ** 2).sum()]
    np.testing.assert_allclose(st, want, rtol=1e-12, atol=1e-15)
    expected = np.array(
        [[t.side, t.entry_bar, t.exit_bar, t.entry_price, t.exit_price, t.qty, t.fees, t.pnl, t.reason] for t in trades]
    ).reshape(-1, N_TRADE_FIELDS)
    np.testing.assert_array_equal(out[:k], expected)
    np.testing.assert_array_equal(eq, equity)


def test_population_kernel_matches_single_runs() -> None:
    rng = np.random.default_rng(5)
    lens = [200, 150, 260]
    arrays = []
    for n in lens:
        c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        o = np.r_[c[0], c[:-1]]
        arrays.append(
            (
                o,
                np.maximum(o, c) * 1.005,
                np.minimum(o, c) * 0.995,
                c,
                c * 0.01,
                rng.uniform(0, 1, n),
                rng.uniform(0, 1, n),
            )
        )
    cat = [np.concatenate([a[i] for a in arrays]) for i in range(7)]
    offsets = np.r_[0, np.cumsum(lens)]
    genomes = np.array([Genome(conf=x, sl=1.0 + x).as_tuple() for x in (0.55, 0.65, 0.75)])
    rules = _rules(Rules())
    trades, counts, equity, stats = simulate_many_nb(*cat, offsets, genomes, rules, 1_000.0, 128)
    serial = simulate_serial_nb(*cat, offsets, genomes, rules, 1_000.0, 128)
    for got, want in zip(serial, (trades, counts, equity, stats), strict=True):
        np.testing.assert_array_equal(got, want)  # one thread or many: the same results
    lean = simulate_many_nb(*cat, offsets, genomes, rules, 1_000.0, 1)  # no room for trade records
    for got, want in zip(lean[1:], (counts, equity, stats), strict=True):
        np.testing.assert_array_equal(got, want)  # counts, equity and statistics do not need them
    for p in range(3):
        for s, (a, b) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
            out, eq, st = np.zeros((128, N_TRADE_FIELDS)), np.zeros(b - a), np.zeros(N_STATS)
            k = simulate_nb(*(x[a:b] for x in cat), genomes[p], rules, 1_000.0, out, eq, st)
            assert counts[p, s] == k
            np.testing.assert_array_equal(trades[p, s, :k], out[:k])
            np.testing.assert_array_equal(equity[p, a:b], eq)
            np.testing.assert_array_equal(stats[p, s], st)


def test_a_change_of_the_rules_drops_the_compiled_kernels() -> None:
    """numba's cache does not see the rules the kernels inline: a changed digest of them empties it."""
    from aitrade.backtest import kernel  # noqa: PLC0415

    kernels = (kernel.mark_to_market_nb,)  # a kernel no other test here needs compiled from its cache
    digest = kernel.rules_digest()
    kernel.fresh_cache(kernels, digest)
    assert not kernel.fresh_cache(kernels, digest)  # compiled from these rules: kept
    assert kernel.fresh_cache(kernels, "rules edited since")
    assert kernel.mark_to_market_nb._cache._cache_file._load_index() == {}
    assert kernel.fresh_cache(kernels, digest)  # and back
