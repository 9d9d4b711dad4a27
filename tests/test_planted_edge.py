"""The yardstick: the default pipeline finds the planted edge and nothing on its noise control.

Out of sample, pooled over every fold and symbol (what a trader would see),
against a fit-free rule that knows the planted mechanism (the sign of the past
24-bar return) and against the class prior.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aitrade.config import load_settings
from aitrade.data import load_bars
from aitrade.data.planted import CROSS, EDGE, NOISE, cross_rule, hidden_drift, planted_bars
from aitrade.features import compute_features
from aitrade.labels import LabelConfig, triple_barrier
from aitrade.signals import SignalParams, generate_signals
from aitrade.signals.metrics import auc


def _momentum_auc(symbols: list[str], signals) -> tuple[float, float]:
    """The fit-free rule's AUC on exactly the rows the pipeline predicted."""
    ys, scores = [], []
    for sym in symbols:
        bars = load_bars(sym, "1h")[sym]
        y = triple_barrier(bars, compute_features(bars, "1h", ["atr"])["atr"], LabelConfig())
        r24 = np.log(bars["close"]).diff(24)
        ts = signals.loc[signals["symbol"] == sym, "ts"]
        yy, ss = y.reindex(ts).to_numpy(), r24.reindex(ts).to_numpy()
        ok = (yy >= 0) & np.isfinite(ss)
        ys.append(yy[ok])
        scores.append(ss[ok])
    y, s = np.concatenate(ys), np.concatenate(scores)
    return auc(s, y == 1), auc(-s, y == 2)


def test_the_generator_is_seeded_marked_and_plants_what_it_says() -> None:
    a, b = planted_bars("EDGE1USDT"), planted_bars("EDGE1USDT")
    assert a.equals(b) and a.attrs["synthetic"] and len(a) == 8760 and str(a.index.tz) == "UTC"
    assert not planted_bars("EDGE1USDT", seed=8).equals(a)
    drift = hidden_drift("EDGE1USDT")
    assert set(np.unique(drift)) == {-1, 0, 1} and (hidden_drift("NOISE1USDT") == 0).all()
    runs = np.diff(np.flatnonzero(np.diff(drift.to_numpy()) != 0))
    assert 50 < runs.mean() < 200  # the drift persists about 100 bars
    r = np.log(a["close"]).diff().shift(-1)
    assert r[drift == 1].mean() > 0 > r[drift == -1].mean()


@pytest.mark.slow
def test_the_default_pipeline_finds_the_planted_edge_and_nothing_in_noise(tmp_path: Path) -> None:
    found = {}
    for kind, symbols in (("edge", list(EDGE[:2])), ("noise", list(NOISE[:2]))):
        # the defaults on two local processes (results do not depend on jobs: tests/test_signals.py)
        run = generate_signals(
            load_settings(tmp_path / kind), SignalParams(jobs=2), symbols=symbols, interval="1h", progress=False
        )
        found[kind] = (run.summary, _momentum_auc(symbols, run.signals))
    edge, (rule_long, rule_short) = found["edge"]
    assert edge["pooled_auc_long"] > 0.63 and edge["pooled_auc_short"] > 0.63, edge
    assert edge["pooled_log_loss"] < edge["pooled_baseline_log_loss"] - 0.02, edge  # better than the class prior
    assert rule_long > 0.63 and rule_short > 0.63  # the edge is there to be found
    noise, (nl, ns) = found["noise"]
    for value in (noise["pooled_auc_long"], noise["pooled_auc_short"], nl, ns):
        assert abs(value - 0.5) < 0.03, noise  # nothing found where nothing is
    # the linear baseline on the same rows finds the linear edge too, and nothing in the noise; the verdict says
    # the default model adds nothing over it on a linear edge
    assert edge["linear_pooled_auc_long"] > 0.63 and edge["linear_pooled_auc_short"] > 0.63, edge
    assert abs(noise["linear_pooled_auc_long"] - 0.5) < 0.03 and abs(noise["linear_pooled_auc_short"] - 0.5) < 0.03
    assert "linear baseline" in edge["verdict"] and "linear baseline" in noise["verdict"]
    # calibrated by default: where there is nothing to find, no worse than the training prior's forecast
    assert noise["pooled_log_loss"] < noise["pooled_prior_log_loss"] + 0.003, noise
    assert noise["raw_pooled_log_loss"] > noise["pooled_prior_log_loss"] + 0.01, noise  # which the raw nets were not


def test_the_cross_generator_plants_an_edge_only_the_interaction_reveals() -> None:
    ys, rule, momentum, volume = [], [], [], []
    for sym in CROSS[:4]:
        bars = planted_bars(sym)
        assert bars.attrs["synthetic"] and bars.equals(planted_bars(sym))
        y = triple_barrier(bars, compute_features(bars, "1h", ["atr"])["atr"], LabelConfig()).to_numpy()
        f = compute_features(bars, "1h", ["ret_24", "volume_z"])
        r = cross_rule(bars).to_numpy()
        ok = (y >= 0) & np.isfinite(r) & np.isfinite(f["volume_z"].to_numpy())
        ys.append(y[ok])
        rule.append(r[ok])
        momentum.append(f["ret_24"].to_numpy()[ok])
        volume.append(f["volume_z"].to_numpy()[ok])
    y, r, m, v = (np.concatenate(a) for a in (ys, rule, momentum, volume))
    assert auc(r, y == 1) > 0.66 and auc(-r, y == 2) > 0.66  # the product of the two features ranks the labels
    for alone in (auc(m, y == 1), auc(-m, y == 2), auc(v, y == 1), auc(v, y == 2)):
        assert abs(alone - 0.5) < 0.06  # either feature alone says little
    drift = hidden_drift(CROSS[0]).to_numpy()
    rule_0 = (
        cross_rule(planted_bars(CROSS[0])).shift(1).to_numpy()
    )  # the drift of a bar is the rule at the close before
    known = np.isfinite(rule_0) & (np.arange(len(drift)) > 60)
    assert (drift[known] == rule_0[known]).mean() > 0.99


@pytest.mark.slow
def test_the_default_pipeline_finds_an_interaction_the_linear_baseline_cannot(tmp_path: Path) -> None:
    run = generate_signals(
        load_settings(tmp_path), SignalParams(jobs=2), symbols=list(CROSS[:2]), interval="1h", progress=False
    )
    s = run.summary
    assert s["pooled_auc_long"] >= 0.62 and s["pooled_auc_short"] >= 0.62, s
    assert s["pooled_log_loss"] < s["pooled_baseline_log_loss"] - 0.01, s  # better than the class prior
    assert abs(s["linear_pooled_auc_long"] - 0.5) < 0.03 and abs(s["linear_pooled_auc_short"] - 0.5) < 0.03, s
    assert "beats the linear baseline" in s["verdict"], s["verdict"]
    chosen = [r["capacity"] for r in run.meta["fold_metrics"] if r.get("capacity")]
    assert chosen.count("light") + chosen.count("middle") > len(chosen) / 2, chosen  # the inner hold-outs saw it
