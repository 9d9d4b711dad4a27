"""A small, seeded NumPy genetic algorithm over the genome, evaluating whole populations at once.

Why not a library: the original's operators (truncation selection with
elitism, uniform crossover, one-gene mutation) are a few lines of NumPy, and
the expensive part is evaluation, which here is one vectorised kernel call per
generation. Optuna's NSGA-II via ask/tell would add a dependency and a
database for resumability that a 60 x 30 search finishing in seconds does not
need. Every gene is bounded (the original left ``max_hold`` unclipped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aitrade.checks import choice, number
from aitrade.errors import UserError
from aitrade.files import read_mapping
from aitrade.optimize.fitness import FITNESSES
from aitrade.strategy import GENE_RULES, Genome

GENES = Genome.genes()
INTEGER_GENES = frozenset(g for g, rule in GENE_RULES.items() if rule.get("integer"))


@dataclass(frozen=True)
class SearchSpace:
    """Inclusive [low, high] range of every gene."""

    ranges: dict[str, tuple[float, float]]

    def __post_init__(self) -> None:
        for gene in GENES:
            if gene not in self.ranges:
                raise UserError(f"search space has no range for gene {gene}")
        for gene, (lo, hi) in self.ranges.items():
            if gene not in GENES:
                raise UserError(f"search space names unknown gene {gene!r}; genes: {', '.join(GENES)}")
            if not lo <= hi:
                raise UserError(f"range of {gene} is empty: [{lo}, {hi}]")
            Genome.from_mapping({**Genome().to_dict(), gene: lo})  # bounds must be valid genes
            Genome.from_mapping({**Genome().to_dict(), gene: hi})

    @property
    def low(self) -> np.ndarray:
        return np.array([self.ranges[g][0] for g in GENES], dtype=float)

    @property
    def high(self) -> np.ndarray:
        return np.array([self.ranges[g][1] for g in GENES], dtype=float)

    def fix(self, pop: np.ndarray) -> np.ndarray:
        """Clip to the ranges and round the integer genes."""
        out = np.clip(pop, self.low, self.high)
        for i, g in enumerate(GENES):
            if g in INTEGER_GENES:
                out[:, i] = np.clip(np.round(out[:, i]), self.low[i], self.high[i])
        return out

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.fix(rng.uniform(self.low, self.high, size=(n, len(GENES))))


@dataclass(frozen=True)
class OptimizerConfig:
    profile: str
    ranges: SearchSpace
    fitness: str = "sniper"
    population: int = 60
    generations: int = 30
    survivors: int = 15
    train_window: int = 800
    test_window: int = 400

    @classmethod
    def from_yaml(cls, path: str | Path) -> OptimizerConfig:
        p = Path(path)
        data = read_mapping(p, "optimiser settings")
        allowed = {
            "profile",
            "fitness",
            "population",
            "generations",
            "survivors",
            "train_window",
            "test_window",
            "ranges",
        }
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise UserError(f"{p}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        raw = data.get("ranges") or {}
        if not isinstance(raw, dict):
            raise UserError(f"{p}: ranges must map each gene to [low, high]")
        ranges = {}
        for gene, bounds in raw.items():
            if not isinstance(bounds, list | tuple) or len(bounds) != 2:
                raise UserError(f"{p}: range of {gene} must be [low, high], got {bounds!r}")
            ranges[str(gene)] = (number(f"{p}: low of {gene}", bounds[0]), number(f"{p}: high of {gene}", bounds[1]))
        return cls(
            profile=str(data.get("profile", p.stem)),
            ranges=SearchSpace(ranges),
            **{
                k: data[k]
                for k in ("fitness", "population", "generations", "survivors", "train_window", "test_window")
                if k in data
            },
        )

    def __post_init__(self) -> None:
        choice("fitness", self.fitness, FITNESSES)
        for name in ("population", "generations", "survivors", "train_window", "test_window"):
            object.__setattr__(self, name, number(name, getattr(self, name), lo=1, integer=True))
        if not 2 <= self.survivors < self.population:
            raise UserError(
                f"survivors must be between 2 and population - 1 ({self.population - 1}), got {self.survivors}"
            )


@dataclass
class GAResult:
    best: np.ndarray
    best_fitness: float
    history: list[dict[str, float]] = field(default_factory=list)
    population: np.ndarray | None = None
    fitness: np.ndarray | None = None
    evaluations: int = 0

    def genome(self) -> Genome:
        return Genome.from_mapping(dict(zip(GENES, self.best.tolist(), strict=True)))

    def to_dict(self) -> dict[str, Any]:
        return {"genome": self.genome().to_dict(), "fitness": self.best_fitness, "evaluations": self.evaluations}


def evolve(
    evaluate: Callable[[np.ndarray], np.ndarray], space: SearchSpace, cfg: OptimizerConfig, seed: int
) -> GAResult:
    """Run the GA; ``evaluate`` maps a (n, 10) population to n fitness values (higher is better)."""
    rng = np.random.default_rng(seed)
    pop = space.sample(rng, cfg.population)
    fit = np.asarray(evaluate(pop), dtype=float)
    evaluations = len(pop)
    history = []
    span = space.high - space.low
    for gen in range(cfg.generations):
        order = np.argsort(-fit, kind="stable")
        pop, fit = pop[order], fit[order]
        history.append({"generation": gen, "best": float(fit[0]), "mean": float(np.mean(fit))})
        if gen == cfg.generations - 1:
            break
        elite, elite_fit = pop[: cfg.survivors], fit[: cfg.survivors]
        n_children = cfg.population - cfg.survivors
        a = elite[rng.integers(0, cfg.survivors, n_children)]
        b = elite[rng.integers(0, cfg.survivors, n_children)]
        mask = rng.random(a.shape) < 0.5
        children = np.where(mask, a, b)
        gene = rng.integers(0, len(GENES), n_children)
        children[np.arange(n_children), gene] += rng.normal(0.0, 0.1, n_children) * span[gene]
        children = space.fix(children)
        child_fit = np.asarray(evaluate(children), dtype=float)
        evaluations += n_children
        pop = np.vstack([elite, children])
        fit = np.concatenate([elite_fit, child_fit])
    return GAResult(pop[0].copy(), float(fit[0]), history, pop, fit, evaluations)
