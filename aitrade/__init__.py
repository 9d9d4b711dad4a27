"""AiTrade: a research-and-trading workbench for Bitget crypto and MOEX stocks."""

import logging as _logging
import sys as _sys

__version__ = "0.1.0"

# A library logs to its own logger and prints nothing until the application sets logging up
# (the CLI and notebooks call aitrade.log.setup_logging); no message appears twice.
_logging.getLogger("aitrade").addHandler(_logging.NullHandler())

# jsonschema (imported by nbformat, which plotly's FigureWidget and papermill import) builds a lark grammar for its
# optional IRI format checker when rfc3987-syntax is installed: 0.8 s of every AiTrade process's start (the CLI, a
# notebook kernel, the control room's kernel), for a check nothing here uses. Marked absent unless already imported,
# jsonschema skips that one format (its documented behaviour without the package); every other check stays.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
