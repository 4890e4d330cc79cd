"""The SQLite store: in-memory databases are private and transactional; ids and timestamps."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from app.embedded_bifrost.db import Store, new_id, now


def _teams(store: Store) -> int:
    count: int = store.db.execute("SELECT count(*) FROM teams").fetchone()[0]
    return count


def _insert(store: Store, name: str) -> None:
    store.db.execute(
        "INSERT INTO teams (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", (new_id(), name, now(), now())
    )


def test_in_memory_stores_are_private_to_each_instance() -> None:
    first, second = Store(":memory:", "current"), Store(":memory:", "current")
    _insert(first, "only-in-first")
    assert (_teams(first), _teams(second)) == (1, 0)
    first.close()
    assert _teams(Store(":memory:", "current")) == 0  # nothing outlives its connection


def test_in_memory_transaction_rolls_back_on_error() -> None:
    store = Store(":memory:", "current")
    _insert(store, "kept")
    with pytest.raises(RuntimeError), store.transaction():
        _insert(store, "rolled-back")
        raise RuntimeError
    assert [row["name"] for row in store.db.execute("SELECT name FROM teams")] == ["kept"]


def test_file_database_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "bifrost.db")
    store = Store(path, "current")
    with store.transaction():
        _insert(store, "persisted")
    store.close()
    assert _teams(Store(path, "current")) == 1


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
