"""Whether compiled execution may run on the installed Strawberry and graphql-core.

``app.schema.compiled`` reads names both libraries keep private (Strawberry's resolver wrappers, argument
conversion and resolve info class, graphql-core's ``collect_fields``, ``CollectedErrors``, variable signatures
and values). It has been tested on
the versions ``TESTED_RANGES`` lists, the same ranges ``pyproject.toml`` declares (a test keeps the two
equal). Outside them, or when one of those names is gone, the executor runs every document on graphql-core's
public executor instead and logs why once: a library upgrade may make the gateway slower, never wrong.

Example:
    >>> compiled_execution_refusal({"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}) is None
    True
    >>> compiled_execution_refusal({"strawberry-graphql": "0.350.0", "graphql-core": "3.3.2"})
    'strawberry-graphql 0.350.0 is outside the range compiled execution was tested on (>=0.341.2,<0.342)'
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["TESTED_RANGES", "compiled_execution_refusal", "installed_versions"]

TESTED_RANGES: Mapping[str, str] = {
    "strawberry-graphql": ">=0.341.2,<0.342",
    "graphql-core": ">=3.3.2,<3.4",
}
"""Distribution name -> the versions the whole suite has passed on, in both execution modes."""


def installed_versions() -> dict[str, str]:
    """The installed version of each library in ``TESTED_RANGES`` (absent when it is not installed)."""
    found: dict[str, str] = {}
    for name in TESTED_RANGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def compiled_execution_refusal(versions: Mapping[str, str] | None = None) -> str | None:
    """Why compiled execution must not run here, or None when it may.

    Args:
        versions: distribution name -> version; the installed ones when omitted.
    """
    if versions is None:
        return _refusal_here()
    for name, tested in TESTED_RANGES.items():
        found = versions.get(name)
        try:
            inside = found is not None and Version(found) in SpecifierSet(tested)
        except InvalidVersion:
            inside = False
        if not inside:
            return (
                f"{name} {found or '(not installed)'} is outside the range compiled execution was tested on ({tested})"
            )
    try:
        import_module("app.schema.compiled")
    except ImportError as error:
        # The private names moved although the version is in range (a patched or vendored build).
        return f"compiled execution cannot import what it relies on ({error})"
    return None


@cache
def _refusal_here() -> str | None:
    # Asked once per executor; the installed versions do not change while the process runs.
    return compiled_execution_refusal(installed_versions())
