"""Virtual key rotation with a grace period, as Bifrost's ``VirtualKeyRotator`` does it.

Rotating a key gives it a new ``sk-bf-<uuid>`` value and stamps ``rotated_at``. The value it replaces keeps
authenticating until ``previous_value_expires_at`` (now + ``client_config.vk_rotation_cooldown``); with no
cooldown it dies at once. Only one old value is kept, so a second rotation ends the first one's grace. Saving
a zero cooldown revokes every running grace window.

The cooldown lives in the ``meta`` table, so it survives a restart with a file database.
"""

from __future__ import annotations

import sqlite3
import uuid

from .db import now

__all__ = [
    "MAX_COOLDOWN_NS",
    "VALUE_PREFIX",
    "key_by_value",
    "new_value",
    "revoke_grace_windows",
    "rotate",
    "rotation_cooldown",
    "set_rotation_cooldown",
]

VALUE_PREFIX = "sk-bf-"
MAX_COOLDOWN_NS = 30 * 24 * 3600 * 10**9  # Bifrost's bound: a longer grace would defeat the rotation
_COOLDOWN_KEY = "vk_rotation_cooldown_ns"


def new_value() -> str:
    """A fresh virtual key value, ``sk-bf-<uuid>``."""
    return f"{VALUE_PREFIX}{uuid.uuid4()}"


def rotation_cooldown(db: sqlite3.Connection) -> int:
    """The grace period of a rotated-out value, in nanoseconds (0: none)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (_COOLDOWN_KEY,)).fetchone()
    return int(row[0]) if row is not None else 0


def set_rotation_cooldown(db: sqlite3.Connection, cooldown_ns: int) -> None:
    """Store the grace period; zero also revokes every running grace window."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_COOLDOWN_KEY, str(cooldown_ns)),
    )
    if cooldown_ns == 0:
        revoke_grace_windows(db)


def revoke_grace_windows(db: sqlite3.Connection) -> None:
    """Forget every rotated-out value: from now on only current values authenticate."""
    db.execute(
        "UPDATE virtual_keys SET previous_value = NULL, previous_value_expires_at = NULL"
        " WHERE previous_value IS NOT NULL"
    )


def rotate(db: sqlite3.Connection, vk_id: str, now_ns: int) -> bool:
    """Give a key a new value, keeping the old one for the configured grace period.

    Args:
        db: The connection, inside the caller's transaction.
        vk_id: The key to rotate.
        now_ns: The current time in nanoseconds since the epoch.

    Returns:
        False when no key has that id.
    """
    row = db.execute("SELECT value FROM virtual_keys WHERE id = ?", (vk_id,)).fetchone()
    if row is None:
        return False
    cooldown = rotation_cooldown(db)
    previous, expires = (row[0], now_ns + cooldown) if cooldown > 0 else (None, None)
    db.execute(
        "UPDATE virtual_keys SET value = ?, previous_value = ?, previous_value_expires_at = ?, rotated_at = ?,"
        " updated_at = ? WHERE id = ?",
        (new_value(), previous, expires, now_ns, now(), vk_id),
    )
    return True


def key_by_value(db: sqlite3.Connection, value: str, now_ns: int) -> sqlite3.Row | None:
    """The key a credential names: its current value, or a rotated-out one still inside its grace period.

    The grace window is half-open: at ``previous_value_expires_at`` itself the old value has expired.
    """
    row: sqlite3.Row | None = db.execute("SELECT * FROM virtual_keys WHERE value = ?", (value,)).fetchone()
    if row is None:
        row = db.execute(
            "SELECT * FROM virtual_keys WHERE previous_value = ? AND previous_value_expires_at > ?", (value, now_ns)
        ).fetchone()
    return row
