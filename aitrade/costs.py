"""One cost model for the backtest and the simulated broker: fees, slippage, tick and lot rounding."""

from __future__ import annotations

from dataclasses import dataclass

from aitrade.errors import UserError
from aitrade.universe import is_fx_pair


@dataclass(frozen=True)
class CostModel:
    """Per-side fee rate and slippage (fractions of price), and instrument rounding."""

    fee_rate: float
    slippage: float
    tick: float = 0.0
    lot: float = 0.0
    min_qty: float = 0.0


#: The original's per-venue costs: crypto 0.075% a side, MOEX stocks 0.025%. Spot FX (EURUSD and
#: other pairs) trades on spread rather than commission: about 0.2 pip of commission-equivalent
#: and 0.5 pip of slippage on EURUSD at ~1.1 (0.002% and 0.005%), far below a share's costs.
VENUE_COSTS: dict[str, CostModel] = {
    "crypto": CostModel(fee_rate=0.00075, slippage=0.0005),
    "stocks": CostModel(fee_rate=0.00025, slippage=0.0008),
    "fx": CostModel(fee_rate=0.00002, slippage=0.00005),
}


def costs_for(asset_class: str) -> CostModel:
    if asset_class not in VENUE_COSTS:
        raise UserError(f"no cost model for {asset_class!r}; known: {', '.join(VENUE_COSTS)}")
    return VENUE_COSTS[asset_class]


def cost_class(symbol: str, known: str | None = None) -> str:
    """The cost profile of a symbol: its universe class when it has one, else crypto/FX/stocks by its shape."""
    if known:
        return known
    sym = symbol.upper()
    if sym.endswith(("USDT", "USDC")):
        return "crypto"
    if is_fx_pair(sym):
        return "fx"
    return "stocks"
