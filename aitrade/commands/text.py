"""Numbers in words for the terminal and notebooks: percentages, n/a for missing values, research lines."""

from __future__ import annotations

import math
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
    """A quantity as held: its own digits, no float noise (``0.0015``, ``120``)."""
    from decimal import Decimal  # noqa: PLC0415

    if value is None:
        return "-"
    dec = Decimal(str(value))
    dec = round(dec, 8) if isinstance(value, float) else dec
    text = f"{dec.normalize():f}"
    return text


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
