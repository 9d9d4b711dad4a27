"""Walk-forward and universal signal generation.

* ``walk``: one model per asset and fold; train on ``train_window`` bars, skip
  an embargo, predict the next ``trade_window`` bars, roll. Folds share time
  bounds across assets (the original sliced by row position).
* ``universal``: one model over the pooled universe with an asset embedding;
  ``cross_asset_wf`` re-trains it walking forward in time, otherwise it is
  trained once on the first window and predicts everything after it.

The last ``horizon`` training rows of every asset are purged (their labels look
into the embargo). Fold models are cached by a hash of their inputs; a fold
whose inputs are unchanged is reused unless ``reset``. Output is out-of-sample
predictions only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from aitrade import __version__
from aitrade.checks import choice, number
from aitrade.defaults import SIGNALS
from aitrade.distributed import run_tasks
from aitrade.errors import DataError, TooFewRows
from aitrade.features import FEATURE_SET_VERSION
from aitrade.features.sets import feature_groups
from aitrade.labels import LabelConfig
from aitrade.models import ModelConfig, fit_model, load_bundle, save_bundle
from aitrade.models.bundle import copy_bundle
from aitrade.models.train import (
    CAPACITIES,
    INNER_HOLDOUT,
    TUNING_VERSION,
    inner_losses,
    pick_capacity,
    with_capacity,
)
from aitrade.signals.baseline import BASELINES, baseline_metrics, fit_baselines
from aitrade.signals.calibration import METHODS as CALIBRATIONS
from aitrade.signals.calibration import PRIOR_COLUMNS
from aitrade.signals.folds import Fold
from aitrade.signals.metrics import fold_metrics
from aitrade.signals.prepare import AssetData
from aitrade.signals.regimes import PRESETS, RegimeThresholds, get_preset
from aitrade.statefile import atomic_write, atomic_write_json

log = logging.getLogger(__name__)

MODES = ("walk", "universal")
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class SignalParams:
    mode: str = SIGNALS.mode
    train_window: int = SIGNALS.train_window
    trade_window: int = SIGNALS.trade_window
    embargo: int = SIGNALS.embargo
    preset: str = SIGNALS.preset
    cross_asset_wf: bool = False
    seed: int = SIGNALS.seed
    reset: bool = False
    jobs: int = SIGNALS.jobs
    executor: str = SIGNALS.executor
    scheduler: str | None = None
    calibrate: str = SIGNALS.calibrate  # shrink each fold toward its training prior (see signals.calibration)
    model: ModelConfig = field(default_factory=ModelConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    features: tuple[str, ...] = (SIGNALS.features,)  # feature sets (core, all) and groups (returns, rsi, daily, ...)

    def __post_init__(self) -> None:
        choice("mode", self.mode, MODES)
        choice("preset", self.preset, PRESETS)
        choice("executor", self.executor, EXECUTORS)
        choice("calibrate", self.calibrate, CALIBRATIONS)
        object.__setattr__(self, "features", tuple(feature_groups(self.features)))
        for name, lo in (("train_window", 50), ("trade_window", 1), ("embargo", 0), ("jobs", 1), ("seed", 0)):
            object.__setattr__(self, name, number(name, getattr(self, name), lo=lo, integer=True))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        d["label"] = self.label.to_dict()
        return d


# --- panel files: how bulky data reaches workers -----------------------------------------


def write_panel(asset: AssetData, path: Path) -> None:
    cols = {
        "ts": pd.DatetimeIndex(asset.times.astype("datetime64[ns]"), tz="UTC"),
        **{c: asset.bars[c].to_numpy() for c in ("open", "high", "low", "close")},
        "atr": asset.atr,
        "atr_rel": asset.atr_rel,
        "adx": asset.adx,
        "label": asset.y,
    }
    frame = pd.DataFrame(cols)
    for i, name in enumerate(asset.features.columns):
        frame[f"f:{name}"] = asset.X[:, i]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


@dataclass
class Panel:
    symbol: str
    frame: pd.DataFrame
    X: np.ndarray
    y: np.ndarray
    times: np.ndarray
    features: list[str]

    @classmethod
    def read(cls, symbol: str, path: str) -> Panel:
        frame = pq.read_table(path).to_pandas()
        feats = [c[2:] for c in frame.columns if c.startswith("f:")]
        X = np.ascontiguousarray(frame[[f"f:{c}" for c in feats]].to_numpy(dtype=np.float64))
        times = pd.DatetimeIndex(frame["ts"]).as_unit("ns").asi8
        return cls(symbol, frame, X, frame["label"].to_numpy(np.int8), times, feats)

    def rows(self, start: int, end: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.times, [start, end], side="left")
        return np.arange(lo, hi)


def _fold(d: dict[str, Any]) -> Fold:
    return Fold(**d)


def _key(parts: list[Any], arrays: list[np.ndarray]) -> str:
    h = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:24]


def _train_rows(panel: Panel, fold: Fold, horizon: int) -> np.ndarray:
    rows = panel.rows(fold.train_start, fold.train_end)
    return rows[: max(0, len(rows) - horizon)]  # purge: these labels reach past train_end


def _fit_cached(task: dict[str, Any], key: str, fit: Any) -> tuple[Any, bool]:
    cache = Path(task["cache_dir"]) / key
    if cache.with_suffix(".json").is_file():
        try:
            model, _ = load_bundle(cache, device=task["params"]["model"]["device"])
            return model, True
        except DataError as exc:  # a damaged cache entry is a miss: train again and replace it
            log.warning("fold model cache %s is unusable (%s); training it again", cache.name, exc)
    model = fit()
    save_bundle(model, cache, cache_key=key)
    return model, False


def _inner_cached(task: dict[str, Any], key: str, compute: Any) -> dict[str, float | None]:
    """A window's inner hold-out losses (:func:`aitrade.models.inner_losses`), cached beside the fold models."""
    path = Path(task["cache_dir"]) / f"{_key([key, TUNING_VERSION, CAPACITIES, INNER_HOLDOUT], [])}.inner.json"
    with contextlib.suppress(OSError, ValueError):
        cached = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(cached, dict):
            return cached
    losses = compute()
    atomic_write_json(path, losses)
    return losses


