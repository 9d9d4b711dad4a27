"""AiTrade: a research-and-trading workbench for Bitget crypto and MOEX stocks."""

__version__ = "0.1.0"
