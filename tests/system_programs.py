"""Debian programs some tests need (Chromium, redis-server): required in CI, optional on a developer's machine.

``.ci/run`` installs them, and CI (``CI=true``) fails a test whose program is missing. On a machine with only
Python, pip and make (what the README's two commands promise to need) such a test is skipped, with a reason
that says which package brings it.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["in_ci", "require_program"]


def in_ci() -> bool:
    """True when running under CI (``CI=true``, as ``.ci/run`` is run)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_program(path: str | None, package: str, needed_by: str) -> None:
    """Fail in CI, skip elsewhere, when the executable ``path`` (None: not found) is missing.

    Example:
        >>> require_program("/bin/sh", "dash", "this example")
    """
    if path is not None and os.access(path, os.X_OK):
        return
    message = f"{needed_by} needs Debian's {package} package (apt-get install -y {package})"
    if in_ci():
        pytest.fail(f"{message}; CI requires it")
    pytest.skip(f"{message}; CI always runs it")
