"""AiTrade: a research-and-trading workbench for Bitget crypto and MOEX stocks."""

__version__ = "0.1.0"

import logging as _logging

# A library logs to its own logger and prints nothing until the application sets logging up
# (the CLI and notebooks call aitrade.log.setup_logging); no message appears twice.
_logging.getLogger("aitrade").addHandler(_logging.NullHandler())
