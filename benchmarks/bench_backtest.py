"""Rules kernel vs vectorbt's from_signals and vs the plain-Python reference; optimiser throughput; GA wall time."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pandas as pd

from aitrade.backtest.engine import BacktestConfig, Panel, run_backtest, simulate
from aitrade.backtest.kernel import N_STATS, N_TRADE_FIELDS, rules_array, simulate_nb, simulate_serial_nb
from aitrade.backtest.reference import run_reference
from aitrade.optimize.ga import OptimizerConfig, evolve
from aitrade.optimize.wfo import _evaluator
from aitrade.strategy import Genome, Rules

N_SYMBOLS, N_BARS = 20, 10_000


def market(seed: int, n: int = N_BARS) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    o = np.r_[c[0], c[:-1]]
    return {
        "open": o,
        "high": np.maximum(o, c) * 1.004,
        "low": np.minimum(o, c) * 0.996,
        "close": c,
        "atr": c * 0.01,
        "p_long": rng.uniform(0, 1, n),
        "p_short": rng.uniform(0, 1, n),
    }


def panel() -> Panel:
    data = [market(s, N_BARS) for s in range(N_SYMBOLS)]
    idx = pd.date_range("2020-01-01", periods=N_BARS, freq="1h", tz="UTC")
    arrays = {k: np.concatenate([d[k] for d in data]) for k in data[0]}
    return Panel(
        [f"S{i:02d}USDT" for i in range(N_SYMBOLS)],
        [idx] * N_SYMBOLS,
        np.arange(N_SYMBOLS + 1, dtype=np.int64) * N_BARS,
        arrays,
    )


def best_of(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> dict[str, float]:
    import vectorbt as vbt  # noqa: PLC0415

    out: dict[str, float] = {}
    p = panel()
    simple = Genome(
        sl=2.0,
        tp=3.0,
        conf=0.9,
        pullback=0.0,
        fill_wait=1,
        max_hold=10_000,
        trail_act=1e6,
        trail_off=1.0,
        vol_exit=1e6,
        abort=1.0,
    )
    config = BacktestConfig(capital=1e6, allow_short=False)
    g = np.array([simple.as_tuple()])
    simulate(p, g, config)  # compile
    ours = best_of(lambda: simulate(p, g, config))
    close = pd.DataFrame(p.arrays["close"].reshape(N_SYMBOLS, N_BARS).T)
    entries = pd.DataFrame(p.arrays["p_long"].reshape(N_SYMBOLS, N_BARS).T > 0.9)
    sl = pd.DataFrame((2.0 * p.arrays["atr"] / p.arrays["close"]).reshape(N_SYMBOLS, N_BARS).T)
    tp = pd.DataFrame((3.0 * p.arrays["atr"] / p.arrays["close"]).reshape(N_SYMBOLS, N_BARS).T)

    def vbt_run() -> None:
        vbt.Portfolio.from_signals(
            close,
            entries,
            False,
            sl_stop=sl,
            tp_stop=tp,
            fees=0.00075,
            slippage=0.0005,
            init_cash=1e6 / N_SYMBOLS,
            size=0.1,
            size_type="percent",
        )

    vbt_run()  # compile
    peer = best_of(vbt_run)
    out["kernel_vs_vectorbt"] = ours / peer
    print(
        f"rules kernel vs vectorbt from_signals ({N_SYMBOLS} x {N_BARS} bars, entries + ATR stop/target): "
        f"{ours * 1e3:.1f} ms vs {peer * 1e3:.1f} ms -> {ours / peer:.2f}x vectorbt's time"
    )

    run_backtest(p, simple, config)  # what `aitrade backtest` runs: the kernel, mark to market, the trade table
    user = best_of(lambda: run_backtest(p, simple, config))
    out["backtest_vs_vectorbt"] = user / peer
    print(
        f"the user's backtest (kernel, mark to market, trade table) vs from_signals: "
        f"{user * 1e3:.0f} ms vs {peer * 1e3:.1f} ms -> {user / peer:.2f}x vectorbt's time"
    )
    result = run_backtest(p, simple, config)
    same = best_of(result.account)  # vectorbt's own run over the same orders: the same trades and equity out
    out["backtest_vs_vectorbt_same_output"] = user / same
    print(
        f"the user's backtest vs vectorbt producing the same outputs (Portfolio.from_orders over the same orders; "
        f"its trades and value equal ours, tested): {user * 1e3:.0f} ms vs {same * 1e3:.0f} ms -> "
        f"{user / same:.2f}x (goal <= 1.5x)"
    )
    with_pf = best_of(lambda: run_backtest(p, simple, config).portfolio)
    out["backtest_with_portfolio_vs_vectorbt"] = with_pf / peer
    print(
        f"  with vectorbt's portfolio of the same orders built too (notebook 30's trade records): "
        f"{with_pf * 1e3:.0f} ms -> {with_pf / peer:.2f}x"
    )

    one = {k: v[:N_BARS] for k, v in p.arrays.items()}
    rules = Rules()
    buf, eq, st = np.zeros((5000, N_TRADE_FIELDS)), np.zeros(N_BARS), np.zeros(N_STATS)
    gen = Genome()
    args = (one["open"], one["high"], one["low"], one["close"], one["atr"], one["p_long"], one["p_short"])
    kernel = best_of(lambda: simulate_nb(*args, np.array(gen.as_tuple()), rules_array(rules), 1000.0, buf, eq, st))
    ref = best_of(lambda: run_reference(*args, gen, rules, 1000.0), repeat=1)
    out["kernel_vs_reference_speedup"] = ref / kernel
    print(
        f"rules kernel vs plain-Python reference (1 x {N_BARS} bars): {kernel * 1e3:.2f} ms vs {ref * 1e3:.0f} ms "
        f"-> {ref / kernel:.0f}x faster"
    )

    cfg = OptimizerConfig.from_yaml("params/optimizer_crypto.yaml")
    pop = cfg.ranges.sample(np.random.default_rng(0), cfg.population)
    evaluate, _, _, _ = _evaluator(p, BacktestConfig(), "sniper")
    evaluate(pop)
    t = best_of(lambda: evaluate(pop))
    rate = cfg.population * N_SYMBOLS * N_BARS / t
    out["individual_bars_per_s"] = rate
    print(
        f"optimiser throughput: {cfg.population} individuals x {N_SYMBOLS * N_BARS:,} bars in {t:.2f} s "
        f"-> {rate / 1e6:.1f} M individual-bars/s"
    )
    t0 = time.perf_counter()
    res = evolve(evaluate, cfg.ranges, cfg, seed=7)
    wall = time.perf_counter() - t0
    out["ga_60x30_wall_s"] = wall
    print(
        f"default GA ({cfg.population} x {cfg.generations}, {res.evaluations} evaluations) over "
        f"{N_SYMBOLS} assets x {N_BARS} bars: {wall:.1f} s wall on this machine"
    )
    # the floor: the rules kernel alone, on one thread, over the same number of (genome, symbol) runs
    a = p.arrays
    rules = rules_array(BacktestConfig().rules(p.symbols[0]))
    args = (a["open"], a["high"], a["low"], a["close"], a["atr"], a["p_long"], a["p_short"], p.offsets)
    one_pass = best_of(lambda: simulate_serial_nb(*args, pop, rules, 50.0, 1))
    floor = one_pass * res.evaluations / len(pop)
    out["ga_vs_serial_kernel_floor"] = wall / floor
    print(
        f"  the serial kernel floor for {res.evaluations} evaluations: {floor:.1f} s -> the GA takes "
        f"{wall / floor:.2f}x of it (goal <= 3x; the GA runs the kernel on every core)"
    )
    rss = {n: _evaluation_peak_mb(n) for n in (N_BARS, 4 * N_BARS)}
    out["evaluation_peak_mb_10k"], out["evaluation_peak_mb_40k"] = rss[N_BARS], rss[4 * N_BARS]
    print(
        f"  peak memory of a process evaluating one population, {N_SYMBOLS} x {N_BARS:,} vs x {4 * N_BARS:,} bars: "
        f"{rss[N_BARS]:.0f} vs {rss[4 * N_BARS]:.0f} MB (bars grow 4x; trades kept: none, only their statistics)"
    )
    return out


def _evaluation_peak_mb(bars: int) -> float:
    """Peak RSS (MB) of a fresh process that builds a panel of ``bars`` per symbol and evaluates one population."""
    code = (
        "import resource, numpy as np\n"
        "from benchmarks import bench_backtest as b\n"
        f"b.N_BARS = {bars}\n"
        "from aitrade.backtest.engine import BacktestConfig\n"
        "from aitrade.optimize.ga import OptimizerConfig\n"
        "from aitrade.optimize.wfo import _evaluator\n"
        "cfg = OptimizerConfig.from_yaml('params/optimizer_crypto.yaml')\n"
        "evaluate = _evaluator(b.panel(), BacktestConfig(), 'sniper')[0]\n"
        "evaluate(cfg.ranges.sample(np.random.default_rng(0), cfg.population))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
