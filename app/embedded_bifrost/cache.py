"""Governance GET answers, kept until the database changes.

The server is the upstream of benchmarks and must stay much faster than what is measured in front of it;
a dashboard re-reads the same lists between writes. The answers are pure functions of the database, so an
answer is reused while the database is unchanged, which the version below tells exactly:

* ``total_changes`` counts every row written through the connection (by any code holding it, in or out of a
  transaction, committed or rolled back: a rollback only costs a needless rebuild);
* ``PRAGMA data_version`` changes when another connection commits to the same database file.
"""

from __future__ import annotations

import sqlite3

__all__ = ["AnswerCache"]


class AnswerCache:
    """JSON answers by request, valid for one version of the database.

    Args:
        db: The store's connection.
        max_entries: How many answers to keep at most (all are dropped when full).

    Example:
        >>> cache = AnswerCache(sqlite3.connect(":memory:"))
        >>> version = cache.version()
        >>> cache.get(("/teams", b""), version) is None
        True
        >>> cache.put(("/teams", b""), version, b"{}")
        >>> cache.get(("/teams", b""), version)
        b'{}'
    """

    def __init__(self, db: sqlite3.Connection, max_entries: int = 64) -> None:
        self.db = db
        self.max_entries = max_entries
        self._version: tuple[int, int] | None = None
        self._answers: dict[tuple[str, bytes], bytes] = {}

    def version(self) -> tuple[int, int]:
        """The database's version now: it differs after any change."""
        return self.db.total_changes, self.db.execute("PRAGMA data_version").fetchone()[0]

    def get(self, key: tuple[str, bytes], version: tuple[int, int]) -> bytes | None:
        """The answer kept for a request (path, query string) at this version, if any."""
        if version != self._version:
            self._answers.clear()
            self._version = version
            return None
        return self._answers.get(key)

    def put(self, key: tuple[str, bytes], version: tuple[int, int], answer: bytes) -> None:
        """Keep an answer computed at ``version`` (ignored if the database changed meanwhile)."""
        if version != self._version or self.version() != version:
            return
        if len(self._answers) >= self.max_entries:
            self._answers.clear()
        self._answers[key] = answer
