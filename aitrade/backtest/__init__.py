"""Backtest: the cost model, the numba kernel and its plain-Python reference."""

from aitrade.costs import VENUE_COSTS, CostModel, costs_for

__all__ = ["VENUE_COSTS", "CostModel", "costs_for"]
