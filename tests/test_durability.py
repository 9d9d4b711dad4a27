"""The durability contract: which commits wait for the disk (the write-ahead record of an order) and which not."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from aitrade import sqlitedb
from aitrade.brokers.base import Side
from aitrade.brokers.inventory import OwnedInventory
from aitrade.brokers.paperstore import PaperStore
from aitrade.runner.ledger import Book, Intent, IntentStatus, TradeLedger


@pytest.fixture
def fsynced() -> Iterator[list[str]]:
    """The files of every fsynced commit, in order."""
    seen: list[str] = []

    def observe(db: sqlite3.Connection) -> None:
        seen.append(Path(db.execute("PRAGMA database_list").fetchone()[2]).name)

    sqlitedb.FSYNCED.append(observe)
    yield seen
    sqlitedb.FSYNCED.remove(observe)


def test_a_durable_transaction_commits_with_full_sync_and_then_returns_to_normal(tmp_path: Path) -> None:
    db = sqlitedb.connect(tmp_path / "x.sqlite", 1.0)
    sqlitedb.wal(db)
    db.execute("CREATE TABLE t (x)")
    busy = lambda: RuntimeError("busy")  # noqa: E731
    with sqlitedb.immediate(db, busy, durable=True) as tx:
        assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        tx.execute("INSERT INTO t VALUES (1)")
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again
    with pytest.raises(ZeroDivisionError), sqlitedb.immediate(db, busy, durable=True):
        db.execute("INSERT INTO t VALUES (2)")
        _ = 1 / 0
    assert (
        db.execute("PRAGMA synchronous").fetchone()[0] == 1 and db.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    )
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_the_ledger_fsyncs_intents_and_the_session_only(tmp_path: Path, fsynced: list[str]) -> None:
    ledger = TradeLedger(tmp_path / "trades.sqlite")
    fsynced.clear()
    ledger.begin_session({"mode": "paper"})
    first = Intent("at-X-entry-1", "X", "entry", "buy", "limit", "1", "10", "2024-01-01T00:00:00+00:00")
    assert ledger.write_intent(first)
    assert fsynced == ["trades.sqlite", "trades.sqlite"]
    ledger.mark("at-X-entry-1", IntentStatus.SENT, "v1")
    ledger.save_book(Book("X", cash=100.0), events=[("fill", {"price": "10"})])
    ledger.event("note", None, {})
    assert len(fsynced) == 2  # re-derivable: no fsync
    assert not ledger.write_intent(replace(first, bar="2024-01-01"))
    # a tick's intents: one fsynced transaction for all of them; the known one is not fresh
    others = [replace(first, client_id=f"at-{s}-entry-1", symbol=s) for s in ("Y", "Z")]
    assert ledger.write_intents([first, *others]) == {"at-Y-entry-1", "at-Z-entry-1"}
    assert len(fsynced) == 4
    assert ledger.intent("at-Z-entry-1") == replace(others[1], status=IntentStatus.PENDING)
    assert ledger.intent("at-X-entry-1") == replace(first, status=IntentStatus.SENT, venue_order_id="v1")
    ledger.close()


def test_the_ownership_ledger_fsyncs_claims_only(tmp_path: Path, fsynced: list[str]) -> None:
    inventory = OwnedInventory(tmp_path / "owned.sqlite")
    fsynced.clear()
    assert inventory.claim("at-X-entry-1", "X", Side.BUY, Decimal(1))
    assert fsynced == ["owned.sqlite"]
    inventory.apply("at-X-entry-1", Decimal(1), Decimal(10), final=True)
    assert len(fsynced) == 1 and inventory.quantity("X") == 1
    inventory.close()


def test_the_paper_account_never_waits_for_the_disk(tmp_path: Path, fsynced: list[str]) -> None:
    store = PaperStore(tmp_path / "paper.sqlite")
    state = store.load()
    state.update(cash="100", seq=1, orders={"c": {"status": "new"}}, bars={"X": "2024-01-01"}, last={"X": "1"})
    store.save(state, {"orders": {"c"}, "marks": {"X"}})
    assert fsynced == []
    store.close()
    again = PaperStore(tmp_path / "paper.sqlite").load()
    assert (
        again["orders"] == {"c": {"status": "new"}}
        and again["bars"] == {"X": "2024-01-01"}
        and again["last"] == {"X": "1"}
    )


def test_marks_kept_as_scalars_by_an_older_paper_account_become_rows(tmp_path: Path) -> None:
    store = PaperStore(tmp_path / "paper.sqlite")
    store.load()
    store._db.execute("INSERT INTO scalars VALUES ('bars', ?), ('last', ?)", ('{"X": "2024-01-01"}', '{"X": "5"}'))
    store.close()
    store = PaperStore(tmp_path / "paper.sqlite")
    state = store.load()
    assert state["bars"] == {"X": "2024-01-01"} and state["last"] == {"X": "5"}
    store.save(state, {})
    store.close()
    again = PaperStore(tmp_path / "paper.sqlite")
    assert again.load()["last"] == {"X": "5"}
    assert again._db.execute("SELECT count(*) FROM scalars WHERE name IN ('bars', 'last')").fetchone()[0] == 0
    again.close()
