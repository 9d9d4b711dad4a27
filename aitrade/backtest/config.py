"""What a backtest (and a runner) trades with: capital, risk limits and each symbol's costs, as the rules' inputs.

Free of numba and vectorbt: the runner builds its rules from here without loading the backtest's kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from aitrade.checks import number
from aitrade.costs import CostModel, cost_class, costs_for
from aitrade.defaults import CAPITAL
from aitrade.strategy import Rules
from aitrade.universe import asset_class


@dataclass(frozen=True)
class BacktestConfig:
    capital: float = CAPITAL
    risk_per_trade: float = 0.02
    max_notional: float = math.inf
    allow_short: bool = True
    max_trades: int = 20_000
    costs: dict[str, CostModel] = field(default_factory=dict)  # per symbol; default by asset class

    def __post_init__(self) -> None:
        checked = {
            "capital": number("capital", self.capital, lo=0, lo_open=True),
            "risk_per_trade": number("risk per trade", self.risk_per_trade, lo=0, hi=1, lo_open=True),
            "max_trades": number("max trades", self.max_trades, lo=1, integer=True),
        }
        if self.max_notional != math.inf:  # inf: no cap
            checked["max_notional"] = number("max notional", self.max_notional, lo=0, lo_open=True)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_settings(cls, settings: Any, capital: float = CAPITAL, *, long_only: bool = False) -> BacktestConfig:
        """Risk limits from :class:`aitrade.config.Settings`."""
        return cls(
            capital=capital,
            risk_per_trade=settings.risk_per_trade,
            max_notional=settings.max_position_notional,
            allow_short=not long_only,
        )

    def cost(self, symbol: str) -> CostModel:
        if symbol in self.costs:
            return self.costs[symbol]
        return costs_for(cost_class(symbol, asset_class(symbol)))

    def rules(self, symbol: str) -> Rules:
        c = self.cost(symbol)
        return Rules(
            risk_per_trade=self.risk_per_trade,
            max_notional=self.max_notional,
            allow_short=self.allow_short,
            fee_rate=c.fee_rate,
            slippage=c.slippage,
            tick=c.tick,
            lot=c.lot,
            min_qty=c.min_qty,
        )
