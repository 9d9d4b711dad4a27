"""The trial registry of a home, ``state/trials.sqlite``: every optimisation and the trials it spent.

A deflated Sharpe counts the genomes its own optimisation evaluated. The
choices made before it on the same data (other signals runs, profiles, seeds,
fitnesses) are trials too, and only a record kept across runs can count them.
Each ``aitrade optimize`` (and the optimiser notebook) records its choices and
its trial counts here, keyed by the data it searched (symbols, interval and the
bars' fingerprints); the next run on that data reports what came before it and
a deflated Sharpe against all of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aitrade.errors import LedgerBusy
from aitrade.sqlitedb import connect, fetch, immediate, wal

_TABLE = """CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY, time TEXT NOT NULL, data TEXT NOT NULL, run TEXT NOT NULL, signals TEXT NOT NULL,
    choices TEXT NOT NULL, evaluations INTEGER NOT NULL, effective REAL NOT NULL)"""


def data_key(meta: Mapping[str, Any]) -> str:
    """The data a signals run's trials searched: its symbols, interval and the bars' fingerprints."""
    parts = {
        "symbols": sorted(meta.get("symbols") or []),
        "interval": meta.get("interval"),
        "data": meta.get("data_fingerprint") or meta.get("data_range"),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Before:
    """What earlier optimisations spent on the same data."""

    runs: int = 0
    evaluations: int = 0
    effective: float = 0.0
    choices: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "choices": list(self.choices)}


class TrialRegistry:
    def __init__(self, path: Path, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path, busy_timeout_s)
        wal(self._db)
        with immediate(self._db, self._busy) as db:
            db.execute(_TABLE)

    def _busy(self) -> LedgerBusy:
        return LedgerBusy(f"the trial registry {self.path} stayed locked; try again")

    def before(self, data: str) -> Before:
        rows = fetch(
            self._db,
            "SELECT run, signals, choices, evaluations, effective FROM trials WHERE data = ? ORDER BY id",
            (data,),
            self._busy,
        )
        choices = tuple(
            {"run": r, "signals": s, **json.loads(c), "evaluations": e, "effective": f} for r, s, c, e, f in rows
        )
        return Before(len(rows), sum(int(r[3]) for r in rows), float(sum(float(r[4]) for r in rows)), choices)

    def record(
        self, data: str, run: str, signals: str, choices: Mapping[str, Any], evaluations: int, effective: float
    ) -> None:
        with immediate(self._db, self._busy) as db:
            db.execute(
                "INSERT INTO trials (time, data, run, signals, choices, evaluations, effective) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(),
                    data,
                    run,
                    signals,
                    json.dumps(dict(choices), default=str),
                    int(evaluations),
                    float(effective),
                ),
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TrialRegistry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
