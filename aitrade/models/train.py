"""The training engine: time-ordered splits with purges, seeded torch training, temperature scaling.

A training window is split by time into *fit*, *validation* (early stopping)
and *calibration* (temperature) slices; ``horizon`` bars before each boundary
are purged, because their labels look into the next slice. Normalisation
statistics come from the fit slice only. Rows whose features are not all
defined get no prediction (NaN), never a made-up probability.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from aitrade.checks import choice, number
from aitrade.defaults import SIGNALS
from aitrade.errors import TooFewRows, UserError
from aitrade.models.boosted import ROUND_CHOICES, ROUNDS, BoostedModel, boosted_inner_losses, train_boosted
from aitrade.models.nets import N_CLASSES, build_net
from aitrade.models.shrink import fit_weight, golden_section, shrink
from aitrade.models.stacked import stacked_proba, train_stacked

CLIP = 6.0


KINDS = ("mlp", "gru", "universal", "lgbm")
CALIBRATIONS = ("bias", "temperature", "none")
CAPACITY_MODES = ("tuned", "fixed")
#: the nets a tuned fit chooses from, most regularised first: the first is near a logistic regression (best on a
#: linear edge), the last lets the hidden layer carry an interaction (measured on the planted CROSS series)
CAPACITIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("heavy", {"hidden": (16,), "dropout": 0.5, "hidden_decay": 3e-2}),
    ("middle", {"hidden": (32,), "dropout": 0.3, "hidden_decay": 1e-2}),
    ("light", {"hidden": (32,), "dropout": 0.1, "hidden_decay": 3e-3}),
)
TUNING_VERSION = 2  # bump when inner_losses scores differently: cached scores of another version are not reused
INNER_HOLDOUT = 0.3  # the share of a training window's time that scores the candidates
INNER_MARGIN = 1e-3  # nats a lighter net must gain over a heavier one on the inner hold-out
MODEL_RULES: dict[str, dict[str, Any]] = {
    "dropout": {"lo": 0, "hi": 0.9},
    "seq_len": {"lo": 1, "integer": True},
    "rounds": {"lo": 1, "integer": True},
    "embed_dim": {"lo": 1, "integer": True},
    "epochs": {"lo": 1, "integer": True},
    "batch_size": {"lo": 0, "integer": True},
    "lr": {"lo": 0, "lo_open": True},
    "weight_decay": {"lo": 0},
    "hidden_decay": {"lo": 0},
    "patience": {"lo": 1, "integer": True},
    "val_frac": {"lo": 0.0, "hi": 0.5},
    "calib_frac": {"lo": 0.0, "hi": 0.5},
}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and training settings of one model.

    The defaults come from the planted yardsticks (:mod:`aitrade.data.planted`,
    measured in the README). A fold's window holds a few hundred labelled rows,
    so hold-outs for early stopping and temperature scaling cost more than they
    gave; the net trains on the whole window, in one batch, to a ridge optimum:
    a linear path (the net nests a multinomial logistic regression) plus a
    hidden layer. ``capacity="tuned"`` chooses the hidden layer's size, dropout
    and ridge from :data:`CAPACITIES` on a purged inner hold-out of the window
    (heavy regularisation finds a linear edge best, light lets the hidden layer
    find an interaction); ``"fixed"`` uses ``hidden``, ``dropout`` and
    ``hidden_decay`` as given. ``val_frac`` turns early stopping back on and
    ``calib_frac`` with ``calibration`` a calibration slice (the signals run
    calibrates out of sample by default: :mod:`aitrade.signals.calibration`).
    """

    kind: str = SIGNALS.model  # mlp | gru | universal (the shared net) | lgbm (gradient-boosted trees)
    capacity: str = (
        SIGNALS.capacity
    )  # tuned: chosen from CAPACITIES per window; fixed: hidden, dropout, hidden_decay below
    hidden: tuple[int, ...] = (16,)
    dropout: float = 0.5
    rounds: int = ROUNDS  # lgbm: boosting rounds with capacity="fixed" (tuned: chosen from ROUND_CHOICES)
    seq_len: int = 16
    embed_dim: int = 4
    epochs: int = SIGNALS.epochs
    batch_size: int = 0  # 0: the whole window in one batch (full-batch Adam; a fold is a few thousand rows at most)
    lr: float = 5e-3
    weight_decay: float = 3e-3  # ridge on the linear path's weights (per mean loss)
    hidden_decay: float = 3e-2  # ridge on the hidden layers' weights
    patience: int = 20  # early stopping, only with a validation slice (val_frac > 0)
    class_weight: bool = False  # balanced class weights bias the probabilities; off keeps them calibrated
    val_frac: float = 0.0  # 0: train on the whole window to the ridge optimum (see fit_model)
    calib_frac: float = 0.0
    calibration: str = "none"  # none, bias (temperature + class biases), temperature; needs calib_frac > 0
    device: str = "auto"

    def __post_init__(self) -> None:
        choice("model kind", self.kind, KINDS)
        choice("calibration", self.calibration, CALIBRATIONS)
        choice("capacity", self.capacity, CAPACITY_MODES)
        for name, rule in MODEL_RULES.items():
            object.__setattr__(self, name, number(name, getattr(self, name), **rule))
        object.__setattr__(
            self, "hidden", tuple(number("hidden layer size", h, lo=1, integer=True) for h in self.hidden)
        )
        if self.calibration != "none" and self.calib_frac <= 0:
            raise UserError(f"calibration {self.calibration!r} needs a calibration slice (calib_frac > 0)")
        if self.val_frac + self.calib_frac >= 0.8:
            raise UserError(
                f"val_frac + calib_frac must leave at least 20% of a window to fit, got "
                f"{self.val_frac + self.calib_frac:g}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        d = dict(d)
        d["hidden"] = tuple(d.get("hidden", (64, 32)))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def pick_device(name: str = "auto") -> torch.device:
    """CUDA when present and asked for (``auto``), else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[torch.Generator]:
    """Seed torch and NumPy and use deterministic kernels for the duration."""
    was = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    gen = torch.Generator().manual_seed(seed)
    try:
        yield gen
    finally:
        torch.use_deterministic_algorithms(was)


@dataclass
class TrainedModel:
    """A fitted net with its normalisation and calibration; predicts probabilities."""

    config: ModelConfig
    net: nn.Module
    mean: np.ndarray
    std: np.ndarray
    temperature: float
    feature_names: list[str]
    assets: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    bias: np.ndarray = field(default_factory=lambda: np.zeros(N_CLASSES))

    def _inputs(self, X: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised model inputs for ``rows`` of ``X`` and which rows are valid."""
        Z = np.clip((X - self.mean) / self.std, -CLIP, CLIP)
        ok_row = np.isfinite(X).all(axis=1)
        if self.config.kind != "gru":
            return Z[rows], ok_row[rows]
        L = self.config.seq_len
        seq = np.zeros((len(rows), L, X.shape[1]))
        valid = np.zeros(len(rows), dtype=bool)
        for n, r in enumerate(rows):
            if r - L + 1 < 0:
                continue
            window = slice(r - L + 1, r + 1)
            if ok_row[window].all():
                seq[n] = Z[window]
                valid[n] = True
        return seq, valid

    @torch.no_grad()
    def logits(self, X: np.ndarray, rows: np.ndarray, asset_ids: np.ndarray | None = None) -> np.ndarray:
        inputs, valid = self._inputs(X, rows)
        ids = None if asset_ids is None else np.asarray(asset_ids)[rows]
        out = np.full((len(rows), N_CLASSES), np.nan)
        if not valid.any():
            return out
        device = next(self.net.parameters()).device
        self.net.eval()
        x = torch.as_tensor(np.nan_to_num(inputs[valid]), dtype=torch.float32, device=device)
        a = None if ids is None else torch.as_tensor(ids[valid], dtype=torch.long, device=device)
        out[valid] = self.net(x, a).double().cpu().numpy()
        return out

    def predict_proba(self, X: np.ndarray, rows: np.ndarray, asset_ids: np.ndarray | None = None) -> np.ndarray:
        """Calibrated (n, 3) probabilities [flat, long, short] for ``rows`` of ``X``.

        ``asset_ids`` (universal models) is aligned with ``X``. Rows whose inputs
        are undefined get NaN, never a made-up probability.
        """
        z = self.logits(X, rows, asset_ids) / self.temperature + self.bias
        out = np.full_like(z, np.nan)
        ok = np.isfinite(z).all(axis=1)
        zz = z[ok] - z[ok].max(axis=1, keepdims=True)
        e = np.exp(zz)
        out[ok] = e / e.sum(axis=1, keepdims=True)
        return out


def model_kind(mode: str, model: str) -> str:
    """The model kind of a signals run in ``mode`` for the user's ``model`` (mlp, gru, lgbm): universal mode shares
    one net with an asset embedding (``universal``) or one booster (``lgbm``) across assets."""
    choice("model", model, ("mlp", "gru", "lgbm"))
    if mode == "universal" and model == "gru":
        raise UserError("model gru applies to walk mode; universal mode uses mlp (the shared net) or lgbm")
    return "universal" if mode == "universal" and model == "mlp" else model


#: a fitted model of any kind: a torch net or a booster; both predict (n, 3) probabilities the same way
Model = TrainedModel | BoostedModel


def split_by_time(times: np.ndarray, purge_ns: int, val_frac: float, calib_frac: float) -> tuple[np.ndarray, ...]:
    """Boolean masks (fit, val, calib) over rows sorted or not, by time quantiles, with purges."""
    uniq = np.unique(times)
    end = uniq[-1] + 1

    def cut(frac: float) -> Any:
        return end if frac <= 0 else uniq[min(len(uniq) - 1, int(len(uniq) * (1 - frac)))]

    t_val, t_cal = cut(val_frac + calib_frac), cut(calib_frac)
    fit = times < (t_val - purge_ns if val_frac + calib_frac > 0 else end)
    val = (times >= t_val) & (times < (t_cal - purge_ns if calib_frac > 0 else end))
    cal = times >= t_cal
    return fit, val, cal


def _class_weights(y: np.ndarray) -> torch.Tensor:
    counts = np.bincount(y, minlength=N_CLASSES).astype(float)
    w = len(y) / (N_CLASSES * np.maximum(counts, 1.0))
    return torch.as_tensor(w, dtype=torch.float32)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the negative log likelihood (golden-section search on log T)."""
    if len(y) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        z = logits / math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    return float(math.exp(golden_section(nll, -2.5, 2.5, tol=1e-9)))


def l2_penalty(net: nn.Module, config: ModelConfig) -> Callable[[], torch.Tensor]:
    """The ridge term added to the mean loss: ``weight_decay`` on the linear path, ``hidden_decay`` on the rest.

    A penalty in the loss (not decoupled decay) so that training to convergence
    reaches a regularised optimum, as a ridge logistic regression does; biases
    are not penalised.
    """
    weights = [(n, p) for n, p in net.named_parameters() if "weight" in n.rsplit(".", 1)[-1] and "embed" not in n]
    linear = [p for n, p in weights if n.startswith(("linear.", "body.linear."))]
    hidden = [p for n, p in weights if not n.startswith(("linear.", "body.linear."))]

    def penalty() -> torch.Tensor:
        lin = sum((p.pow(2).sum() for p in linear), torch.zeros(()))
        hid = sum((p.pow(2).sum() for p in hidden), torch.zeros(()))
        return config.weight_decay * lin + config.hidden_decay * hid

    return penalty


def _nll(z: np.ndarray, y: np.ndarray) -> float:
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def fit_scaling(logits: np.ndarray, y: np.ndarray, *, l2: float = 1e-3) -> tuple[float, np.ndarray]:
    """Temperature and class biases minimising the negative log likelihood (vector scaling's bias form).

    Unlike a temperature alone, the biases can move the probabilities towards
    the class prior (a temperature can only flatten them towards uniform). A
    small L2 penalty keeps them finite on a slice with few rows of a class.
    """
    from scipy.optimize import minimize  # noqa: PLC0415 (a fit-time dependency only)

    if len(y) == 0:
        return 1.0, np.zeros(N_CLASSES)
    onehot = np.eye(N_CLASSES)[y]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        log_t, b = theta[0], np.concatenate([[0.0], theta[1:]])
        inv_t = math.exp(-log_t)
        z = logits * inv_t + b
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(np.clip(p[np.arange(len(y)), y], 1e-300, None)).mean() + l2 * (theta[1:] ** 2).sum()
        g = (p - onehot) / len(y)
        grad_t = float((g * logits).sum() * -inv_t)
        grad_b = g.sum(axis=0)[1:] + 2 * l2 * theta[1:]
        return float(loss), np.concatenate([[grad_t], grad_b])

    res = minimize(
        objective,
        np.zeros(N_CLASSES),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-3.0, 3.0)] + [(-5.0, 5.0)] * (N_CLASSES - 1),
    )
    return float(math.exp(res.x[0])), np.concatenate([[0.0], res.x[1:]])


def _train(
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    times: np.ndarray,
    config: ModelConfig,
    feature_names: list[str],
    purge_ns: int,
    seed: int,
    asset_ids: np.ndarray | None,
    assets: list[str] | None,
) -> Model:
    """One model trained on ``rows`` with ``config`` as it stands (no capacity search)."""
    if config.kind == "lgbm":
        return train_boosted(X, y, rows, config, feature_names, seed, asset_ids, assets, config.rounds)
    fit_m, val_m, cal_m = split_by_time(times[rows], purge_ns, config.val_frac, config.calib_frac)
    labelled = y[rows] >= 0
    finite = np.isfinite(X[rows]).all(axis=1)
    base = rows[fit_m & labelled & finite]
    if len(base) < 30:
        raise TooFewRows(f"only {len(base)} usable training rows after purging and hold-outs; need at least 30")
    mean = X[base].mean(axis=0)
    std = X[base].std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    device = pick_device(config.device)
    with deterministic(seed) as gen:
        net = build_net(
            config.kind,
            X.shape[1],
            n_assets=max(1, len(assets or [])),
            hidden=config.hidden,
            dropout=config.dropout,
            embed_dim=config.embed_dim,
        ).to(device)
        model = TrainedModel(config, net, mean, std, 1.0, list(feature_names), list(assets or []))

        def tensors(mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
            idx = rows[mask & labelled]
            inputs, valid = model._inputs(X, idx)
            idx, inputs = idx[valid], inputs[valid]
            x = torch.as_tensor(inputs, dtype=torch.float32, device=device)
            t = torch.as_tensor(y[idx].astype(np.int64), device=device)
            a = None if asset_ids is None else torch.as_tensor(asset_ids[idx], dtype=torch.long, device=device)
            return x, t, a

        xf, yf, af = tensors(fit_m)
        xv, yv, av = tensors(val_m)
        weight = _class_weights(yf.cpu().numpy()).to(device) if config.class_weight else None
        loss_fn = nn.CrossEntropyLoss(weight=weight)
        opt = torch.optim.Adam(net.parameters(), lr=config.lr)
        ridge = l2_penalty(net, config)
        batch = config.batch_size or len(xf)  # 0: the whole window is one batch
        best, best_state, bad, epochs = math.inf, None, 0, 0
        for epoch in range(config.epochs):
            net.train()
            if batch >= len(xf):  # full batch: no shuffling, no index copies
                opt.zero_grad()
                loss = loss_fn(net(xf, af), yf) + ridge().to(device)
                loss.backward()
                opt.step()
            else:
                order = torch.randperm(len(xf), generator=gen)
                for start in range(0, len(order), batch):
                    b = order[start : start + batch].to(device)
                    opt.zero_grad()
                    loss = loss_fn(net(xf[b], None if af is None else af[b]), yf[b]) + ridge().to(device)
                    loss.backward()
                    opt.step()
            epochs = epoch + 1
            if len(xv) == 0:
                continue
            net.eval()
            with torch.no_grad():
                vloss = float(loss_fn(net(xv, av), yv))
            if vloss < best - 1e-5:
                best, bad = vloss, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                bad += 1
                if bad >= config.patience:
                    break
        if best_state is not None:
            net.load_state_dict(best_state)
    net.eval()
    cal_rows = rows[cal_m & labelled]
    cal_logits = model.logits(X, cal_rows, asset_ids)
    ok = np.isfinite(cal_logits).all(axis=1)
    cal_z, cal_y = cal_logits[ok], y[cal_rows][ok].astype(np.int64)
    if config.calibration == "bias":
        model.temperature, model.bias = fit_scaling(cal_z, cal_y)
    elif config.calibration == "temperature":
        model.temperature = fit_temperature(cal_z, cal_y)
    model.info = {
        "fit_rows": len(xf),
        "val_rows": len(xv),
        "calib_rows": int(ok.sum()),
        "epochs": epochs,
        "val_loss": None if best == math.inf else best,
        "temperature": model.temperature,
        "bias": [float(b) for b in model.bias],
        "device": str(device),
        "seed": seed,
    }
    return model


def inner_losses(
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    times: np.ndarray,
    config: ModelConfig,
    feature_names: list[str],
    purge_ns: int,
    seed: int,
    asset_ids: np.ndarray | None = None,
    assets: list[str] | None = None,
) -> dict[str, float | None]:
    """Each of :data:`CAPACITIES`' log loss on the window's purged inner hold-out (None: too few rows to say).

    Each candidate trains on the first ``1 - INNER_HOLDOUT`` of the window's
    time and is scored on the rest, with the label horizon purged between them,
    after the best shrink toward the inner fit's class shares: a signals run
    calibrates out of sample that way, so the candidates are compared on what
    survives calibration (their ranking), not on an overconfidence it removes.
    Only the training window is read: the fold's own trade rows never are.
    """
    fit_m, hold_m, _ = split_by_time(times[rows], purge_ns, INNER_HOLDOUT, 0.0)
    fit_rows, hold_rows = rows[fit_m], rows[hold_m & (y[rows] >= 0)]
    if config.kind == "lgbm":
        return boosted_inner_losses(X, y, fit_rows, hold_rows, config, feature_names, seed, asset_ids, assets)
    known = y[fit_rows][y[fit_rows] >= 0].astype(np.int64)
    shares = (np.bincount(known, minlength=N_CLASSES) + 1.0) / (len(known) + N_CLASSES)
    if config.kind in ("mlp", "universal") and all(len(shape["hidden"]) == 1 for _, shape in CAPACITIES):
        return _stacked_losses(X, y, fit_rows, hold_rows, config, shares, seed, asset_ids, assets)
    losses: dict[str, float | None] = {}
    for name, shape in CAPACITIES:
        candidate = replace(config, capacity="fixed", **shape)
        try:
            model = _train(X, y, fit_rows, times, candidate, feature_names, purge_ns, seed, asset_ids, assets)
        except TooFewRows:
            losses[name] = None
            continue
        proba = model.predict_proba(X, hold_rows, asset_ids)
        ok = np.isfinite(proba).all(axis=1)
        t = y[hold_rows][ok].astype(np.int64)
        losses[name] = _shrunk_loss(proba[ok], shares, t) if len(t) else None
    return losses


def _shrunk_loss(proba: np.ndarray, shares: np.ndarray, t: np.ndarray) -> float:
    """Log loss after the best shrink toward ``shares`` (what the run's out-of-sample calibration would leave)."""
    prior = np.tile(shares, (len(t), 1))
    shrunk = shrink(proba, prior, fit_weight(proba, prior, t))
    return float(-np.log(np.clip(shrunk[np.arange(len(t)), t], 1e-12, None)).mean())


def _stacked_losses(
    X: np.ndarray,
    y: np.ndarray,
    fit_rows: np.ndarray,
    hold_rows: np.ndarray,
    config: ModelConfig,
    shares: np.ndarray,
    seed: int,
    asset_ids: np.ndarray | None,
    assets: list[str] | None,
) -> dict[str, float | None]:
    """:func:`inner_losses` for one-hidden-layer nets: every candidate trained at once (:mod:`.stacked`)."""
    names = [name for name, _ in CAPACITIES]
    fit = fit_rows[(y[fit_rows] >= 0) & np.isfinite(X[fit_rows]).all(axis=1)]
    hold = hold_rows[np.isfinite(X[hold_rows]).all(axis=1)]
    if len(fit) < 30 or not len(hold):
        return {name: None for name in names}
    mean, std = X[fit].mean(axis=0), X[fit].std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    device = pick_device(config.device)
    universal = config.kind == "universal" and asset_ids is not None

    def inputs(rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = np.clip((X[rows] - mean) / std, -CLIP, CLIP)
        a = None
        if universal and asset_ids is not None:
            a = torch.as_tensor(asset_ids[rows], dtype=torch.long, device=device)
        return torch.as_tensor(z, dtype=torch.float32, device=device), a

    shapes = [shape for _, shape in CAPACITIES]
    with deterministic(seed) as gen:
        x, a = inputs(fit)
        net = train_stacked(
            x,
            torch.as_tensor(y[fit].astype(np.int64), device=device),
            a,
            gen=gen,
            hidden=[int(sh["hidden"][0]) for sh in shapes],
            dropout=[float(sh["dropout"]) for sh in shapes],
            hidden_decay=[float(sh["hidden_decay"]) for sh in shapes],
            weight_decay=config.weight_decay,
            lr=config.lr,
            epochs=config.epochs,
            n_assets=len(assets or []) if universal else 0,
            embed_dim=config.embed_dim,
            device=device,
        )
        proba = stacked_proba(net, *inputs(hold))
    t = y[hold].astype(np.int64)
    return {name: _shrunk_loss(proba[k], shares, t) for k, name in enumerate(names)}


def capacity_names(kind: str) -> list[str]:
    """The capacities a tuned fit of ``kind`` chooses from, most regularised first."""
    if kind == "lgbm":
        return [str(r) for r in ROUND_CHOICES]
    return [name for name, _ in CAPACITIES]


def pick_capacity(evidence: list[dict[str, float | None]], kind: str = "mlp") -> str:
    """The capacity with the lowest mean inner hold-out loss over ``evidence`` (this window's and earlier ones').

    A lighter net must beat every heavier one by :data:`INNER_MARGIN` nats; a
    tie keeps the net closer to the linear model. Windows where a candidate has
    no score are left out of the comparison.
    """
    names = capacity_names(kind)
    complete = [e for e in evidence if all(e.get(n) is not None for n in names)]
    if not complete:
        return names[0]
    mean = {n: float(np.mean([e[n] for e in complete])) for n in names}
    chosen = names[0]
    for n in names[1:]:
        if mean[n] < mean[chosen] - INNER_MARGIN:
            chosen = n
    return chosen


def with_capacity(config: ModelConfig, name: str) -> ModelConfig:
    """``config`` fixed at the named capacity (of :data:`CAPACITIES`, or a round count for lgbm)."""
    if config.kind == "lgbm":
        return replace(config, capacity="fixed", rounds=int(name))
    return replace(config, capacity="fixed", **dict(CAPACITIES)[name])


def fit_model(
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    times: np.ndarray,
    *,
    config: ModelConfig,
    feature_names: list[str],
    purge_ns: int,
    seed: int,
    asset_ids: np.ndarray | None = None,
    assets: list[str] | None = None,
    evidence: list[dict[str, float | None]] | None = None,
) -> Model:
    """Train on ``rows`` of ``X`` (labels ``y``; rows with label -1 or undefined inputs are skipped).

    ``times`` holds the bar time (ns) of every row of ``X``; the training rows'
    times drive the fit/validation/calibration split. ``purge_ns`` is the label
    horizon in ns. With ``capacity="tuned"`` (the default) the net's capacity
    is chosen first by :func:`pick_capacity` over ``evidence`` (inner hold-out
    losses of earlier windows, from :func:`inner_losses`) plus this window's,
    then the chosen net trains on all of ``rows``.
    """
    rows = np.asarray(rows)
    tuning: dict[str, Any] | None = None
    if config.capacity == "tuned":
        mine = inner_losses(X, y, rows, times, config, feature_names, purge_ns, seed, asset_ids, assets)
        pooled = [*(evidence or []), mine]
        chosen = pick_capacity(pooled, config.kind)
        config = with_capacity(config, chosen)
        tuning = {"chosen": chosen, "inner_holdout_log_loss": mine, "windows_pooled": len(pooled)}
    model = _train(X, y, rows, times, config, feature_names, purge_ns, seed, asset_ids, assets)
    if tuning is not None:
        model.info["capacity"] = tuning
    return model