def _prediction_frame(
    panel: Panel,
    rows: np.ndarray,
    proba: np.ndarray,
    regime: np.ndarray,
    fold: int,
    baselines: dict[str, np.ndarray],
    prior: np.ndarray,
) -> pd.DataFrame:
    f = panel.frame.iloc[rows]
    ok = np.isfinite(proba).all(axis=1) & np.isfinite(f["atr"].to_numpy())
    frame = pd.DataFrame(
        {
            "symbol": panel.symbol,
            "ts": f["ts"].to_numpy()[ok],
            "p_long": proba[ok, 1],
            "p_short": proba[ok, 2],
            "regime": regime[ok],
            **{c: f[c].to_numpy()[ok] for c in ("open", "high", "low", "close", "atr")},
            "fold": fold,
            **{c: float(v) for c, v in zip(PRIOR_COLUMNS, prior, strict=True)},
        }
    )
    for name, p in baselines.items():
        frame[BASELINES[name][0]], frame[BASELINES[name][1]] = p[ok, 1], p[ok, 2]
    return frame


def _baselines(
    X: np.ndarray, y: np.ndarray, usable: np.ndarray, trade: np.ndarray, prior: np.ndarray, kind: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The baselines fitted on the model's training rows: their probabilities and metrics on ``trade``."""
    probas, metrics = {}, {}
    for name, fitted in fit_baselines(X[usable], y[usable], kind).items():
        probas[name] = fitted.predict_proba(X[trade])
        metrics.update(baseline_metrics(name, probas[name], y[trade], prior))
    return probas, metrics


def _write_predictions(frames: list[pd.DataFrame], path: str) -> None:
    if frames:
        out = pd.concat(frames, ignore_index=True)
        table = pa.Table.from_pandas(out, preserve_index=False)
        atomic_write(Path(path), lambda tmp: pq.write_table(table, tmp))


def walk_symbol_task(task: dict[str, Any]) -> dict[str, Any]:
    """All folds of one symbol (walk mode). Runs in this or another process."""
    params = task["params"]
    cfg, label = ModelConfig.from_dict(params["model"]), LabelConfig(**params["label"])
    preset = get_preset(params["preset"])
    panel = Panel.read(task["symbol"], task["panel"])
    purge_ns = label.horizon * task["bar_ns"]
    frames, fold_info, last_model = [], [], None
    evidence: list[dict[str, float | None]] = []  # inner hold-out losses of this symbol's windows so far
    for fd in task["folds"]:
        fold = _fold(fd)
        train = _train_rows(panel, fold, label.horizon)
        trade = panel.rows(fold.trade_start, fold.trade_end)
        info: dict[str, Any] = {
            "symbol": panel.symbol,
            "fold": fold.index,
            "train_rows": len(train),
            "trade_rows": len(trade),
        }
        usable = train[(panel.y[train] >= 0) & np.isfinite(panel.X[train]).all(axis=1)]
        if len(trade) == 0 or len(usable) < task["min_train_rows"]:
            info["skipped"] = (
                f"{len(usable)} usable training rows (need {task['min_train_rows']})" if len(trade) else "no bars"
            )
            fold_info.append(info)
            continue
        seed = params["seed"] + fold.index
        key = _key(
            [
                task["symbol"],
                fd,
                params["model"],
                params["label"],
                seed,
                panel.features,
                FEATURE_SET_VERSION,
                __version__,
            ],
            [panel.X[train], panel.y[train]],
        )
        fit_cfg, tuning = cfg, None
        if cfg.capacity == "tuned":  # chosen on this and the earlier windows' inner hold-outs: the past only
            mine = _inner_cached(
                task,
                key,
                lambda train=train, seed=seed: inner_losses(
                    panel.X, panel.y, train, panel.times, cfg, panel.features, purge_ns, seed
                ),
            )
            evidence.append(mine)
            chosen = pick_capacity(evidence, cfg.kind)
            fit_cfg = with_capacity(cfg, chosen)
            tuning = {"chosen": chosen, "inner_holdout_log_loss": mine, "windows_pooled": len(evidence)}
            key = _key([key, fit_cfg.to_dict()], [])

        def fit(train=train, seed=seed, fit_cfg=fit_cfg, tuning=tuning):
            model = fit_model(
                panel.X,
                panel.y,
                train,
                panel.times,
                config=fit_cfg,
                feature_names=panel.features,
                purge_ns=purge_ns,
                seed=seed,
            )
            if tuning is not None:
                model.info["capacity"] = tuning
            return model

        try:
            model, reused = _fit_cached(task, key, fit)
        except TooFewRows as exc:  # a short or late-starting series: this fold is skipped and says why
            info["skipped"] = str(exc)
            fold_info.append(info)
            continue
        proba = model.predict_proba(panel.X, trade)
        fr = panel.frame
        thresholds = RegimeThresholds.fit(fr["atr_rel"].to_numpy()[train], fr["adx"].to_numpy()[train], preset)
        regime = thresholds.apply(fr["atr_rel"].to_numpy()[trade], fr["adx"].to_numpy()[trade])
        prior = np.bincount(panel.y[usable].astype(np.int64), minlength=3) / len(usable)
        info.update(fold_metrics(proba, panel.y[trade], prior))
        baselines, scores = _baselines(panel.X, panel.y, usable, trade, prior, cfg.kind)
        info.update({"reused": reused, "model": key, "temperature": model.temperature, **scores})
        if "capacity" in model.info:
            info["capacity"] = model.info["capacity"]["chosen"]
        frames.append(_prediction_frame(panel, trade, proba, regime, fold.index, baselines, prior))
        fold_info.append(info)
        last_model = key
    _write_predictions(frames, task["out"])
    if last_model is not None:
        copy_bundle(Path(task["cache_dir"]) / last_model, Path(task["models_dir"]) / panel.symbol)
    return {"symbol": panel.symbol, "folds": fold_info, "predictions": task["out"]}


def universal_fold_task(task: dict[str, Any]) -> dict[str, Any]:
    """One fold of the universal model: pooled training over every asset, then prediction."""
    params = task["params"]
    cfg, label = ModelConfig.from_dict(params["model"]), LabelConfig(**params["label"])
    preset = get_preset(params["preset"])
    fold = _fold(task["fold"])
    panels = [Panel.read(s, p) for s, p in task["panels"].items()]
    assets = [p.symbol for p in panels]
    X = np.vstack([p.X for p in panels])
    y = np.concatenate([p.y for p in panels])
    times = np.concatenate([p.times for p in panels])
    aid = np.concatenate([np.full(len(p.times), i, dtype=np.int64) for i, p in enumerate(panels)])
    offsets = np.cumsum([0] + [len(p.times) for p in panels])
    train = np.concatenate([_train_rows(p, fold, label.horizon) + offsets[i] for i, p in enumerate(panels)])
    usable = train[(y[train] >= 0) & np.isfinite(X[train]).all(axis=1)]
    info: dict[str, Any] = {"fold": fold.index, "train_rows": len(train), "assets": assets}
    if len(usable) < task["min_train_rows"]:
        info["skipped"] = f"{len(usable)} usable training rows (need {task['min_train_rows']})"
        return {"fold": fold.index, "folds": [info], "predictions": None}
    order = train[np.argsort(times[train], kind="stable")]
    seed = params["seed"] + fold.index
    key = _key(
        [
            "universal",
            task["fold"],
            params["model"],
            params["label"],
            seed,
            panels[0].features,
            assets,
            FEATURE_SET_VERSION,
            __version__,
        ],
        [X[order], y[order]],
    )

    def fit():
        return fit_model(
            X,
            y,
            order,
            times,
            config=cfg,
            feature_names=panels[0].features,
            purge_ns=label.horizon * task["bar_ns"],
            seed=seed,
            asset_ids=aid,
            assets=assets,
        )

    try:
        model, reused = _fit_cached(task, key, fit)
    except TooFewRows as exc:
        info["skipped"] = str(exc)
        return {"fold": fold.index, "folds": [info], "predictions": None}
    frames, per_asset = [], []
    prior = np.bincount(y[usable].astype(np.int64), minlength=3) / len(usable)
    fitted = fit_baselines(X[usable], y[usable], cfg.kind)  # pooled features, no asset id
    for i, p in enumerate(panels):
        trade = p.rows(fold.trade_start, fold.trade_end)
        if not len(trade):
            continue
        proba = model.predict_proba(X, trade + offsets[i], aid)
        tr = _train_rows(p, fold, label.horizon)
        th = RegimeThresholds.fit(p.frame["atr_rel"].to_numpy()[tr], p.frame["adx"].to_numpy()[tr], preset)
        regime = th.apply(p.frame["atr_rel"].to_numpy()[trade], p.frame["adx"].to_numpy()[trade])
        baselines = {name: b.predict_proba(p.X[trade]) for name, b in fitted.items()}
        record = {"symbol": p.symbol, "fold": fold.index, **fold_metrics(proba, p.y[trade], prior)}
        for name, bp in baselines.items():
            record.update(baseline_metrics(name, bp, p.y[trade], prior))
        per_asset.append(record)
        frames.append(_prediction_frame(p, trade, proba, regime, fold.index, baselines, prior))
    _write_predictions(frames, task["out"])
    shared = {"reused": reused, "model": key, "temperature": model.temperature, "train_rows": len(train)}
    if "capacity" in model.info:
        shared["capacity"] = model.info["capacity"]["chosen"]
    records = [{**r, **shared} for r in per_asset] or [{**info, **shared}]
    return {
        "fold": fold.index,
        "folds": records,
        "predictions": task["out"] if frames else None,
        "model": key,
    }


def run_engine(
    assets: dict[str, AssetData],
    folds: list[Fold],
    params: SignalParams,
    *,
    work_dir: Path,
    cache_dir: Path,
    models_dir: Path,
    bar_ns: int,
    progress: bool | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Run every fold; return the out-of-sample predictions and the per-fold records."""
    if params.reset and cache_dir.exists():
        shutil.rmtree(cache_dir)
    for d in (work_dir, cache_dir, models_dir):
        d.mkdir(parents=True, exist_ok=True)
    panels = {}
    for symbol, asset in assets.items():
        path = work_dir / f"panel_{symbol}.parquet"
        write_panel(asset, path)
        panels[symbol] = str(path)
    common = {
        "params": params.to_dict(),
        "cache_dir": str(cache_dir),
        "models_dir": str(models_dir),
        "bar_ns": bar_ns,
        "min_train_rows": 60,
    }
    fold_dicts = [asdict(f) for f in folds]
    if params.mode == "walk":
        tasks = [
            {**common, "symbol": s, "panel": p, "folds": fold_dicts, "out": str(work_dir / f"pred_{s}.parquet")}
            for s, p in panels.items()
        ]
        fn, unit = walk_symbol_task, "asset"
    else:
        tasks = [
            {**common, "fold": fd, "panels": panels, "out": str(work_dir / f"pred_fold{fd['index']}.parquet")}
            for fd in fold_dicts
        ]
        fn, unit = universal_fold_task, "fold"
    records, frames, last_universal = [], [], None
    results = run_tasks(fn, tasks, jobs=params.jobs, executor=params.executor, scheduler=params.scheduler)
    bar = tqdm(
        results,
        total=len(tasks),
        desc=f"{params.mode} ({len(folds)} folds)",
        unit=unit,
        disable=not progress if progress is not None else None,
    )
    for res in bar:
        records.extend(res["folds"])
        if res.get("predictions") and Path(res["predictions"]).is_file():
            frames.append(pq.read_table(res["predictions"]).to_pandas())
        if res.get("model") is not None and (last_universal is None or res["fold"] > last_universal[0]):
            last_universal = (res["fold"], res["model"])
    if last_universal is not None:
        copy_bundle(cache_dir / last_universal[1], models_dir / "UNIVERSAL")
    signals = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not signals.empty:  # workers finish in any order; the artifact does not depend on it
        signals = signals.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True)
    shutil.rmtree(work_dir, ignore_errors=True)  # panels and partial predictions are scratch
    records.sort(key=lambda r: (r.get("fold", 0), r.get("symbol", "")))
    return signals, records
