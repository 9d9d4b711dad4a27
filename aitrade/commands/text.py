"""Numbers in words for the terminal and notebooks: percentages, n/a for missing values, research lines."""

from __future__ import annotations

from typing import Any


def research_line(s: dict[str, Any]) -> str:
    """Pooled and per-fold AUC and log loss side by side, each against its baseline."""
    prior, shares = s.get("pooled_prior_log_loss"), num(s.get("pooled_baseline_log_loss"), 4)
    versus = f"vs class prior {shares}"
    if prior is not None:
        versus = f"vs the training prior {num(prior, 4)} (the out-of-sample class shares {shares})"
    calibrated = ""
    if s.get("calibration") == "shrink" and s.get("raw_pooled_log_loss") is not None:
        calibrated = f" (calibrated; {num(s.get('raw_pooled_log_loss'), 4)} before)"
    pooled = (
        f"pooled over {s.get('pooled_n', s.get('oos_rows'))} rows: AUC long {num(s.get('pooled_auc_long'), 3)}, "
        f"short {num(s.get('pooled_auc_short'), 3)}, log loss {num(s.get('pooled_log_loss'), 4)}{calibrated} {versus}"
    )
    per_fold = (
        f"per-fold average over {s.get('evaluated')} asset-folds: AUC long {num(s.get('auc_long'), 3)}, "
        f"short {num(s.get('auc_short'), 3)}, log loss {num(s.get('log_loss'), 4)} vs "
        f"{num(s.get('baseline_log_loss'), 4)}"
    )
    linear = ""
    if s.get("linear_pooled_log_loss") is not None:
        linear = (
            f"; the linear baseline (logistic regression, same rows and folds), pooled: AUC long "
            f"{num(s.get('linear_pooled_auc_long'), 3)}, short {num(s.get('linear_pooled_auc_short'), 3)}, "
            f"log loss {num(s.get('linear_pooled_log_loss'), 4)}"
        )
    trees = ""
    if s.get("lgbm_pooled_log_loss") is not None:
        trees = (
            f"; LightGBM (same rows and folds), pooled: AUC long {num(s.get('lgbm_pooled_auc_long'), 3)}, "
            f"short {num(s.get('lgbm_pooled_auc_short'), 3)}, log loss {num(s.get('lgbm_pooled_log_loss'), 4)}"
        )
    return f"{pooled}; {per_fold}{linear}{trees}"


def pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def num(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
