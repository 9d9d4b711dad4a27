"""Performance metrics of a backtest: returns statistics (through vectorbt), per-trade statistics, overfitting."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from aitrade.backtest.overfit import deflated_sharpe_from_returns, dsr_verdict

YEAR = pd.Timedelta(days=365.25)


def bar_spacing(equity: pd.Series) -> pd.Timedelta:
    """Average time per bar (calendar-aware: a MOEX session series has fewer bars a year than 24/7)."""
    if len(equity) < 2:
        return pd.Timedelta(days=1)
    return (equity.index[-1] - equity.index[0]) / (len(equity) - 1)


def returns_stats(equity: pd.Series) -> dict[str, float]:
    """Total return, CAGR, Sharpe, Sortino, Calmar and max drawdown of a mark-to-market equity curve."""
    import vectorbt as vbt  # noqa: PLC0415,F401 (registers the .vbt accessor)

    eq = equity.dropna()
    if len(eq) < 2 or eq.iloc[0] <= 0:
        return {k: float("nan") for k in ("total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown")}
    rets = eq.pct_change().fillna(0.0)
    acc = rets.vbt.returns(freq=bar_spacing(eq), year_freq=YEAR)
    years = (eq.index[-1] - eq.index[0]) / YEAR
    total = float(eq.iloc[-1] / eq.iloc[0] - 1.0)
    cagr = float((eq.iloc[-1] / eq.iloc[0]) ** (1.0 / years) - 1.0) if years > 0 and eq.iloc[-1] > 0 else float("nan")
    mdd = float(acc.max_drawdown())
    return {
        "total_return": total,
        "cagr": cagr,
        "sharpe": float(acc.sharpe_ratio()),
        "sortino": float(acc.sortino_ratio()),
        "calmar": float(cagr / abs(mdd)) if mdd < 0 else float("nan"),
        "max_drawdown": mdd,
    }


def trade_stats(trades: pd.DataFrame) -> dict[str, Any]:
    """Per-trade win rate, profit factor, average return and exit-reason counts."""
    n = len(trades)
    if not n:
        return {"trades": 0, "win_rate": float("nan"), "profit_factor": float("nan"), "avg_trade_return": float("nan")}
    pnl = trades["pnl"].to_numpy(dtype=float)
    wins, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    ret = pnl / (trades["entry_price"].to_numpy(dtype=float) * trades["quantity"].to_numpy(dtype=float))
    return {
        "trades": n,
        "win_rate": float((pnl > 0).mean()),
        "profit_factor": float(wins / losses) if losses > 0 else float("inf"),
        "avg_trade_return": float(ret.mean()),
        "total_fees": float(trades["fees"].sum()),
        "exit_reasons": {str(k): int(v) for k, v in trades["exit_reason"].value_counts().items()},
        "long_trades": int((trades["side"] == "long").sum()),
        "short_trades": int((trades["side"] == "short").sum()),
    }


def backtest_metrics(
    equity: pd.Series,
    trades: pd.DataFrame,
    *,
    exposure: float,
    turnover_notional: float,
    trial_sharpes: np.ndarray | None = None,
    trial_length: int | None = None,
    effective_trials: float | None = None,
) -> dict[str, Any]:
    """Every headline metric of one backtest; ``trial_sharpes`` (per-bar, over ``trial_length`` bars) deflate it.

    Without trials there is nothing to deflate by: ``probabilistic_sharpe`` is
    given (P(true Sharpe > 0) for this one series) and ``deflated_sharpe`` is None.
    """
    out: dict[str, Any] = {**returns_stats(equity), **trade_stats(trades)}
    years = (equity.index[-1] - equity.index[0]) / YEAR if len(equity) > 1 else float("nan")
    out["exposure"] = exposure
    out["turnover"] = float(turnover_notional / equity.mean() / years) if years and years > 0 else float("nan")
    out["start"], out["end"] = (
        (equity.index[0].isoformat(), equity.index[-1].isoformat()) if len(equity) else (None, None)
    )
    out["bars"] = len(equity)
    rets = equity.pct_change().dropna().to_numpy()
    trials = np.array([]) if trial_sharpes is None else np.asarray(trial_sharpes)
    dsr = deflated_sharpe_from_returns(
        rets,
        trials if len(trials) else np.array([np.nan]),
        trial_length=trial_length,
        n_trials=effective_trials if len(trials) else None,
    )
    out["per_bar_sharpe"] = dsr["sr"]
    if len(trials):
        out["deflated_sharpe"] = dsr["dsr"]
        out["deflated_sharpe_empirical"] = dsr["dsr_empirical"]
        out["dsr_trials"] = round(dsr["n_trials"])  # effective (independent) trials when given, else every trial
        out["dsr_trials_raw"] = len(trials)
        out["dsr_verdict"] = dsr_verdict(dsr["dsr"], round(dsr["n_trials"]))
        per_bar = out.get("sharpe", float("nan")) / dsr["sr"] if dsr["sr"] else float("nan")  # annualising factor
        needed = dsr["sr_needed"] * per_bar if np.isfinite(per_bar) else float("nan")
        out["dsr_sharpe_needed"] = needed  # annualised, as ``sharpe``
        out["dsr_scope"] = (
            f"over these {len(equity)} bars the deflated Sharpe calls significant (0.95) only an annualised Sharpe "
            f"above {needed:.2f} against {round(dsr['n_trials'])} independent trials (this one: "
            f"{out.get('sharpe', float('nan')):.2f}); it cannot see trials made before this run (other signals "
            "runs, profiles or seeds tried on the same data: the trial registry counts those)"
        )
    else:
        out["deflated_sharpe"] = None
        out["probabilistic_sharpe"] = dsr["dsr"]  # one trial: P(true SR > 0), nothing deflated
        out["dsr_trials"] = 1
        out["dsr_verdict"] = dsr_verdict(dsr["dsr"], 1)
    return _clean(out)


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Calendar-month returns as a year x month table."""
    month_end = equity.resample("ME").last().dropna()
    first = pd.Series([equity.iloc[0]], index=[equity.index[0] - pd.Timedelta(seconds=1)])
    rets = pd.concat([first, month_end]).pct_change().dropna()
    table = pd.DataFrame({"year": rets.index.year, "month": rets.index.month, "ret": rets.to_numpy()})
    return table.pivot(index="year", columns="month", values="ret")


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """JSON-friendly: NaN and inf become None."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            out[k] = None
        else:
            out[k] = v
    return out
