"""Session-wide: the report header names the seed of the differential tests, so a failure can be repeated."""

from __future__ import annotations

import pytest

from tests.gateway.document_variants import DIFFERENTIAL_SEED


def pytest_report_header(config: pytest.Config) -> str:
    return f"differential tests: DIFFERENTIAL_SEED={DIFFERENTIAL_SEED} (set it to repeat this run)"
