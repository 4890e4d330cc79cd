"""Bulk reads of the relations of many rows at once: one query per relation, whatever the number of rows.

Each reader takes the owners' ids and answers a dict from owner id to its related rows, in the order the
single-row reads used (budgets by ``created_at, id``; configs, keys and MCP configs by ``id``). The ids travel
as one JSON array parameter (``json_each``), so no list is too long for SQLite's bound-parameter limit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import orjson

__all__ = ["by_id", "children_of", "grouped", "keys_of", "mcp_configs_of", "rows_by_id", "virtual_key_counts"]

Row = sqlite3.Row
_IN = "IN (SELECT value FROM json_each(?))"
_TABLES = frozenset({"budgets", "rate_limits", "customers", "teams"})
# (table, owner column) -> the order of an owner's rows
_CHILDREN = {
    ("budgets", "team_id"): "created_at, id",
    ("budgets", "virtual_key_id"): "created_at, id",
    ("budgets", "provider_config_id"): "created_at, id",
    ("budgets", "customer_id"): "created_at, id",
    ("budgets", "model_config_id"): "created_at, id",
    ("teams", "customer_id"): "created_at, id",
    ("virtual_keys", "customer_id"): "created_at, id",
    ("provider_configs", "virtual_key_id"): "id",
}


def _ids(ids: Iterable[Any]) -> str:
    # A str, not bytes: newer SQLite reads a BLOB argument of json_each as JSONB.
    return orjson.dumps(list(ids)).decode()


def grouped(rows: Iterable[Row], column: str) -> dict[Any, list[Row]]:
    """Rows grouped by one column's value, each group in the rows' order."""
    groups: dict[Any, list[Row]] = {}
    for row in rows:
        groups.setdefault(row[column], []).append(row)
    return groups


def rows_by_id(db: sqlite3.Connection, table: str, ids: Iterable[Any]) -> dict[Any, Row]:
    """The rows of ``budgets``, ``rate_limits``, ``customers`` or ``teams`` with these ids."""
    assert table in _TABLES
    return {row["id"]: row for row in db.execute(f"SELECT * FROM {table} WHERE id {_IN}", (_ids(ids),))}


def by_id(db: sqlite3.Connection, table: str, rows: Iterable[Row], column: str) -> dict[Any, Row]:
    """The rows of ``table`` that ``column`` of these rows points at (null references skipped)."""
    return rows_by_id(db, table, {row[column] for row in rows if row[column] is not None})


def children_of(db: sqlite3.Connection, table: str, owner: str, ids: Iterable[Any]) -> dict[Any, list[Row]]:
    """The rows of ``table`` owned (through column ``owner``) by each id: budgets of teams, teams of customers..."""
    order = _CHILDREN[table, owner]
    rows = db.execute(f"SELECT * FROM {table} WHERE {owner} {_IN} ORDER BY {order}", (_ids(ids),))
    return grouped(rows, owner)


def virtual_key_counts(db: sqlite3.Connection, team_ids: Iterable[str]) -> dict[str, int]:
    """How many virtual keys each team has (teams without any are absent)."""
    sql = f"SELECT team_id, count(*) FROM virtual_keys WHERE team_id {_IN} GROUP BY team_id"
    return dict(db.execute(sql, (_ids(team_ids),)).fetchall())


def keys_of(db: sqlite3.Connection, config_ids: Iterable[int]) -> dict[int, list[Row]]:
    """The provider keys of each provider config, with their ``provider_id``."""
    rows = db.execute(
        "SELECT pk.provider_config_id, k.*, p.id AS provider_id FROM provider_config_keys pk"
        f" JOIN keys k ON k.id = pk.key_row_id LEFT JOIN providers p ON p.name = k.provider"
        f" WHERE pk.provider_config_id {_IN} ORDER BY k.id",
        (_ids(config_ids),),
    )
    return grouped(rows, "provider_config_id")


def mcp_configs_of(db: sqlite3.Connection, vk_ids: Iterable[str]) -> dict[str, list[Row]]:
    """The MCP configs of each virtual key, with their client's name."""
    rows = db.execute(
        "SELECT m.*, c.name AS client_name FROM mcp_configs m JOIN mcp_clients c ON c.id = m.mcp_client_id"
        f" WHERE m.virtual_key_id {_IN} ORDER BY m.id",
        (_ids(vk_ids),),
    )
    return grouped(rows, "virtual_key_id")
