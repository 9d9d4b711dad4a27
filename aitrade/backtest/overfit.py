"""Overfitting checks: the deflated Sharpe ratio and the probability of backtest overfitting (CSCV).

* DSR (Bailey & López de Prado, 2014): the probability that the true Sharpe
  ratio exceeds the best one expected from ``n_trials`` unskilled trials,
  given the sample's length, skewness and kurtosis. Sharpe ratios here are per
  observation (not annualised).
* PBO (Bailey, Borwein, López de Prado & Zhu, 2017), by combinatorially
  symmetric cross-validation: split the T x N matrix of trial returns into S
  blocks; for every half of the blocks as in-sample, take the in-sample best
  trial and find its rank out of sample; PBO is the share of splits where that
  rank falls below the median (logit <= 0).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def sharpe(returns: np.ndarray) -> float:
    """Per-observation Sharpe ratio (mean over sample standard deviation)."""
    r = np.asarray(returns, dtype=float)
    sd = r.std(ddof=1)
    return float(r.mean() / sd) if sd > 0 else 0.0


def effective_trials(returns: np.ndarray, n: int | None = None) -> float:
    """The number of independent trials that correlated ones amount to: the participation ratio of their
    correlation matrix, ``k**2 / sum(C**2)`` for ``k`` trials (the columns of the T x k matrix ``returns``),
    which is 1 for copies of one trial, ``k`` for independent ones and about the number of clusters for
    clusters of near copies.

    With ``n`` (the columns being a sample of ``n`` trials) the ``n - k`` trials not in the sample count
    with the sample's share of independent trials, ``(PR - 1) / (k - 1)``: erring toward more trials (a
    harder deflation), never fewer. Genomes a GA evaluates are mostly near copies of each other; counting
    each as a trial of its own deflates a Sharpe ratio for luck it never had the chance to have.
    """
    r = np.asarray(returns, dtype=float)
    r = r.reshape(-1, 1) if r.ndim == 1 else r
    r = r[:, r.std(axis=0) > 0]
    k = r.shape[1]
    total = k if n is None else max(int(n), k)
    if k < 2:
        return 1.0
    c = np.corrcoef(r, rowvar=False)
    pr = float(k * k / np.square(c).sum())
    return pr + (total - k) * (pr - 1.0) / (k - 1)


def expected_max_sharpe(sr_variance: float, n_trials: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` unskilled trials (the DSR benchmark SR0)."""
    if n_trials <= 1:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sr_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def probabilistic_sharpe(sr: float, sr_benchmark: float, n_obs: int, skew: float, kurtosis: float) -> float:
    """P(true SR > benchmark), with ``kurtosis`` the raw (non-excess) fourth moment ratio."""
    denom = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if n_obs < 2 or denom <= 0:
        return float("nan")
    return float(stats.norm.cdf((sr - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)))


def deflated_sharpe(
    sr: float, n_obs: int, skew: float, kurtosis: float, *, n_trials: float, sr_variance: float
) -> tuple[float, float]:
    """(DSR, SR0) for a per-observation Sharpe ``sr`` chosen out of ``n_trials`` trials."""
    sr0 = expected_max_sharpe(sr_variance, n_trials)
    return probabilistic_sharpe(sr, sr0, n_obs, skew, kurtosis), sr0


