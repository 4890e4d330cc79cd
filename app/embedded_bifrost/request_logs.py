"""The request log: one row per inference request, as Bifrost's ``logs`` table keeps it.

Written by the inference endpoint (``POST /v1/chat/completions``) after each request, read by the analytics
endpoints (``/api/logs/...``) and by the quota endpoint's ``per_model_usage``. The columns are those of
CONTRACT-v2.md's "Log store"; ``timestamp`` is held as integer nanoseconds since the epoch (``timestamps.py``)
so that bucketing and range filters compare integers.

Example:
    >>> from app.generations import V2
    >>> from app.embedded_bifrost.db import Store
    >>> store = Store(":memory:", V2)
    >>> record(store.db, LogRow(id="r1", timestamp=1_700_000_000_000_000_000, provider="openai", model="gpt-4o-mini",
    ...                         status="success", cost=0.25, prompt_tokens=3, completion_tokens=5, total_tokens=8))
    >>> store.db.execute("SELECT sum(cost) FROM logs").fetchone()[0]
    0.25
"""

from __future__ import annotations

import sqlite3
from dataclasses import astuple, dataclass, fields

__all__ = ["LOGS_SCHEMA", "LogRow", "record"]

LOGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    id TEXT PRIMARY KEY,
    timestamp INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT 'chat.completion',
    status TEXT NOT NULL,
    cost REAL,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    virtual_key_id TEXT,
    virtual_key_name TEXT,
    team_id TEXT,
    team_name TEXT,
    customer_id TEXT,
    customer_name TEXT,
    user_id TEXT,
    business_unit_id TEXT,
    selected_key_id TEXT,
    latency REAL,
    stream INTEGER NOT NULL DEFAULT 0,
    fallback_index INTEGER NOT NULL DEFAULT 0,
    parent_request_id TEXT
);
CREATE INDEX IF NOT EXISTS logs_timestamp ON logs (timestamp);
CREATE INDEX IF NOT EXISTS logs_vk ON logs (virtual_key_id, timestamp);
-- The stats look up, for each failed request, a fallback that succeeded: without it, a scan per failure.
CREATE INDEX IF NOT EXISTS logs_parent ON logs (parent_request_id) WHERE parent_request_id IS NOT NULL;
"""


@dataclass(slots=True)
class LogRow:
    """One row of the ``logs`` table (``object_type`` is the JSON's ``object``)."""

    id: str
    timestamp: int
    provider: str
    model: str
    status: str  # processing | success | error
    object_type: str = "chat.completion"
    cost: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    virtual_key_id: str | None = None
    virtual_key_name: str | None = None
    team_id: str | None = None
    team_name: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    user_id: str | None = None
    business_unit_id: str | None = None
    selected_key_id: str | None = None
    latency: float | None = None
    stream: bool = False
    fallback_index: int = 0
    parent_request_id: str | None = None


_COLUMNS = tuple(f.name for f in fields(LogRow))
_INSERT = f"INSERT INTO logs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"


def record(db: sqlite3.Connection, row: LogRow) -> None:
    """Insert one row (inside the caller's transaction, if any)."""
    db.execute(_INSERT, astuple(row))
