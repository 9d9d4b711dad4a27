"""Genetic optimiser and walk-forward optimisation: reproducible, bounded, with complete outputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aitrade.backtest.engine import BacktestConfig, Panel
from aitrade.backtest.params import load_genome
from aitrade.cli import main
from aitrade.errors import UserError
from aitrade.notebooks import REPO
from aitrade.optimize.ga import GENES, OptimizerConfig, SearchSpace, evolve
from aitrade.optimize.wfo import walk_forward_optimize
from aitrade.signals import load_signals
from tests.test_backtest import make_signals

DEMO = REPO / "params" / "optimizer_demo.yaml"


@pytest.fixture(scope="module")
def signals_dir(tmp_path_factory) -> Path:
    return make_signals(tmp_path_factory.mktemp("sig"), n=2200)


def small(cfg: OptimizerConfig, **kw) -> OptimizerConfig:
    return dataclasses.replace(cfg, population=10, generations=3, survivors=4, train_window=700, test_window=350, **kw)


def test_ga_is_seeded_bounded_and_improves() -> None:
    space = OptimizerConfig.from_yaml(REPO / "params" / "optimizer_crypto.yaml").ranges
    target = (space.low + space.high) / 2

    def fitness(pop: np.ndarray) -> np.ndarray:
        return -(((pop - target) / (space.high - space.low)) ** 2).sum(axis=1)

    cfg = OptimizerConfig("t", space, population=30, generations=15, survivors=8)
    a, b, c = evolve(fitness, space, cfg, 1), evolve(fitness, space, cfg, 1), evolve(fitness, space, cfg, 2)
    np.testing.assert_array_equal(a.best, b.best)
    assert not np.array_equal(a.best, c.best)
    assert a.history[-1]["best"] >= a.history[0]["best"]
    assert (a.population >= space.low).all() and (a.population <= space.high).all()
    assert a.evaluations == 30 + 14 * 22
    for i, g in enumerate(GENES):
        if g in ("fill_wait", "max_hold"):
            assert (a.population[:, i] == np.round(a.population[:, i])).all()


def test_profiles_carry_the_original_ranges() -> None:
    crypto = OptimizerConfig.from_yaml(REPO / "params" / "optimizer_crypto.yaml")
    stocks = OptimizerConfig.from_yaml(REPO / "params" / "optimizer_stocks.yaml")
    both = OptimizerConfig.from_yaml(REPO / "params" / "optimizer_both.yaml")
    assert crypto.ranges.ranges["sl"] == (1.5, 2.5) and crypto.ranges.ranges["tp"] == (3.0, 6.0)
    assert crypto.ranges.ranges["conf"] == (0.65, 0.85)
    assert stocks.ranges.ranges["sl"] == (1.0, 2.0) and stocks.ranges.ranges["tp"] == (1.5, 4.0)
    assert stocks.ranges.ranges["conf"] == (0.55, 0.8)
    assert both.ranges == crypto.ranges
    assert (crypto.population, crypto.generations, crypto.survivors) == (60, 30, 15)


def test_bad_optimiser_settings(tmp_path: Path) -> None:
    bad = tmp_path / "o.yaml"
    bad.write_text("ranges: {sl: [1, 2]}\npopulatoin: 5\n")
    with pytest.raises(UserError, match="unknown key.*populatoin"):
        OptimizerConfig.from_yaml(bad)
    with pytest.raises(UserError, match="no range for gene tp"):
        SearchSpace({"sl": (1.0, 2.0)})
    ranges = dict(OptimizerConfig.from_yaml(DEMO).ranges.ranges)
    ranges["conf"] = (0.5, 1.4)
    with pytest.raises(UserError, match="gene conf must be a finite number >= 0 and <= 1, got 1.4"):
        SearchSpace(ranges)
    bad.write_text("ranges: {sl: [one, 2]}\n")
    with pytest.raises(UserError, match="low of sl must be a finite number, got 'one'"):
        OptimizerConfig.from_yaml(bad)
    bad.write_text("ranges: {sl: [1, 2\n")
    with pytest.raises(UserError, match="not valid YAML: .* at line 2") as err:
        OptimizerConfig.from_yaml(bad)
    assert "\n" not in str(err.value)


def test_walk_forward_optimisation_is_reproducible(signals_dir: Path) -> None:
    panel = Panel.from_signals(load_signals(signals_dir))
    cfg = small(OptimizerConfig.from_yaml(DEMO))
    a = walk_forward_optimize(panel, cfg, BacktestConfig(), seed=3, progress=False)
    b = walk_forward_optimize(panel, cfg, BacktestConfig(), seed=3, progress=False)
    pd.testing.assert_frame_equal(a.report(), b.report())
    pd.testing.assert_series_equal(a.stitched, b.stitched)
    assert len(a.windows) >= 3
    for w in a.windows:  # each out-of-sample window starts where its training ends
        assert w.train[1] == w.test[0]
    assert a.stitched.index.is_monotonic_increasing


@pytest.mark.parametrize("fitness", ["sharpe", "sortino", "calmar", "sniper"])
def test_every_fitness_runs(signals_dir: Path, fitness: str) -> None:
    panel = Panel.from_signals(load_signals(signals_dir))
    cfg = small(OptimizerConfig.from_yaml(DEMO), fitness=fitness)
    r = walk_forward_optimize(panel, dataclasses.replace(cfg, generations=1), BacktestConfig(), seed=1, progress=False)
    assert np.isfinite([w.ga.best_fitness for w in r.windows]).all()


def test_cli_optimize_validate_and_backtest_the_winner(signals_dir: Path, tmp_path: Path, capsys) -> None:
    home, run = str(tmp_path), tmp_path / "opt"
    code = main(
        [
            "--home",
            home,
            "optimize",
            "--signals",
            str(signals_dir),
            "--settings",
            str(DEMO),
            "--population",
            "8",
            "--generations",
            "2",
            "--survivors",
            "3",
            "--train_window",
            "700",
            "--test-window",
            "350",
            "--out",
            str(run),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "effective trials" in out and "the first optimisation on this data in this home" in out
    report = pd.read_csv(run / "wfo_report.csv")
    assert {"window", "is_fitness", "oos_total_return", "oos_sharpe", *GENES} <= set(report.columns)
    best = json.loads((run / "best_strategy_params.json").read_text())
    assert best["provenance"]["seed"] == 7 and best["provenance"]["signals"] == str(signals_dir)
    assert best["sl"] == report.iloc[-1]["sl"]  # the last window's genome, not one picked by its test score
    for name in ("oos_equity.png", "parameter_stability.png", "metrics.json"):
        assert (run / name).is_file()
    assert load_genome(run / "best_strategy_params.json").sl == best["sl"]
    assert main(["--home", home, "validate", "--run", str(run)]) == 0
    v = json.loads((run / "validation" / "metrics.json").read_text())
    assert {"stitched_out_of_sample", "per_trade", "overfitting", "monthly_returns"} <= set(v)
    assert (run / "validation" / "monthly_returns.png").is_file()
    assert (
        main(
            [
                "--home",
                home,
                "backtest",
                "--signals",
                str(signals_dir),
                "--params",
                str(run / "best_strategy_params.json"),
                "--out",
                str(tmp_path / "bt"),
            ]
        )
        == 0
    )
    assert (
        main(["--home", home, "optimize", "--signals", str(signals_dir), "--fitness", "luck", "--settings", str(DEMO)])
        == 2
    )
    # a second search of the same data (another seed) is judged against every trial spent on it so far
    capsys.readouterr()
    assert (
        main(
            [
                "--home",
                home,
                "optimize",
                "--signals",
                str(signals_dir),
                "--settings",
                str(DEMO),
                "--population",
                "8",
                "--generations",
                "2",
                "--survivors",
                "3",
                "--train_window",
                "700",
                "--test-window",
                "350",
                "--seed",
                "8",
                "--out",
                str(tmp_path / "opt2"),
            ]
        )
        == 0
    )
    assert "1 earlier optimisation(s) on the same data" in capsys.readouterr().out
    again = json.loads((tmp_path / "opt2" / "metrics.json").read_text())
    first = json.loads((run / "metrics.json").read_text())
    assert again["trials_before"]["runs"] == 1
    assert again["trials_before"]["effective"] == pytest.approx(first["dsr_trials_effective"])
    assert again["deflated_sharpe_all_trials"] <= again["deflated_sharpe"]  # more trials deflate more
    before = json.loads((tmp_path / "opt2" / "best_strategy_params.json").read_text())["provenance"]["trials_before"]
    assert before["choices"][0]["seed"] == 7 and before["choices"][0]["run"] == str(run)


def _rule_signals(folder: Path, symbols: tuple[str, ...]) -> Path:
    """A fit-free, leak-free signal: probabilities from the sign and size of the past 24-bar return."""
    from aitrade.data import load_bars  # noqa: PLC0415
    from aitrade.features import compute_features  # noqa: PLC0415
    from aitrade.signals.artifact import write_signals  # noqa: PLC0415

    frames = []
    for sym in symbols:
        bars = load_bars(sym, "1h")[sym].iloc[:4000]
        atr = compute_features(bars, "1h", ["atr"])["atr"]
        z = np.log(bars["close"]).diff(24) / (atr / bars["close"] * np.sqrt(24))
        ok = atr.notna() & z.notna()
        b, a, zz = bars[ok], atr[ok], np.tanh(z[ok].to_numpy() / 2)
        pl, ps = 0.3 + 0.35 * np.clip(zz, 0, None), 0.3 + 0.35 * np.clip(-zz, 0, None)
        frames.append(
            pd.DataFrame(
                {
                    "symbol": sym,
                    "ts": b.index,
                    "p_long": pl,
                    "p_short": ps,
                    "regime": 0,
                    **{c: b[c].to_numpy() for c in ("open", "high", "low", "close")},
                    "atr": a.to_numpy(),
                    "fold": 0,
                }
            )
        )
    write_signals(folder, pd.concat(frames), {"mode": "test", "synthetic": list(symbols)})
    return folder


@pytest.mark.slow
def test_deflated_sharpe_and_pbo_tell_a_planted_edge_from_noise(tmp_path: Path) -> None:
    cfg = dataclasses.replace(
        OptimizerConfig.from_yaml(DEMO), population=16, generations=4, survivors=5, train_window=1200, test_window=600
    )
    out = {}
    for kind, symbols in (("edge", ("EDGE1USDT", "EDGE2USDT")), ("noise", ("NOISE1USDT", "NOISE2USDT"))):
        panel = Panel.from_signals(load_signals(_rule_signals(tmp_path / kind, symbols)))
        out[kind] = walk_forward_optimize(panel, cfg, BacktestConfig(capital=10_000.0), seed=5, progress=False).metrics
    edge, noise = out["edge"], out["noise"]
    assert edge["dsr_trials_raw"] == edge["ga_evaluations"]  # every evaluation is reported beside the N used
    assert 1 <= edge["dsr_trials"] < edge["dsr_trials_raw"]  # a GA's genomes are near copies: fewer independent
    assert edge["deflated_sharpe"] > 0.9 and noise["deflated_sharpe"] < 0.5, (edge, noise)
    assert edge["pbo_mean"] < noise["pbo_mean"], (edge, noise)


def test_sniper_cannot_be_won_by_never_losing() -> None:
    from aitrade.backtest.kernel import STAT_FIELDS  # noqa: PLC0415
    from aitrade.optimize.fitness import sniper_fitness  # noqa: PLC0415

    def stats(returns: np.ndarray) -> np.ndarray:
        loss = returns[returns < 0]
        row = {
            "trades": len(returns),
            "ret_sum": returns.sum(),
            "losses": len(loss),
            "loss_sum": loss.sum(),
            "loss_sq": (loss**2).sum(),
        }
        return np.array([row[f] for f in STAT_FIELDS])

    lucky = np.full(15, 0.01)  # 15 trades of +1%, none lost
    record = np.tile([0.02, -0.005], 20)  # a long record with losses and a higher mean
    score = sniper_fitness(np.stack([stats(lucky), stats(record)])[:, None, :], min_trades=10)
    assert score[0] == pytest.approx(10.0)  # mean 1% over the 0.1% risk floor; the original scored 21,351
    assert 1.0 < score[1] < 10.0
    # the original formula on the trade returns themselves (numpy's population stdev of the losses)
    losses = record[record < 0]
    want = record.mean() / max(losses.std(), np.sqrt(np.mean(np.minimum(record, 0) ** 2)), 1e-3)
    assert score[1] == pytest.approx(want, rel=1e-9)
    few = sniper_fitness(stats(lucky[:5])[None, None, :], min_trades=10)
    losing = sniper_fitness(stats(-record)[None, None, :], min_trades=10)
    assert few[0] == -20.0 and losing[0] == -10.0