def deflated_sharpe_from_returns(
    returns: np.ndarray, trial_sharpes: np.ndarray, *, trial_length: int | None = None, n_trials: float | None = None
) -> dict[str, float]:
    """DSR of a return series against the best of ``len(trial_sharpes)`` trials, on the tested series' scale.

    Two benchmarks SR0, both for per-bar Sharpe ratios of a series as long as
    the tested one:

    * ``dsr`` (the headline): the expected maximum of N zero-skill trials,
      whose Sharpe estimates scatter with the null variance ``1 / (T - 1)``;
    * ``dsr_empirical`` (Bailey and Lopez de Prado's proxy): the trials'
      observed variance, rescaled from their length ``trial_length`` to ``T``.
      When every trial is skilled this dispersion is real, not noise, and the
      proxy deflates too much; both are reported.
    """
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    trials = np.asarray(trial_sharpes, dtype=float)
    trials = trials[np.isfinite(trials)]
    sr = sharpe(r)
    skew = float(stats.skew(r)) if len(r) > 2 else 0.0
    kurt = float(stats.kurtosis(r, fisher=False)) if len(r) > 3 else 3.0
    n_trials = max(1.0, float(len(trials) if n_trials is None else n_trials))  # the effective count, when given
    n_obs = len(r)
    null_var = 1.0 / (n_obs - 1) if n_obs > 1 else 0.0
    dsr, sr0 = deflated_sharpe(sr, n_obs, skew, kurt, n_trials=n_trials, sr_variance=null_var)
    emp_var = float(trials.var(ddof=1)) if len(trials) > 1 else 0.0
    if trial_length and n_obs > 1:
        emp_var *= trial_length / n_obs
    dsr_emp, sr0_emp = deflated_sharpe(sr, n_obs, skew, kurt, n_trials=n_trials, sr_variance=emp_var)
    # the per-observation Sharpe this length would need for a DSR of 0.95 (at this series' skew and kurtosis)
    spread = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    needed = sr0 + stats.norm.ppf(0.95) * math.sqrt(max(spread, 0.0) / (n_obs - 1)) if n_obs > 1 else math.nan
    return {
        "dsr": dsr,
        "sr": sr,
        "sr0": sr0,
        "dsr_empirical": dsr_emp,
        "sr0_empirical": sr0_emp,
        "n_trials": n_trials,
        "skew": skew,
        "kurtosis": kurt,
        "n_obs": n_obs,
        "sr_needed": needed,
    }


def dsr_verdict(dsr: float | None, n_trials: int) -> str:
    """The deflated Sharpe in words."""
    if dsr is None or not math.isfinite(dsr):
        return "no deflated Sharpe (too few observations)"
    if n_trials <= 1:
        return "one trial: this is a probabilistic Sharpe, not a deflated one"
    if dsr >= 0.95:
        return f"significant: beats the best of {n_trials} zero-skill trials at the 5% level"
    if dsr >= 0.5:
        return f"not significant: could be the luck of the best of {n_trials} trials"
    return f"indistinguishable from luck: below what the best of {n_trials} zero-skill trials would show"


def pbo_verdict(pbo: float | None) -> str:
    """The probability of backtest overfitting in words."""
    if pbo is None or not math.isfinite(pbo):
        return "no PBO (fewer than two distinct trading trials, or too few bars)"
    if pbo < 0.2:
        return "low overfitting risk: the in-sample best usually stays above the median out of sample"
    if pbo < 0.5:
        return "moderate overfitting risk"
    return "likely overfit: the in-sample best falls below the median out of sample at least half the time"


@dataclass(frozen=True)
class PBOResult:
    pbo: float
    logits: np.ndarray
    n_splits: int


def pbo_cscv(returns: np.ndarray, n_blocks: int = 16) -> PBOResult:
    """Probability of backtest overfitting of a T x N matrix of trial returns (N >= 2)."""
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("PBO needs a T x N matrix with at least two trials")
    if n_blocks % 2 or n_blocks < 2:
        raise ValueError("n_blocks must be even and at least 2")
    t = m.shape[0] - m.shape[0] % n_blocks
    if t < n_blocks * 2:
        raise ValueError(f"PBO needs at least {n_blocks * 2} observations, have {m.shape[0]}")
    blocks = np.split(m[:t], n_blocks)
    n = m.shape[1]
    logits = []
    for chosen in itertools.combinations(range(n_blocks), n_blocks // 2):
        rest = [b for b in range(n_blocks) if b not in chosen]
        is_ = np.vstack([blocks[b] for b in chosen])
        oos = np.vstack([blocks[b] for b in rest])
        best = int(np.argmax(_sharpes(is_)))
        oos_sr = _sharpes(oos)
        rank = stats.rankdata(oos_sr)[best]  # 1 = worst ... n = best
        omega = rank / (n + 1.0)
        logits.append(math.log(omega / (1.0 - omega)))
    arr = np.array(logits)
    return PBOResult(float(np.mean(arr <= 0)), arr, len(arr))


def _sharpes(m: np.ndarray) -> np.ndarray:
    sd = m.std(axis=0, ddof=1)
    return np.where(sd > 0, m.mean(axis=0) / np.where(sd > 0, sd, 1.0), 0.0)
