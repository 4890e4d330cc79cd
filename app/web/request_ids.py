"""Fresh request ids: 128 bits from the operating system's random source as 32 hex digits (``uuid4().hex``'s size).

Asking the operating system for 16 bytes is a system call per request; the bytes are read for ``BATCH`` ids at
a time instead, and a forked child drops what its parent read, so no two processes hand out the same ids.
Ids are taken on the event loop's thread only.

Example:
    >>> first, second = fresh_request_id(), fresh_request_id()
    >>> len(first), first != second, int(first, 16) >= 0
    (32, True, True)
"""

from __future__ import annotations

import os

__all__ = ["BATCH", "fresh_request_id"]

BATCH = 256
"""Ids read from the operating system at once."""

_read = ""  # hex digits of the ids read and not yet handed out, from ``_at`` on
_at = 0


def fresh_request_id() -> str:
    """The next unused id."""
    global _read, _at
    at = _at
    if at == len(_read):
        _read, at = os.urandom(16 * BATCH).hex(), 0
    _at = at + 32
    return _read[at : at + 32]


def _drop_what_the_parent_read() -> None:
    global _read, _at
    _read, _at = "", 0


os.register_at_fork(after_in_child=_drop_what_the_parent_read)
