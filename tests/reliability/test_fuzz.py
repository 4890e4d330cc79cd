"""Schema-driven fuzzing (hypothesis-graphql), seeded and bounded.

Whatever a client sends: no 5xx, no masked bug (``INTERNAL_SERVER_ERROR``), and nothing internal in the
response text: no upstream URL, no Python traceback, no full virtual-key value (unless asked to reveal it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from app.schema.export import export_sdl
from tests.reliability.inprocess import check, demo_gateway, demo_ids

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def fuzz(mode: Any) -> None:
    with asyncio.Runner() as runner:
        http, upstream = demo_gateway()
        ids = demo_ids(upstream)
        scalars = {
            "ID": st.sampled_from(ids).map(nodes.String) | st.text(max_size=40).map(nodes.String),
            "Int64": st.integers(-(2**70), 2**70).map(nodes.Int),
            "DateTime": st.datetimes().map(lambda d: nodes.String(d.isoformat())),
            "JSON": st.text(max_size=20).map(nodes.String),
        }

        @FUZZ
        @given(document=from_schema(export_sdl(), custom_scalars=scalars, mode=mode))
        def one(document: str) -> None:
            response = runner.run(http.post("/graphql", json={"query": document}))
            check(response, document)

        try:
            one()
        finally:
            runner.run(http.aclose())


def test_fuzz_valid_operations() -> None:
    fuzz(Mode.POSITIVE)


def test_fuzz_operations_with_one_schema_violation() -> None:
    fuzz(Mode.NEGATIVE)
