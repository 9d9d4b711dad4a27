"""Backtest: vectorbt accounting agrees with the kernel; the CLI; bad inputs give one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aitrade.backtest.engine import BacktestConfig, Panel, run_backtest
from aitrade.backtest.metrics import backtest_metrics, monthly_returns
from aitrade.backtest.params import genome_from_mapping, load_genome
from aitrade.cli import main
from aitrade.data import load_bars
from aitrade.errors import DataError, UserError
from aitrade.features import compute_features
from aitrade.signals import load_signals, write_signals
from aitrade.strategy import Genome


def make_signals(folder: Path, symbols=("BTCUSDT", "ETHUSDT"), n: int = 1500, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    frames = []
    for sym in symbols:
        bars = load_bars(sym, "4h")[sym].iloc[:n]
        atr = compute_features(bars, "4h", ["atr"])["atr"]
        ok = atr.notna()
        b, a = bars[ok], atr[ok]
        pl = rng.uniform(0, 0.9, len(b))
        ps = rng.uniform(0, 1 - pl)
        frames.append(
            pd.DataFrame(
                {
                    "symbol": sym,
                    "ts": b.index,
                    "p_long": pl,
                    "p_short": ps,
                    "regime": 0,
                    **{c: b[c].to_numpy() for c in ("open", "high", "low", "close")},
                    "atr": a.to_numpy(),
                    "fold": 0,
                }
            )
        )
    write_signals(folder, pd.concat(frames), {"mode": "test", "synthetic": list(symbols)})
    return folder


@pytest.fixture(scope="module")
def signals_dir(tmp_path_factory) -> Path:
    return make_signals(tmp_path_factory.mktemp("sig"))


def test_vectorbt_accounting_matches_the_kernel(signals_dir: Path) -> None:
    panel = Panel.from_signals(load_signals(signals_dir))
    genome = Genome(conf=0.55, pullback=0.3, fill_wait=3, sl=1.2, tp=2.0)
    result = run_backtest(panel, genome, BacktestConfig(capital=10_000.0))
    vbt_trades = result.portfolio.trades.records_readable
    assert len(result.trades) > 50 and len(vbt_trades) == len(result.trades)
    assert vbt_trades["PnL"].sum() == pytest.approx(result.trades["pnl"].sum(), rel=1e-9, abs=1e-6)
    assert result.equity.iloc[-1] == pytest.approx(10_000.0 + result.trades["pnl"].sum())
    assert set(result.trades["side"]) == {"long", "short"}
    # mark to market: the equity moves while a position is open, not only at exits
    assert result.equity.diff().abs().gt(0).sum() > len(result.trades) * 2
    # vectorbt's portfolio of the same orders values every symbol as the kernel's books do, at every close
    value = result.portfolio.value()
    closes = value.index.isin(result.equity.index.tz_localize(None) + pd.Timedelta(nanoseconds=1))
    np.testing.assert_allclose(value[closes].to_numpy(), result.symbol_equity.to_numpy(), rtol=1e-9)


def test_same_bar_entry_and_stop_is_accounted(tmp_path: Path) -> None:
    idx = pd.date_range("2024-01-01", periods=6, freq="4h", tz="UTC")
    frame = pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "ts": idx,
            "p_long": [0.9, 0, 0, 0, 0, 0],
            "p_short": 0.0,
            "regime": 0,
            "open": [100, 100, 100, 99, 99, 99.0],
            "high": [100.2, 100.1, 100, 99.2, 99.1, 99.0],
            "low": [99.8, 98.0, 98.9, 98.8, 98.9, 98.9],
            "close": [100, 98.5, 99, 99, 99, 99.0],
            "atr": 1.0,
            "fold": 0,
        }
    )
    write_signals(tmp_path / "s", frame, {"mode": "test"})
    res = run_backtest(
        Panel.from_signals(load_signals(tmp_path / "s")),
        Genome(conf=0.6, pullback=0.5, sl=1.0),
        BacktestConfig(capital=1000.0, max_notional=500.0),
    )
    t = res.trades.iloc[0]
    assert t["entry_time"] == t["exit_time"] == idx[1] and t["exit_reason"] == "sl"
    assert len(res.portfolio.trades.records_readable) == 1
    assert res.equity.iloc[-1] == pytest.approx(1000.0 + t["pnl"])


def _mark_to_market(panel: Panel, trades: pd.DataFrame, capital: float) -> np.ndarray:
    """Per-bar equity computed independently of vectorbt: realised cash plus open positions at the close."""
    total = np.zeros(len(panel.index[0]))
    for j, sym in enumerate(panel.symbols):
        idx, a = panel.index[j], panel.offsets[j]
        close = panel.arrays["close"][a : panel.offsets[j + 1]]
        cash, held = np.full(len(idx), capital), np.zeros(len(idx))
        for t in trades[trades["symbol"] == sym].itertuples():
            e, x = idx.get_loc(t.entry_time), idx.get_loc(t.exit_time)
            sign = 1.0 if t.side == "long" else -1.0
            fee_in = t.fees * t.entry_price / (t.entry_price + t.exit_price)
            cash[e:] -= sign * t.quantity * t.entry_price + fee_in
            cash[x:] += sign * t.quantity * t.exit_price - (t.fees - fee_in)
            held[e:x] += sign * t.quantity
        total += cash + held * close
    return total


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_equity_is_marked_at_every_close_whatever_the_time_unit(signals_dir: Path, unit: str) -> None:
    """pandas 3 builds microsecond indexes by default; the timeline must not depend on the unit."""
    base = Panel.from_signals(load_signals(signals_dir))
    panel = Panel(base.symbols, [i.as_unit(unit) for i in base.index], base.offsets, base.arrays)
    genome = Genome(conf=0.55, pullback=0.3, fill_wait=3, sl=0.4, tp=2.0)
    res = run_backtest(panel, genome, BacktestConfig(capital=10_000.0))
    assert (res.trades["entry_time"] == res.trades["exit_time"]).any()  # same-bar round trips are in the mix
    expected = _mark_to_market(base, res.trades, 5_000.0)
    np.testing.assert_allclose(res.equity.to_numpy(), expected, rtol=1e-9)
    assert res.equity.index.equals(base.index[0]) and 0 < res.exposure < 1


def test_metrics_are_complete(signals_dir: Path) -> None:
    res = run_backtest(Panel.from_signals(load_signals(signals_dir)), Genome(conf=0.55), BacktestConfig())
    m = backtest_metrics(
        res.equity,
        res.trades,
        exposure=res.exposure,
        turnover_notional=res.turnover_notional,
        trial_sharpes=np.array([0.01, 0.02, -0.01, 0.0]),
    )
    for key in (
        "total_return",
        "cagr",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "win_rate",
        "profit_factor",
        "exposure",
        "turnover",
        "deflated_sharpe",
    ):
        assert key in m
    assert m["max_drawdown"] <= 0 and 0 <= m["win_rate"] <= 1 and 0 < m["exposure"] < 1 and m["dsr_trials"] == 4
    table = monthly_returns(res.equity)
    assert table.shape[1] <= 12 and np.isfinite(table.to_numpy()[~np.isnan(table.to_numpy())]).all()


def test_cli_backtest_round_trips_best_params(signals_dir: Path, tmp_path: Path, capsys) -> None:
    params = tmp_path / "best_strategy_params.json"
    params.write_text(json.dumps({**Genome(conf=0.55).to_dict(), "provenance": {"run": "x", "seed": 7}}))
    assert (
        main(
            [
                "--home",
                str(tmp_path),
                "backtest",
                "--signals",
                str(signals_dir),
                "--params",
                str(params),
                "--out",
                str(tmp_path / "bt"),
            ]
        )
        == 0
    )
    trades = pd.read_csv(tmp_path / "bt" / "trades.csv")
    assert list(trades.columns) == [
        "symbol",
        "side",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "quantity",
        "fees",
        "pnl",
        "exit_reason",
    ]
    metrics = json.loads((tmp_path / "bt" / "metrics.json").read_text())
    assert metrics["trades"] == len(trades) and metrics["genome"]["conf"] == 0.55
    assert (tmp_path / "bt" / "equity.png").is_file()
    yaml_params = tmp_path / "p.yaml"
    yaml_params.write_text("sl: 1.5\ntp: 3\nconf: 0.6\n")
    assert load_genome(yaml_params) == Genome(sl=1.5, tp=3.0, conf=0.6)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"sl": 2.0, "stop_loss": 1.0}, "unknown key(s) stop_loss"),
        ({"conf": 1.7}, "gene conf must be a finite number >= 0 and <= 1, got 1.7"),
        ({"sl": float("inf")}, "gene sl must be a finite number > 0, got inf"),
        ({"fill_wait": 2.7}, "gene fill_wait must be a whole number >= 1, got 2.7"),
        ({"max_hold": 0}, "max_hold"),
        ({"tp": "wide"}, "gene tp='wide' is not a number"),
    ],
)
def test_bad_params_name_the_gene(content: dict, needle: str) -> None:
    with pytest.raises(UserError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        genome_from_mapping(content)


def test_bad_signals_give_one_clear_error(signals_dir: Path, tmp_path: Path, capsys) -> None:
    sig = load_signals(signals_dir)
    broken = sig.frame.copy()
    broken.loc[5, "p_short"] = np.nan
    with pytest.raises(DataError, match="NaN/inf value.*p_short"):
        write_signals(tmp_path / "bad", broken, sig.meta)
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "signals.parquet").write_bytes((signals_dir / "signals.parquet").read_bytes())
    (tmp_path / "v" / "meta.json").write_text(json.dumps({**sig.meta, "schema_version": 99}))
    code = main(["--home", str(tmp_path), "backtest", "--signals", str(tmp_path / "v"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "unknown signals schema version 99" in err and err.count("\n") == 1


def test_each_market_pays_its_own_costs() -> None:
    from aitrade.costs import VENUE_COSTS  # noqa: PLC0415

    config = BacktestConfig()
    assert config.cost("EURUSD") == VENUE_COSTS["fx"]  # spot FX is not charged a share's costs
    assert config.cost("SBER") == VENUE_COSTS["stocks"] and config.cost("AAPL") == VENUE_COSTS["stocks"]
    assert config.cost("BTCUSDT") == VENUE_COSTS["crypto"] and config.cost("EDGE1USDT") == VENUE_COSTS["crypto"]
