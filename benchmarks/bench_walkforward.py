"""Walk-forward throughput, and the training engine's overhead over a bare torch loop on the same tensors."""

from __future__ import annotations

import tempfile
import time

import numpy as np
import torch
from torch import nn

from aitrade.config import load_settings
from aitrade.models import ModelConfig, fit_model
from aitrade.models.nets import build_net
from aitrade.signals import SignalParams, generate_signals

SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT"]


def bare_loop(x: torch.Tensor, y: torch.Tensor, cfg: ModelConfig, epochs: int, seed: int) -> None:
    """What a researcher would write by hand: the same net, optimiser, batches and epochs, nothing else."""
    torch.manual_seed(seed)
    net = build_net("mlp", x.shape[1], hidden=cfg.hidden, dropout=cfg.dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(order), cfg.batch_size):
            b = order[start : start + cfg.batch_size]
            opt.zero_grad()
            loss_fn(net(x[b]), y[b]).backward()
            opt.step()


def main() -> dict[str, float]:
    torch.set_num_threads(1)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home)
        params = SignalParams(train_window=800, trade_window=400, model=ModelConfig(epochs=30, device="cpu"))
        t0 = time.perf_counter()
        res = generate_signals(settings, params, symbols=SYMBOLS, interval="4h", progress=False)
        wall = time.perf_counter() - t0
        models = res.summary["trained_models"]
        out["walk_wall_s"], out["fold_models"], out["fold_models_per_s"] = wall, models, models / wall
        print(f"walk-forward: {len(SYMBOLS)} symbols x {res.summary['folds']} folds = {models} fold models "
              f"in {wall:.1f} s -> {models / wall:.2f} fold models/s (1 process, 1 torch thread)")  # fmt: skip

    rng = np.random.default_rng(0)
    n, f = 800, 45
    X = rng.normal(size=(n, f))
    y = rng.integers(0, 3, size=n).astype(np.int64)
    times = np.arange(n, dtype=np.int64) * 14_400 * 10**9
    cfg = ModelConfig(epochs=30, patience=10_000, device="cpu")  # no early stop: equal epochs on both sides
    engine, bare = [], []
    for seed in range(5):
        t0 = time.perf_counter()
        m = fit_model(X, y, np.arange(n), times, config=cfg, feature_names=[str(i) for i in range(f)],
                      purge_ns=12 * 14_400 * 10**9, seed=seed)  # fmt: skip
        engine.append(time.perf_counter() - t0)
        rows = m.info["fit_rows"]
        x = torch.as_tensor(X[:rows], dtype=torch.float32)
        t = torch.as_tensor(y[:rows])
        t0 = time.perf_counter()
        bare_loop(x, t, cfg, m.info["epochs"], seed)
        bare.append(time.perf_counter() - t0)
    ratio = float(np.median(engine) / np.median(bare))
    out["engine_overhead"] = ratio
    print(f"training engine vs bare torch loop (same net, tensors, batches, {cfg.epochs} epochs): "
          f"{np.median(engine) * 1e3:.0f} ms vs {np.median(bare) * 1e3:.0f} ms -> {ratio:.2f}x")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
