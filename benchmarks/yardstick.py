"""The planted yardsticks, measured: ``python -m benchmarks.yardstick`` prints the README's model table.

Every row is a signals run with the defaults unless it says otherwise, out of sample, pooled over every
fold and symbol, on the seeded planted samples (:mod:`aitrade.data.planted`): EDGE (a linear edge, the
sign of the past 24-bar return), CROSS (an edge only an interaction finds) and NOISE (nothing), and on
the embedded real samples (EURUSD 1h, five daily stocks), where nothing is expected. Each run
also reports its baselines on the same rows and folds (logistic regression; LightGBM beside a net) and
its log loss against the training prior's forecast. Wall times are on this machine with ``--jobs 2``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from aitrade.config import load_settings
from aitrade.data.planted import CROSS, EDGE, NOISE
from aitrade.models import ModelConfig
from aitrade.signals import SignalParams, generate_signals

STOCKS = ("AAPL", "GOOG", "IBM", "MSFT", "FB")
RUNS = (
    ("EDGE x4", EDGE, "1h", "walk", "mlp"),
    ("EDGE x4", EDGE, "1h", "walk", "lgbm"),
    ("CROSS x8", CROSS, "1h", "walk", "mlp"),
    ("CROSS x8", CROSS, "1h", "walk", "lgbm"),
    ("CROSS x8", CROSS, "1h", "universal", "mlp"),
    ("CROSS x8", CROSS, "1h", "universal", "lgbm"),
    ("NOISE x4", NOISE, "1h", "walk", "mlp"),
    ("NOISE x4", NOISE, "1h", "universal", "mlp"),
    ("real EURUSD 1h", ("EURUSD",), "1h", "walk", "mlp"),
    ("real stocks 1d x5", STOCKS, "1d", "walk", "mlp"),
)


def measure(symbols: tuple[str, ...], interval: str, mode: str, model: str, home: Path) -> dict[str, float]:
    kind = "universal" if mode == "universal" and model == "mlp" else model
    params = SignalParams(mode=mode, cross_asset_wf=mode == "universal", model=ModelConfig(kind=kind), jobs=2)
    t0 = time.perf_counter()
    run = generate_signals(load_settings(home), params, symbols=list(symbols), interval=interval, progress=False)
    return {**run.summary, "wall_s": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the rows whose data name starts with this (EDGE, CROSS, NOISE)")
    args = parser.parse_args(argv)
    rows = []
    print(
        "| data | mode | model | AUC long | AUC short | log loss (raw) | training prior | linear AUC | LightGBM AUC |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for name, symbols, interval, mode, model in RUNS:
            if args.only and not name.startswith(args.only):
                continue
            s = measure(symbols, interval, mode, model, Path(d) / f"{name}-{mode}-{model}".replace(" ", ""))
            lin = f"{s['linear_pooled_auc_long']:.3f} / {s['linear_pooled_auc_short']:.3f}"
            trees = "(the model)"
            if s.get("lgbm_pooled_auc_long") is not None:
                trees = f"{s['lgbm_pooled_auc_long']:.3f} / {s['lgbm_pooled_auc_short']:.3f}"
            mode_name = "universal, walking" if mode == "universal" else mode
            print(
                f"| {name} | {mode_name} | {model} | {s['pooled_auc_long']:.3f} | {s['pooled_auc_short']:.3f} | "
                f"{s['pooled_log_loss']:.4f} ({s['raw_pooled_log_loss']:.4f}) | {s['pooled_prior_log_loss']:.4f} | "
                f"{lin} | {trees} | ({s['wall_s']:.0f} s)",
                flush=True,
            )
            rows.append({"data": name, "mode": mode, "model": model, **s})
    return rows


if __name__ == "__main__":
    main()
