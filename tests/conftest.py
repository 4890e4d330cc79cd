"""Session-wide: the report header names the seed of the differential tests, so a failure can be repeated, and how
the compiled hot modules run (``app/native.py``).

A test marked ``interpreted`` replaces a function or method inside a module that may be compiled, to watch or steer
it; compiled, calls inside the module no longer look the name up, so the replacement is not seen. Such tests are
deselected while the compiled modules are in use; ``make test`` runs them in its second run, with
``GATEWAY_NATIVE=false`` (``-m interpreted``), so each runs once.
"""

from __future__ import annotations

import pytest

from app import native
from tests.gateway.document_variants import DIFFERENTIAL_SEED


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"differential tests: DIFFERENTIAL_SEED={DIFFERENTIAL_SEED} (set it to repeat this run)",
        f"compiled modules: {native.STATUS}",
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not native.STATUS.startswith("on"):
        return
    kept = [item for item in items if item.get_closest_marker("interpreted") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("interpreted")])
        items[:] = kept
