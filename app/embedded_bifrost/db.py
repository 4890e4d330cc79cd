"""The SQLite store: schema, connection, transactions, ids and timestamps.

One connection serves the whole application. Handlers run synchronously between reading the request body and
sending the response, so on one event loop no two requests can interleave inside a transaction; the explicit
``BEGIN``/``COMMIT``/``ROLLBACK`` makes every request all-or-nothing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..generations import Generation
from .request_logs import LOGS_SCHEMA

__all__ = ["Store", "new_id", "now"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budgets (
    id TEXT PRIMARY KEY,
    max_limit REAL NOT NULL CHECK (max_limit > 0),
    reset_duration TEXT NOT NULL,
    last_reset TEXT NOT NULL,
    current_usage REAL NOT NULL DEFAULT 0,
    calendar_aligned INTEGER NOT NULL DEFAULT 0,
    team_id TEXT,
    virtual_key_id TEXT,
    provider_config_id INTEGER,
    customer_id TEXT,
    model_config_id TEXT,
    override_amount REAL,
    override_mode TEXT,
    override_cycles_remaining INTEGER,
    override_cycles_total INTEGER,
    override_anchor_reset TEXT,
    config_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS budgets_team ON budgets (team_id);
CREATE INDEX IF NOT EXISTS budgets_vk ON budgets (virtual_key_id);
CREATE INDEX IF NOT EXISTS budgets_pc ON budgets (provider_config_id);
CREATE TABLE IF NOT EXISTS rate_limits (
    id TEXT PRIMARY KEY,
    token_max_limit INTEGER,
    token_reset_duration TEXT,
    token_current_usage INTEGER NOT NULL DEFAULT 0,
    token_last_reset TEXT NOT NULL,
    request_max_limit INTEGER,
    request_reset_duration TEXT,
    request_current_usage INTEGER NOT NULL DEFAULT 0,
    request_last_reset TEXT NOT NULL,
    metric TEXT,
    model_config_id TEXT,
    config_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    budget_id TEXT,
    rate_limit_id TEXT,
    calendar_aligned INTEGER NOT NULL DEFAULT 0,
    config_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_created ON customers (created_at, id);
CREATE TABLE IF NOT EXISTS teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    customer_id TEXT,
    rate_limit_id TEXT,
    profile TEXT,
    config TEXT,
    claims TEXT,
    calendar_aligned INTEGER NOT NULL DEFAULT 0,
    config_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS teams_customer ON teams (customer_id);
CREATE INDEX IF NOT EXISTS teams_created ON teams (created_at, id);
CREATE TABLE IF NOT EXISTS virtual_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    value TEXT NOT NULL UNIQUE,
    is_active INTEGER NOT NULL DEFAULT 1,
    team_id TEXT,
    customer_id TEXT,
    rate_limit_id TEXT,
    expires_at INTEGER,
    calendar_aligned INTEGER NOT NULL DEFAULT 0,
    allow_all_providers INTEGER NOT NULL DEFAULT 0,
    previous_value TEXT,
    previous_value_expires_at INTEGER,
    rotated_at INTEGER,
    config_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vks_team ON virtual_keys (team_id);
CREATE INDEX IF NOT EXISTS vks_customer ON virtual_keys (customer_id);
CREATE INDEX IF NOT EXISTS vks_created ON virtual_keys (created_at, id);
CREATE TABLE IF NOT EXISTS provider_configs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    virtual_key_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    weight REAL,
    allowed_models TEXT NOT NULL DEFAULT '[]',
    blacklisted_models TEXT NOT NULL DEFAULT '[]',
    allow_all_keys INTEGER NOT NULL DEFAULT 0,
    rate_limit_id TEXT
);
CREATE INDEX IF NOT EXISTS pcs_vk ON provider_configs (virtual_key_id);
CREATE TABLE IF NOT EXISTS providers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL,
    models TEXT NOT NULL DEFAULT '[]',
    weight REAL,
    enabled INTEGER NOT NULL DEFAULT 1,
    use_for_batch_api INTEGER NOT NULL DEFAULT 0,
    credentials TEXT NOT NULL DEFAULT '{}',
    config_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_config_keys (
    provider_config_id INTEGER NOT NULL,
    key_row_id INTEGER NOT NULL,
    PRIMARY KEY (provider_config_id, key_row_id)
);
CREATE TABLE IF NOT EXISTS mcp_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS mcp_configs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    virtual_key_id TEXT NOT NULL,
    mcp_client_id INTEGER NOT NULL,
    tools_to_execute TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS mcps_vk ON mcp_configs (virtual_key_id);
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS model_configs (
    id TEXT PRIMARY KEY,
    model_name TEXT NOT NULL,
    provider TEXT,
    scope TEXT NOT NULL DEFAULT 'global',
    scope_id TEXT,
    calendar_aligned INTEGER NOT NULL DEFAULT 0,
    rate_limit_id TEXT,
    config_hash TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mcs_identity ON model_configs (scope, scope_id, model_name, provider);
CREATE INDEX IF NOT EXISTS mcs_created ON model_configs (created_at, id);
"""

