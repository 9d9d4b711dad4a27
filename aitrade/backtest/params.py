"""Strategy parameter files: JSON or YAML whose top level holds the genome keys.

Other keys are allowed when they are known metadata (provenance, fitness,
metrics, ...), so a ``best_strategy_params.json`` can be passed straight back
in. An unknown key or an out-of-range gene is an error naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aitrade.errors import UserError
from aitrade.files import read_mapping
from aitrade.strategy import Genome

METADATA_KEYS = frozenset(
    {
        "provenance",
        "fitness",
        "metrics",
        "profile",
        "mode",
        "seed",
        "run",
        "data",
        "created_at",
        "window",
        "windows",
        "source",
        "notes",
        "oos",
        "in_sample",
        "trail_on",
        "version",
    }
)


def genome_from_mapping(data: dict[str, Any], where: str = "parameters") -> Genome:
    unknown = sorted(k for k in data if k not in Genome.genes() and k not in METADATA_KEYS)
    if unknown:
        raise UserError(f"{where}: unknown key(s) {', '.join(unknown)}; genes are {', '.join(Genome.genes())}")
    for gene in Genome.genes():
        if gene in data and (isinstance(data[gene], bool) or not isinstance(data[gene], int | float)):
            raise UserError(f"{where}: gene {gene}={data[gene]!r} is not a number")
    try:
        return Genome.from_mapping(data)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from exc


def load_genome(path: str | Path) -> Genome:
    """The genome in a JSON/YAML parameter file (missing genes take their defaults)."""
    p = Path(path)
    data = read_mapping(p, "parameter file")
    return genome_from_mapping(data, str(p))
