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
from aitrade.data.planted import EDGE, NOISE, hidden_drift, planted_bars
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
        run = generate_signals(load_settings(tmp_path / kind), SignalParams(jobs=2), symbols=symbols, interval="1h",
                               progress=False)  # fmt: skip
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
