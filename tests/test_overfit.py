"""DSR against the paper's worked example; PBO against a brute-force computation and known cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from aitrade.backtest.overfit import (
    deflated_sharpe,
    deflated_sharpe_from_returns,
    effective_trials,
    expected_max_sharpe,
    pbo_cscv,
)


def test_dsr_reproduces_the_papers_numerical_example() -> None:
    """Bailey & López de Prado (2014): annual SR 2.5 over 5 years of daily data (T=1250), skew -3,
    kurtosis 10, N=100 trials with annualised SR variance 0.5 -> SR0 ~ 0.1132 daily, DSR ~ 0.90."""
    sr = 2.5 / math.sqrt(250)
    dsr, sr0 = deflated_sharpe(sr, 1250, -3.0, 10.0, n_trials=100, sr_variance=0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-4)
    assert dsr == pytest.approx(0.9004, abs=2e-3)


def test_more_trials_deflate_more() -> None:
    assert expected_max_sharpe(0.01, 1000) > expected_max_sharpe(0.01, 10) > expected_max_sharpe(0.01, 1) == 0


def test_dsr_from_returns_is_the_psr_when_only_one_trial() -> None:
    rng = np.random.default_rng(0)
    r = rng.normal(0.001, 0.01, 2000)
    out = deflated_sharpe_from_returns(r, np.array([0.1]))
    sr = r.mean() / r.std(ddof=1)
    z = (
        sr
        * math.sqrt(len(r) - 1)
        / math.sqrt(1 - stats.skew(r) * sr + (stats.kurtosis(r, fisher=False) - 1) / 4 * sr**2)
    )
    assert out["dsr"] == pytest.approx(stats.norm.cdf(z)) and out["sr0"] == 0


def _pbo_brute(m: np.ndarray, s: int) -> float:
    t = m.shape[0] - m.shape[0] % s
    blocks = np.split(m[:t], s)
    lam = []
    for chosen in itertools.combinations(range(s), s // 2):
        is_ = np.concatenate([blocks[i] for i in chosen])
        oos = np.concatenate([blocks[i] for i in range(s) if i not in chosen])
        sr_is = [is_[:, j].mean() / is_[:, j].std(ddof=1) for j in range(m.shape[1])]
        sr_oos = [oos[:, j].mean() / oos[:, j].std(ddof=1) for j in range(m.shape[1])]
        best = int(np.argmax(sr_is))
        better = sum(1 for x in sr_oos if x < sr_oos[best]) + 1
        w = better / (m.shape[1] + 1)
        lam.append(math.log(w / (1 - w)))
    return float(np.mean(np.array(lam) <= 0))


def test_pbo_matches_a_brute_force_computation() -> None:
    rng = np.random.default_rng(3)
    m = rng.normal(0, 0.01, (480, 12))
    assert pbo_cscv(m, 8).pbo == pytest.approx(_pbo_brute(m, 8))


def test_pbo_of_noise_is_near_half_and_of_a_real_edge_near_zero() -> None:
    values = []
    for seed in range(6):  # one noise matrix is a single, highly correlated draw; average a few
        noise = np.random.default_rng(seed).normal(0, 0.01, (1600, 30))
        values.append(pbo_cscv(noise, 10).pbo)
        edge = noise.copy()
        edge[:, 0] += 0.004
        assert pbo_cscv(edge, 10).pbo < 0.05
    assert 0.3 < np.mean(values) < 0.7


def test_pbo_input_errors() -> None:
    with pytest.raises(ValueError, match="two trials"):
        pbo_cscv(np.zeros((100, 1)))
    with pytest.raises(ValueError, match="even"):
        pbo_cscv(np.zeros((100, 3)), 5)


def test_effective_trials_count_correlated_trials_once() -> None:
    """Copies are one trial, independent series are as many as they are, one common factor is about one trial
    and clusters of near copies about as many as the clusters; a sample speaks for the rest."""
    rng = np.random.default_rng(11)
    base = rng.normal(size=(2_000, 1))
    copies = np.repeat(base, 50, axis=1) * rng.uniform(0.5, 2.0, size=50)  # the same returns, scaled
    assert effective_trials(copies) == pytest.approx(1.0, abs=1e-6)
    independent = rng.normal(size=(2_000, 50))
    assert effective_trials(independent) == pytest.approx(50, rel=0.05)
    assert effective_trials(independent[:, :20], n=500) == pytest.approx(500, rel=0.05)
    clusters = np.repeat(rng.normal(size=(2_000, 5)), 10, axis=1) + 0.1 * rng.normal(size=(2_000, 50))
    assert 4.5 < effective_trials(clusters) < 6.0  # 50 genomes, 5 different bets
    common = 0.7 * base + 0.3 * rng.normal(size=(2_000, 50))  # correlation about 0.84 between any two
    assert 1.0 < effective_trials(common) < 2.0
    assert effective_trials(common) < effective_trials(common[:, :20], n=500) < 20  # extrapolated, never fewer
    assert effective_trials(np.zeros((100, 5))) == 1.0  # nothing moved: one (flat) trial
    # the DSR with the effective count deflates less than with every raw trial
    r = rng.normal(0.05, 1.0, size=1_000)
    trials = rng.normal(0.0, 0.03, size=400)
    raw = deflated_sharpe_from_returns(r, trials)
    few = deflated_sharpe_from_returns(r, trials, n_trials=effective_trials(clusters))
    assert few["n_trials"] < raw["n_trials"] == 400 and few["dsr"] > raw["dsr"]
