"""Numbers in words for the terminal and notebooks: percentages, n/a for missing values, research lines."""

from __future__ import annotations

import math
from typing import Any


def research_line(s: dict[str, Any]) -> str:
    """Pooled and per-fold AUC and log loss side by side, each against its baseline."""
    prior, shares = s.get("pooled_prior_log_loss"), s.get("pooled_baseline_log_loss")
    versus = f"vs class prior {num(shares, 4)}"
    if prior is not None:
        also = f" (the out-of-sample class shares {num(shares, 4)})" if shares is not None else ""
        versus = f"vs the training prior {num(prior, 4)}{also}"
    calibrated = ""
    if s.get("calibration") == "shrink" and s.get("raw_pooled_log_loss") is not None:
        calibrated = f" (calibrated; {num(s.get('raw_pooled_log_loss'), 4)} before)"
    rows = s.get("pooled_n", s.get("oos_rows"))
    pooled = (
        f"pooled{f' over {rows} rows' if rows is not None else ''}: AUC long {num(s.get('pooled_auc_long'), 3)}, "
        f"short {num(s.get('pooled_auc_short'), 3)}, log loss {num(s.get('pooled_log_loss'), 4)}{calibrated} {versus}"
    )
    per_fold = ""
    if s.get("log_loss") is not None:
        per_fold = (
            f"; per-fold average over {s.get('evaluated')} asset-folds: AUC long {num(s.get('auc_long'), 3)}, "
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
    return f"{pooled}{per_fold}{linear}{trees}"


def pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def num(value: Any, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


# --- values as a trader reads them: one owner for the panels, the CLI and the notebooks ------------------------
def utc(value: Any, *, suffix: bool = True) -> str:
    """A time in UTC to the second: ``2026-12-03 21:40:03 UTC`` (``-`` for none)."""
    import pandas as pd  # noqa: PLC0415

    if value is None or value == "":
        return "-"
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(stamp):
        return "-"
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if suffix else "")


def money(value: Any, currency: str = "") -> str:
    """An amount to the cent with thousands separated: ``12,345.68 USDT``."""
    if value is None:
        return "-"
    text = f"{float(value):,.2f}"
    return f"{text} {currency}".rstrip()


def price(value: Any, tick: Any = None) -> str:
    """A price to the tick when it is known, else to six significant digits with at least two decimals."""
    from decimal import ROUND_HALF_EVEN, Decimal  # noqa: PLC0415

    if value is None:
        return "-"
    dec = Decimal(str(value))
    if tick:
        step = Decimal(str(tick)).normalize()
        places = max(-int(step.as_tuple().exponent), 0)
        return f"{(dec / step).quantize(Decimal(1), ROUND_HALF_EVEN) * step:,.{places}f}"
    if not dec.is_finite() or dec == 0:
        return f"{dec:,.2f}" if dec == 0 else str(dec)
    places = max(2, 6 - dec.adjusted() - 1)
    text = f"{round(dec, places):,.{places}f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac.ljust(2, '0')}"


def quantity(value: Any) -> str:
    """A quantity as held: its own digits up to ten significant ones, no float noise (``0.0015``, ``120``)."""
    from decimal import Decimal  # noqa: PLC0415

    if value is None:
        return "-"
    dec = Decimal(str(value))
    if dec.is_finite() and dec and len(dec.normalize().as_tuple().digits) > 10:  # float arithmetic's tail, not a lot
        dec = round(dec, max(0, 9 - dec.adjusted()))
    return f"{dec.normalize():f}"


def signed_money(value: Any, currency: str = "") -> str:
    """A P&L: ``+12.30`` or ``-4.05`` (with a currency when given)."""
    if value is None:
        return "-"
    return f"{float(value):+,.2f} {currency}".rstrip()


def detail(value: Any, limit: int = 200) -> str:
    """An event's or a result's details in words: ``key value, key value`` with numbers formatted, never a repr."""
    if isinstance(value, str):
        import json  # noqa: PLC0415

        try:
            value = json.loads(value)
        except ValueError:
            return value[:limit]
    if isinstance(value, dict):
        parts = [f"{str(k).replace('_', ' ')} {detail(v, limit)}" for k, v in value.items() if v not in (None, "", [])]
        text = ", ".join(parts)
    elif isinstance(value, (list, tuple)):
        text = "; ".join(detail(v, limit) for v in value) or "none"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: How each column of the monitor, trade and account tables is written (by its name), and its header.
COLUMN_KINDS = {
    **dict.fromkeys(("entry", "stop", "target", "last", "limit", "exit", "entry_price", "exit_price"), "price"),
    **dict.fromkeys(("avg_price", "trigger", "price", "last_price"), "price"),
    **dict.fromkeys(("quantity", "qty", "filled"), "quantity"),
    **dict.fromkeys(("unrealised_pnl", "unrealized_pnl", "pnl", "realised_pnl", "day_pnl"), "signed"),
    **dict.fromkeys(("equity", "cash", "capital", "fee", "fees", "notional"), "money"),
    **dict.fromkeys(("since", "time", "entry_time", "exit_time", "read_at", "created", "finished"), "time"),
    **dict.fromkeys(("return", "return_pct", "win_rate", "max_drawdown", "total_return"), "pct"),
    "detail": "detail",
}
HEADERS = {
    "unrealised_pnl": "unrealised P&L",
    "unrealized_pnl": "unrealised P&L",
    "pnl": "P&L",
    "realised_pnl": "realised P&L",
    "day_pnl": "P&L",
    "client_id": "client id",
    "exit_reason": "exit reason",
    "entry_time": "entry (UTC)",
    "exit_time": "exit (UTC)",
    "since": "since (UTC)",
    "time": "time (UTC)",
    "avg_price": "average price",
}


def cell(column: str, value: Any) -> str:
    """``value`` written as its column's kind (see :data:`COLUMN_KINDS`)."""
    kind = COLUMN_KINDS.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "price":
        return price(value)
    if kind == "quantity":
        return quantity(value)
    if kind == "signed":
        return signed_money(value)
    if kind == "money":
        return money(value)
    if kind == "time":
        return utc(value, suffix=False)
    if kind == "pct":
        return pct(float(value))
    return detail(value)


def header(column: str) -> str:
    return HEADERS.get(column, column.replace("_", " "))


#: Research and backtest metrics as a table shows them: label and how the value is written (pct, n2/n3/n4: fixed
#: decimals, int, money, times). A key not here is shown by its words with four significant digits.
METRICS: dict[str, tuple[str, str]] = {
    "total_return": ("return", "pct"),
    "buy_and_hold_return": ("buy and hold", "pct"),
    "cagr": ("CAGR", "pct"),
    "max_drawdown": ("max drawdown", "pct"),
    "win_rate": ("win rate", "pct"),
    "exposure": ("time in the market", "pct"),
    "avg_trade_return": ("average trade", "pct"),
    "sharpe": ("Sharpe (annualised)", "n2"),
    "sortino": ("Sortino (annualised)", "n2"),
    "calmar": ("Calmar", "n2"),
    "profit_factor": ("profit factor", "n2"),
    "per_bar_sharpe": ("Sharpe per bar", "n4"),
    "deflated_sharpe": ("deflated Sharpe", "n3"),
    "deflated_sharpe_empirical": ("deflated Sharpe (empirical)", "n3"),
    "dsr_sharpe_needed": ("Sharpe needed for DSR 0.95", "n2"),
    "probabilistic_sharpe": ("probabilistic Sharpe", "n3"),
    "pbo_mean": ("PBO (in sample, mean over windows)", "n2"),
    "dsr_trials_effective": ("effective trials", "n1"),
    "turnover": ("turnover", "times"),
    "capital": ("capital", "money"),
    "total_fees": ("fees", "money"),
    "log_loss": ("log loss, per-fold mean", "n4"),
    "baseline_log_loss": ("class prior's log loss, per-fold mean", "n4"),
    "pooled_log_loss": ("log loss, pooled", "n4"),
    "raw_pooled_log_loss": ("log loss before calibration, pooled", "n4"),
    "pooled_prior_log_loss": ("training prior's log loss, pooled", "n4"),
    "pooled_baseline_log_loss": ("out-of-sample class shares' log loss, pooled", "n4"),
    "linear_pooled_log_loss": ("linear baseline's log loss, pooled", "n4"),
    "lgbm_pooled_log_loss": ("LightGBM's log loss, pooled", "n4"),
    "accuracy": ("accuracy, per-fold mean", "pct"),
    "baseline_accuracy": ("class prior's accuracy, per-fold mean", "pct"),
    "pooled_accuracy": ("accuracy, pooled", "pct"),
    "pooled_baseline_accuracy": ("class prior's accuracy, pooled", "pct"),
    "auc_long": ("AUC long, per-fold mean", "n3"),
    "auc_short": ("AUC short, per-fold mean", "n3"),
    "pooled_auc_long": ("AUC long, pooled", "n3"),
    "pooled_auc_short": ("AUC short, pooled", "n3"),
    "linear_pooled_auc_long": ("linear baseline's AUC long, pooled", "n3"),
    "linear_pooled_auc_short": ("linear baseline's AUC short, pooled", "n3"),
    "lgbm_pooled_auc_long": ("LightGBM's AUC long, pooled", "n3"),
    "lgbm_pooled_auc_short": ("LightGBM's AUC short, pooled", "n3"),
    "oos_rows": ("out-of-sample rows", "int"),
    "pooled_n": ("rows pooled", "int"),
    "evaluated": ("asset-folds evaluated", "int"),
    "folds": ("folds", "int"),
    "trades": ("trades", "int"),
    "long_trades": ("long trades", "int"),
    "short_trades": ("short trades", "int"),
    "bars": ("bars", "int"),
    "windows": ("windows", "int"),
    "ga_evaluations": ("GA evaluations", "int"),
    "dsr_trials": ("trials (DSR)", "int"),
    "dsr_trials_raw": ("trials, raw", "int"),
    "trained_models": ("models trained", "int"),
    "reused_models": ("models reused from the cache", "int"),
    "start": ("from (UTC)", "time"),
    "end": ("to (UTC)", "time"),
}


def metric_label(key: str) -> str:
    return METRICS.get(key, (key.replace("_", " "), ""))[0]


def metric_value(key: str, value: Any) -> str:
    """A metric written as a trader reads it (see :data:`METRICS`)."""
    kind = METRICS.get(key, ("", ""))[1]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return utc(value) if kind == "time" else str(value)
    if kind == "pct":
        return f"{value:.2%}"
    if kind.startswith("n") and kind[1:].isdigit():
        return f"{value:,.{int(kind[1:])}f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "money":
        return money(value)
    if kind == "times":
        return f"{value:,.1f}x"
    return f"{value:,.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
