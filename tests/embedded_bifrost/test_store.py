"""The SQLite store: in-memory databases are private and transactional; ids and timestamps."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

import pytest

from app.embedded_bifrost.db import Store, new_id, now
from app.generations import V1_5


def _teams(store: Store) -> int:
    count: int = store.db.execute("SELECT count(*) FROM teams").fetchone()[0]
    return count


def _insert(store: Store, name: str) -> None:
    store.db.execute(
        "INSERT INTO teams (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", (new_id(), name, now(), now())
    )


def test_in_memory_stores_are_private_to_each_instance() -> None:
    first, second = Store(":memory:", V1_5), Store(":memory:", V1_5)
    _insert(first, "only-in-first")
    assert (_teams(first), _teams(second)) == (1, 0)
    first.close()
    assert _teams(Store(":memory:", V1_5)) == 0  # nothing outlives its connection


def test_in_memory_transaction_rolls_back_on_error() -> None:
    store = Store(":memory:", V1_5)
    _insert(store, "kept")
    with pytest.raises(RuntimeError), store.transaction():
        _insert(store, "rolled-back")
        raise RuntimeError
    assert [row["name"] for row in store.db.execute("SELECT name FROM teams")] == ["kept"]


def test_file_database_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "bifrost.db")
    store = Store(path, V1_5)
    with store.transaction():
        _insert(store, "persisted")
    store.close()
    assert _teams(Store(path, V1_5)) == 1


def test_new_id_is_a_random_uuid4() -> None:
    ids = {new_id() for _ in range(2000)}
    assert len(ids) == 2000
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # every hex digit appears in every random position (a formatting slip would pin one)
    for position in (0, 9, 15, 20, 35):
        assert len({value[position] for value in ids}) == 16
    assert {value[19] for value in ids} == set("89ab")


def test_now_is_rfc3339_with_nanoseconds_and_moves_forward() -> None:
    stamps = [now() for _ in range(1000)]
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", stamp)
    assert stamps == sorted(stamps)


def test_a_database_file_of_an_older_schema_gains_the_new_columns(tmp_path: Path) -> None:
    database = str(tmp_path / "old.db")
    old = sqlite3.connect(database)
    old.executescript(
        "CREATE TABLE budgets (id TEXT PRIMARY KEY, max_limit REAL NOT NULL, reset_duration TEXT NOT NULL,"
        " last_reset TEXT NOT NULL, current_usage REAL NOT NULL DEFAULT 0, calendar_aligned INTEGER NOT NULL"
        " DEFAULT 0, team_id TEXT, virtual_key_id TEXT, provider_config_id INTEGER, config_hash TEXT NOT NULL"
        " DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
        "INSERT INTO budgets (id, max_limit, reset_duration, last_reset, created_at, updated_at)"
        " VALUES ('b', 5, '1d', 'x', 'x', 'x');"
    )
    old.commit()
    old.close()
    store = Store(database, V1_5)
    row = store.db.execute("SELECT * FROM budgets").fetchone()
    assert row["id"] == "b" and row["override_amount"] is None and row["customer_id"] is None
    store.close()
    Store(database, V1_5).close()  # opening it again adds nothing twice
