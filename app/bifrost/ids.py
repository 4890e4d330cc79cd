"""Validation of ids that go into upstream URL paths.

Bifrost's ids are UUIDs, but deployments configured from files may use other slugs, so the rule is
a conservative character set rather than a UUID: nothing that can change the route (``/``, ``.``,
``?``, ``#``, ``%``, whitespace) can pass.
"""

from __future__ import annotations

import re

__all__ = ["MAX_ID_LENGTH", "is_valid_id"]

MAX_ID_LENGTH = 128
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_valid_id(value: str) -> bool:
    """True when ``value`` is safe to place in an upstream URL path segment.

    Example:
        >>> is_valid_id("3f2b6c1e-0d4a-4c8e-9a57-2f1d1c0b9e11"), is_valid_id("../budgets")
        (True, False)
    """
    return _ID.fullmatch(value) is not None
