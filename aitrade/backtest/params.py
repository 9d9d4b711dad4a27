"""Strategy parameter files: JSON or YAML whose top level holds the genome keys.

Other keys are allowed when they are known metadata (provenance, fitness,
metrics, ...), so a ``best_strategy_params.json`` can be passed straight back
in. An unknown key or an out-of-range gene is an error naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from aitrade.errors import UserError
from aitrade.strategy import Genome

METADATA_KEYS = frozenset(
    {"provenance", "fitness", "metrics", "profile", "mode", "seed", "run", "data", "created_at", "window", "windows",
     "source", "notes", "oos", "in_sample", "trail_on", "version"}
)  # fmt: skip


def genome_from_mapping(data: dict[str, Any], where: str = "parameters") -> Genome:
    unknown = sorted(k for k in data if k not in Genome.genes() and k not in METADATA_KEYS)
    if unknown:
        raise UserError(f"{where}: unknown key(s) {', '.join(unknown)}; genes are {', '.join(Genome.genes())}")
    for gene in Genome.genes():
        if gene in data and (isinstance(data[gene], bool) or not isinstance(data[gene], int | float)):
            raise UserError(f"{where}: gene {gene}={data[gene]!r} is not a number")
    try:
        return Genome.from_mapping(data)
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from exc


def load_genome(path: str | Path) -> Genome:
    """The genome in a JSON/YAML parameter file (missing genes take their defaults)."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError as exc:
        raise UserError(f"parameter file {p} does not exist") from exc
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise UserError(f"parameter file {p} is not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"parameter file {p} must hold a mapping of gene: value")
    return genome_from_mapping(data, str(p))