# Columns added after the first release of the schema: a database file written before them gains them at open.
_ADDED_COLUMNS = (
    ("budgets", "customer_id", "TEXT"),
    ("budgets", "model_config_id", "TEXT"),
    ("budgets", "override_amount", "REAL"),
    ("budgets", "override_mode", "TEXT"),
    ("budgets", "override_cycles_remaining", "INTEGER"),
    ("budgets", "override_cycles_total", "INTEGER"),
    ("budgets", "override_anchor_reset", "TEXT"),
    ("rate_limits", "metric", "TEXT"),
    ("customers", "calendar_aligned", "INTEGER NOT NULL DEFAULT 0"),
    ("teams", "calendar_aligned", "INTEGER NOT NULL DEFAULT 0"),
    ("rate_limits", "model_config_id", "TEXT"),
    # Key expiry and rotation: times in integer nanoseconds since the epoch (see timestamps.py).
    ("virtual_keys", "expires_at", "INTEGER"),
    ("virtual_keys", "calendar_aligned", "INTEGER NOT NULL DEFAULT 0"),
    ("virtual_keys", "allow_all_providers", "INTEGER NOT NULL DEFAULT 0"),
    ("virtual_keys", "previous_value", "TEXT"),
    ("virtual_keys", "previous_value_expires_at", "INTEGER"),
    ("virtual_keys", "rotated_at", "INTEGER"),
    ("provider_configs", "blacklisted_models", "TEXT NOT NULL DEFAULT '[]'"),
    ("provider_configs", "allow_all_keys", "INTEGER NOT NULL DEFAULT 0"),
)


_second = -1
_second_text = ""


def now() -> str:
    """The current UTC time in RFC 3339 with nine fractional digits, as Bifrost's Go code writes it."""
    global _second, _second_text
    seconds, fraction = divmod(time.time_ns(), 1_000_000_000)
    if seconds != _second:  # the date and time are formatted once per second
        _second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second = seconds
    return f"{_second_text}.{fraction:09d}Z"


# The hex digit that carries the RFC 4122 variant (binary 10xx), by the random digit it replaces.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_id() -> str:
    """A fresh UUID v4 string, as ``str(uuid.uuid4())`` but in a third of the time.

    Example:
        >>> import uuid
        >>> parsed = uuid.UUID(new_id())
        >>> (parsed.version, parsed.variant == uuid.RFC_4122)
        (4, True)
    """
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def _connect(database: str) -> sqlite3.Connection:
    """Open the database; ``":memory:"`` lives in SQLite's ``memdb`` VFS where the SQLite build has it.

    A classic ``:memory:`` database keeps every page it ever wrote on the pager's dirty list, and each commit
    walks that list: a write costs more as the database grows (an insert into 300k teams took 16 us against
    9 us at the start). In the ``memdb`` VFS the database is an ordinary file that happens to live in memory,
    so a commit costs the same at any size. A name without a leading ``/`` keeps it private to the connection.
    """
    options: dict[str, Any] = {"isolation_level": None, "check_same_thread": False, "cached_statements": 512}
    if database == ":memory:":
        try:
            return sqlite3.connect("file:embedded-bifrost?vfs=memdb", uri=True, **options)
        except sqlite3.OperationalError:  # an SQLite older than 3.36 (no memdb VFS)
            pass
    return sqlite3.connect(database, **options)


class Store:
    """The database of one application instance.

    Args:
        database: ``":memory:"`` or a file path (data survives a restart).
        generation: Which API generation the handlers speak.

    Example:
        >>> from app.generations import V1_5
        >>> store = Store(":memory:", V1_5)
        >>> with store.transaction() as db:
        ...     _ = db.execute("SELECT count(*) FROM teams").fetchone()
    """

    def __init__(self, database: str, generation: Generation) -> None:
        self.generation = generation
        # isolation_level=None: transactions are ours to begin and end, explicitly.
        self.db = _connect(database)
        self.db.row_factory = sqlite3.Row
        if database != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.db.executescript(LOGS_SCHEMA)
        _add_missing_columns(self.db)
        self.db.execute("CREATE INDEX IF NOT EXISTS budgets_customer ON budgets (customer_id)")
        self.db.execute("CREATE INDEX IF NOT EXISTS budgets_mc ON budgets (model_config_id)")
        self.db.execute("CREATE INDEX IF NOT EXISTS rate_limits_mc ON rate_limits (model_config_id)")
        # A rotated-out value is looked up while its grace period runs (the quota endpoint).
        self.db.execute("CREATE INDEX IF NOT EXISTS vks_previous_value ON virtual_keys (previous_value)")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction: commit on success, roll back on any exception."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self.db.close()


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Add the columns of ``_ADDED_COLUMNS`` that a database file written by an older schema lacks."""
    present: dict[str, set[str]] = {}
    for table, column, declaration in _ADDED_COLUMNS:
        if table not in present:
            present[table] = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present[table]:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            present[table].add(column)
