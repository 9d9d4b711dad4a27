"""Signal generation: no look-ahead through the whole pipeline, folds, cache, artifact, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aitrade.cli import main
from aitrade.config import load_settings
from aitrade.data import load_bars
from aitrade.errors import DataError, UserError
from aitrade.models import ModelConfig
from aitrade.signals import SignalParams, generate_signals, load_signals
from aitrade.signals.artifact import write_signals
from tests import PROMOTE_ANYWAY

SMALL = dict(
    train_window=300,
    trade_window=150,
    embargo=6,
    model=ModelConfig(epochs=4, hidden=(16,), device="cpu"),
    features=("all",),
)  # every feature group: the look-ahead tests cover them all


def write_csv(folder: Path, bars: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for sym, df in bars.items():
        out = df.reset_index()
        out["ts"] = out["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.to_csv(folder / f"{sym}.csv", index=False, float_format="%.10g")
    return folder


@pytest.fixture(scope="module")
def crypto_bars() -> dict[str, pd.DataFrame]:
    bars = load_bars(["BTCUSDT", "ETHUSDT"], "4h", "2022-01-01", "2022-10-01")
    return bars


def perturbed(bars: dict[str, pd.DataFrame], t: pd.Timestamp) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(99)
    out = {}
    for sym, original in bars.items():
        df = original.copy()
        after = df.index > t
        shock = np.exp(rng.normal(0, 0.05, after.sum()))
        for col in ("open", "high", "low", "close"):
            df.loc[after, col] = df.loc[after, col] * shock
        df.loc[after, "volume"] *= 3.0
        out[sym] = df
    return out


@pytest.mark.parametrize(("mode", "cross"), [("walk", False), ("universal", True)])
def test_whole_pipeline_has_no_look_ahead(tmp_path: Path, crypto_bars, mode: str, cross: bool) -> None:
    """Perturb every bar after T and regenerate: every signal at or before T is unchanged."""
    t = crypto_bars["BTCUSDT"].index[1400]
    runs = []
    for name, bars in (("orig", crypto_bars), ("pert", perturbed(crypto_bars, t))):
        folder = write_csv(tmp_path / name / "csv", bars)
        settings = load_settings(tmp_path / name)
        params = SignalParams(mode=mode, cross_asset_wf=cross, **SMALL)
        runs.append(
            generate_signals(
                settings,
                params,
                source="csv",
                path=str(folder),
                interval="4h",
                symbols=["BTCUSDT", "ETHUSDT"],
                progress=False,
            )
        )
    a, b = (r.signals.set_index(["symbol", "ts"]).sort_index() for r in runs)
    before_a = a[a.index.get_level_values("ts") <= t]
    before_b = b[b.index.get_level_values("ts") <= t]
    assert len(before_a) > 300
    pd.testing.assert_frame_equal(before_a, before_b)
    after = a.index.get_level_values("ts") > t
    assert not np.allclose(a[after]["p_long"], b.loc[a[after].index]["p_long"])  # the perturbation does matter


def test_signals_are_out_of_sample_and_aligned_by_time(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    r = generate_signals(
        settings,
        SignalParams(**SMALL),
        symbols=["BTCUSDT", "SBER"],
        interval="1h",
        start="2022-01-01",
        end="2022-06-01",
        progress=False,
    )
    meta = r.meta
    assert meta["leader"]["used"] is False and "MOEX" in meta["leader"]["reason"]
    assert not any(f.startswith("leader_") for f in meta["features"])
    folds = meta["folds"]
    for fold in folds:
        assert fold["train_end"] < fold["trade_start"]
    first_trade = pd.Timestamp(folds[0]["trade_start"])
    assert (r.signals["ts"] >= first_trade).all()
    for sym in ("BTCUSDT", "SBER"):
        rows = r.signals[r.signals["symbol"] == sym]
        assert rows["ts"].is_monotonic_increasing and rows["ts"].is_unique
    # every row lies inside its fold's trade window, whatever the asset's calendar
    bounds = {
        f["index"]: (pd.Timestamp(f["trade_start"]), pd.Timestamp(f["trade_end"] or "2100-01-01T00:00Z")) for f in folds
    }
    lo = r.signals["fold"].map(lambda k: bounds[k][0])
    hi = r.signals["fold"].map(lambda k: bounds[k][1])
    assert ((r.signals["ts"] >= lo) & (r.signals["ts"] < hi)).all()
    per_fold = r.signals.groupby("fold")["symbol"].nunique()
    assert per_fold.iloc[1:].min() == 2  # later folds trade both assets
    skipped = [m for m in meta["fold_metrics"] if m.get("skipped")]
    assert all("usable training rows" in m["skipped"] for m in skipped)  # a thin window is skipped, with the reason
    assert set(meta["synthetic"]) == {"BTCUSDT", "SBER"}
    stored = load_signals(r.run_dir)
    assert stored.symbols == ["BTCUSDT", "SBER"] and stored.meta["summary"] == r.summary
    for name in ("params.json", "metrics.json", "fold_metrics.png", "models/BTCUSDT.json", "models/BTCUSDT.pt"):
        assert (r.run_dir / name).is_file(), name
    assert not (r.run_dir / "work").exists()
    # permutation importance measures the last fold on the run's own out-of-sample rows, not bars after its end
    from aitrade.signals.importance import permutation_importance  # noqa: PLC0415

    importance = permutation_importance(settings, r.run_dir, repeats=1)
    last = r.signals[r.signals["fold"] == folds[-1]["index"]]
    assert 0 < importance.attrs["rows"] <= len(last) and importance.attrs["fold"] == folds[-1]["index"]
    assert set(importance.index) == set(meta["features"]) and importance["log_loss_rise"].notna().all()


def test_fold_models_are_reused_unless_reset(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    kw = dict(symbols=["BTCUSDT"], interval="4h", start="2022-01-01", end="2022-09-01", progress=False)
    first = generate_signals(settings, SignalParams(**SMALL), **kw)
    second = generate_signals(settings, SignalParams(**SMALL), **kw)
    third = generate_signals(settings, SignalParams(reset=True, **SMALL), **kw)
    assert first.summary["trained_models"] > 0 and second.summary["trained_models"] == 0
    assert second.summary["reused_models"] == first.summary["trained_models"]
    assert third.summary["reused_models"] == 0
    pd.testing.assert_frame_equal(first.signals, second.signals)
    pd.testing.assert_frame_equal(first.signals, third.signals)
    assert first.run_dir != second.run_dir != third.run_dir  # same params, same second: separate folders
    assert all(json.loads((r.run_dir / "run.json").read_text())["status"] == "complete" for r in (first, second))
    cache = sorted((tmp_path / "state" / "fold_cache").glob("*.pt"))
    cache[0].write_bytes(b"torn write")  # a damaged cache entry: trained again, not an unexpected error
    (cache[1].with_suffix(".json")).write_text("[1, 2]")
    fourth = generate_signals(settings, SignalParams(**SMALL), **kw)
    assert fourth.summary["trained_models"] == 2
    pd.testing.assert_frame_equal(first.signals, fourth.signals)


def test_local_processes_give_the_same_signals(tmp_path: Path) -> None:
    kw = dict(symbols=["BTCUSDT", "ETHUSDT"], interval="4h", start="2022-01-01", end="2022-09-01", progress=False)
    one = generate_signals(load_settings(tmp_path / "a"), SignalParams(**SMALL), **kw)
    two = generate_signals(load_settings(tmp_path / "b"), SignalParams(jobs=2, **SMALL), **kw)
    pd.testing.assert_frame_equal(one.signals, two.signals)


def test_dask_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    kw = dict(symbols=["BTCUSDT", "ETHUSDT"], interval="4h", start="2022-01-01", end="2022-09-01", progress=False)
    local = generate_signals(
        load_settings(tmp_path / "a"), SignalParams(mode="universal", cross_asset_wf=True, **SMALL), **kw
    )
    dask = generate_signals(
        load_settings(tmp_path / "b"),
        SignalParams(mode="universal", cross_asset_wf=True, executor="dask", jobs=2, **SMALL),
        **kw,
    )
    pd.testing.assert_frame_equal(local.signals, dask.signals)


def test_too_few_bars_says_what_is_needed(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"too few bars .*need more than \d+ .*have 500"):
        generate_signals(
            load_settings(tmp_path),
            SignalParams(**SMALL),
            symbols=["BTCUSDT"],
            interval="4h",
            start="2022-01-01",
            end=pd.Timestamp("2022-01-01") + pd.Timedelta(hours=4 * 500),
        )


def test_artifact_loader_refuses_bad_input(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    r = generate_signals(
        settings,
        SignalParams(**SMALL),
        symbols=["BTCUSDT"],
        interval="4h",
        start="2022-01-01",
        end="2022-07-01",
        progress=False,
    )
    frame, meta = r.signals.copy(), dict(r.meta)
    with pytest.raises(DataError, match="missing column.*atr"):
        write_signals(tmp_path / "x", frame.drop(columns="atr"), meta)
    bad = frame.copy()
    bad.loc[3, "p_long"] = np.nan
    with pytest.raises(DataError, match="NaN/inf value.*p_long"):
        write_signals(tmp_path / "y", bad, meta)
    meta_path = r.run_dir / "meta.json"
    data = json.loads(meta_path.read_text())
    data["schema_version"] = 7
    meta_path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="unknown signals schema version 7"):
        load_signals(r.run_dir)


def test_cli_signals_and_promote(tmp_path: Path, capsys) -> None:
    home = str(tmp_path)
    code = main(
        [
            "--home",
            home,
            "signals",
            "--mode",
            "universal",
            "--preset",
            "grinder",
            "--cross_asset_wf",
            "--train_window",
            "300",
            "--trade-window",
            "150",
            "--epochs",
            "3",
            "--symbols",
            "BTCUSDT,ETHUSDT",
            "--start",
            "2022-01-01",
            "--end",
            "2022-08-01",
            "--out",
            str(tmp_path / "run1"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "run:" in out and "log loss" in out
    assert json.loads((tmp_path / "run1" / "meta.json").read_text())["preset"] == "grinder"
    assert main(["--home", home, "promote", str(tmp_path / "run1"), *PROMOTE_ANYWAY]) == 0
    prod = tmp_path / "state" / "production"
    assert (prod / "signals.parquet").is_file() and (prod / "models" / "UNIVERSAL.pt").is_file()
    code = main(["--home", home, "signals", "--mode", "sideways"])
    assert code == 2 and "invalid choice: 'sideways'" in capsys.readouterr().err
    assert main(["--home", home, "promote", str(tmp_path / "nothing")]) == 2


def test_a_model_worse_than_the_prior_is_promoted_only_with_a_typed_reason(tmp_path: Path, capsys) -> None:
    home = str(tmp_path)
    run = tmp_path / "overconfident"
    # uncalibrated, on noise, with a light net: out of sample it is worse than the class prior
    assert (
        main(
            [
                "--home",
                home,
                "signals",
                "--symbols",
                "NOISE1USDT",
                "--interval",
                "1h",
                "--calibrate",
                "none",
                "--capacity",
                "fixed",
                "--train_window",
                "300",
                "--trade_window",
                "300",
                "--epochs",
                "60",
                "--end",
                "2023-05-01",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    verdict = json.loads((run / "meta.json").read_text())["summary"]["verdict"]
    assert "worse than the class prior" in verdict, verdict
    capsys.readouterr()
    assert main(["--home", home, "promote", str(run)]) == 2
    err = capsys.readouterr().err
    assert "worse than the class prior" in err and "--override" in err and err.count("\n") == 1
    assert not (tmp_path / "state" / "production").exists()  # nothing promoted
    assert main(["--home", home, "promote", str(run), "--override", "ok"]) == 2  # a word is not a reason
    reason = "paper-trading it to watch the calibration live"
    assert main(["--home", home, "promote", str(run), "--override", reason]) == 0
    record = json.loads((tmp_path / "state" / "production" / "promoted.json").read_text())
    assert record["override"]["reason"] == reason
    assert record["override"]["model_log_loss"] > record["override"]["prior_log_loss"]


def test_universal_without_cross_asset_wf_trains_once_and_predicts_only_later_bars(tmp_path: Path) -> None:
    r = generate_signals(
        load_settings(tmp_path),
        SignalParams(mode="universal", preset="sniper", **SMALL),
        symbols=["BTCUSDT", "ETHUSDT"],
        interval="4h",
        start="2022-01-01",
        end="2022-08-01",
        progress=False,
    )
    assert len(r.meta["folds"]) == 1 and r.summary["trained_models"] == 1
    assert (r.signals["ts"] >= pd.Timestamp(r.meta["folds"][0]["trade_start"])).all()
    assert set(r.signals["regime"].unique()) <= {0, 1, 2}
    assert (r.run_dir / "models" / "UNIVERSAL.json").is_file()


def test_gru_walk_mode(tmp_path: Path) -> None:
    params = SignalParams(**{**SMALL, "model": ModelConfig(kind="gru", epochs=2, hidden=(8,), seq_len=8, device="cpu")})
    r = generate_signals(
        load_settings(tmp_path),
        params,
        symbols=["BTCUSDT"],
        interval="4h",
        start="2022-01-01",
        end="2022-07-01",
        progress=False,
    )
    assert r.meta["model_config"]["kind"] == "gru" and len(r.signals) > 100


def test_real_daily_stocks_with_late_starts_skip_folds_and_say_why(tmp_path: Path) -> None:
    """GOOG and FB start years after AAPL: their early folds are skipped with a reason, never a crash."""
    model = ModelConfig(epochs=3, hidden=(8,), device="cpu", val_frac=0.15, calib_frac=0.15, calibration="temperature")
    r = generate_signals(
        load_settings(tmp_path),
        SignalParams(model=model, features=("all",)),
        symbols=["AAPL", "GOOG", "IBM", "MSFT", "FB"],
        interval="1d",
        progress=False,
    )
    skipped = [f for f in r.meta["fold_metrics"] if f.get("skipped")]
    assert {f["symbol"] for f in skipped} >= {"GOOG", "FB"} and all(f["skipped"] for f in skipped)
    assert set(r.signals["symbol"]) >= {"AAPL", "GOOG", "IBM", "MSFT"}  # FB's year and a half is one short window
