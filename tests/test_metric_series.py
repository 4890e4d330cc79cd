"""The request metrics counted without a lock expose exactly what prometheus-client's own metrics would.

Differential: the same updates go to prometheus-client's ``Counter``/``Histogram`` in one registry and to
``LoopCounter``/``LoopHistogram`` in another, and the two expositions (text and OpenMetrics) must be equal,
``_created`` included. In multiprocess mode every update must reach the files the scrape merges.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    enable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from app.metric_series import LoopCounter, LoopHistogram
from tests.gateway.document_variants import DIFFERENTIAL_SEED

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LABEL_VALUES = st.sampled_from(["ok", "other", "GET /api/governance/teams/{id}", 'q"uote\\', "ünï", "", 200, 1.5])
AMOUNTS = st.one_of(
    st.sampled_from([*BUCKETS, 0.0, -0.0, -1.0, math.inf, -math.inf, math.nan, 1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-5, max_value=300),
)
UPDATE = st.tuples(st.sampled_from(["count", "observe", "size"]), LABEL_VALUES, LABEL_VALUES, AMOUNTS)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both kinds stamp a series' ``_created`` when it is made: the same clock for both.
    monkeypatch.setattr(time, "time", lambda: 1764478203.25)


@pytest.fixture
def created_off() -> Iterator[None]:
    disable_created_metrics()
    try:
        yield
    finally:
        enable_created_metrics()


def families(loop: bool) -> tuple[CollectorRegistry, dict[str, object]]:
    registry = CollectorRegistry()
    counter, histogram = (LoopCounter, LoopHistogram) if loop else (Counter, Histogram)
    metrics = {
        "count": counter(
            "demo_requests_total", "Requests by operation and outcome", ["operation", "outcome"], registry=registry
        ),
        "observe": histogram(
            "demo_duration_seconds", "Duration", ["route", "kind"], buckets=BUCKETS, registry=registry
        ),
        "size": histogram(
            "demo_batch_size",
            "Keys per batch",
            ["loader", "kind"],
            buckets=(1, 2, 5, 10, 25, 50, 100, 250),
            registry=registry,
        ),
    }
    return registry, metrics


def apply(metrics: dict[str, object], updates: list[tuple[str, object, object, float]]) -> list[str]:
    """Apply each update; what each raised (a negative count), in order."""
    raised = []
    for kind, first, second, amount in updates:
        series = metrics[kind].labels(first, second)  # type: ignore[attr-defined]
        try:
            if kind == "count":
                series.inc(amount)
            else:
                series.observe(amount)
        except ValueError as error:
            raised.append(str(error))
    return raised


def expositions(updates: list[tuple[str, object, object, float]]) -> tuple[tuple[bytes, bytes, list[str]], ...]:
    results = []
    for loop in (False, True):
        registry, metrics = families(loop)
        raised = apply(metrics, updates)
        results.append((generate_latest(registry), generate_openmetrics(registry), raised))
    return tuple(results)


@seed(DIFFERENTIAL_SEED)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(UPDATE, max_size=40))
def test_same_updates_give_the_same_exposition(updates: list[tuple[str, object, object, float]]) -> None:
    prometheus, loop = expositions(updates)
    assert loop == prometheus


def test_every_bucket_edge_and_odd_value_lands_where_prometheus_puts_it() -> None:
    edges = [value for bound in BUCKETS for value in (bound, math.nextafter(bound, 0), math.nextafter(bound, 99))]
    odd = [0.0, -0.0, -1.0, math.inf, -math.inf, math.nan, 1e300, 11, 10]
    updates = [("observe", "GET /x", "a", value) for value in edges + odd]
    prometheus, loop = expositions(updates)
    assert loop == prometheus
    # NaN falls in no bucket: the count is one short of the observations, as prometheus-client counts it.
    assert f'demo_duration_seconds_count{{kind="a",route="GET /x"}} {len(updates) - 1}.0'.encode() in loop[0]


def test_a_negative_count_is_refused_as_prometheus_refuses_it() -> None:
    prometheus, loop = expositions([("count", "A", "ok", 1), ("count", "A", "ok", -1), ("count", "A", "ok", 2)])
    assert loop == prometheus
    assert loop[2] == ["Counters can only be incremented by non-negative amounts."]
    assert b'demo_requests_total{operation="A",outcome="ok"} 3.0' in loop[0]


def test_label_values_given_as_numbers_or_text_are_one_series() -> None:
    updates = [
        ("count", 200, "ok", 1),
        ("count", "200", "ok", 1),
        ("observe", 1.5, "a", 0.2),
        ("observe", "1.5", "a", 0.2),
    ]
    prometheus, loop = expositions(updates)
    assert loop == prometheus
    assert b'demo_requests_total{operation="200",outcome="ok"} 2.0' in loop[0]


def test_the_wrong_number_of_labels_is_refused() -> None:
    _, metrics = families(True)
    with pytest.raises(ValueError, match="Incorrect label count"):
        metrics["count"].labels("only-one")  # type: ignore[attr-defined]


def test_without_created_series_neither_exposes_them(created_off: None) -> None:
    prometheus, loop = expositions([("count", "A", "ok", 1), ("observe", "r", "k", 0.3)])
    assert loop == prometheus
    assert b"_created" not in loop[0]


def test_an_unused_family_exposes_its_help_and_type_only() -> None:
    prometheus, loop = expositions([])
    assert loop == prometheus
    assert b"# TYPE demo_requests_total counter" in loop[0]


def test_a_name_registered_twice_is_refused_as_before() -> None:
    registry, _ = families(True)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("demo_requests_total", "again", registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        LoopHistogram("demo_batch_size", "again", ["loader"], buckets=(1, 2), registry=registry)


def test_the_gateway_metrics_are_read_through_the_registry() -> None:
    from prometheus_client import REGISTRY

    from app.observability import REQUESTS

    before = REGISTRY.get_sample_value("gateway_requests_total", {"operation": "SeriesProbe", "outcome": "ok"}) or 0.0
    REQUESTS.labels("SeriesProbe", "ok").inc()
    assert (
        REGISTRY.get_sample_value("gateway_requests_total", {"operation": "SeriesProbe", "outcome": "ok"}) == before + 1
    )


MULTIPROCESS_WORKER = """
import sys
from app.observability import DATALOADER_BATCH_SIZE, REQUEST_DURATION, REQUESTS, UPSTREAM_DURATION, UPSTREAM_REQUESTS
from prometheus_client import Counter, Histogram
assert isinstance(REQUESTS.labels("Probe", "ok"), Counter), type(REQUESTS.labels("Probe", "ok"))
assert isinstance(REQUEST_DURATION.labels("query"), Histogram)
for _ in range(int(sys.argv[1])):
    REQUESTS.labels("Probe", "ok").inc()
    REQUEST_DURATION.labels("query").observe(0.003)
    UPSTREAM_REQUESTS.labels("GET /api/governance/teams/{id}", "200").inc()
    UPSTREAM_DURATION.labels("GET /api/governance/teams/{id}").observe(0.0007)
    DATALOADER_BATCH_SIZE.labels("get_team").observe(1)
"""


def test_in_multiprocess_mode_every_workers_updates_reach_the_merged_scrape(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "BIFROST_URL": "http://127.0.0.1:9"}
    root = Path(__file__).resolve().parent.parent
    for updates in (3, 4):  # two workers, each its own process
        subprocess.run([sys.executable, "-c", MULTIPROCESS_WORKER, str(updates)], env=env, cwd=root, check=True)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    value = registry.get_sample_value
    assert value("gateway_requests_total", {"operation": "Probe", "outcome": "ok"}) == 7
    assert value("gateway_request_duration_seconds_bucket", {"operation_type": "query", "le": "0.005"}) == 7
    assert value("gateway_request_duration_seconds_bucket", {"operation_type": "query", "le": "0.0025"}) == 0
    route = "GET /api/governance/teams/{id}"
    assert value("gateway_upstream_requests_total", {"route": route, "status": "200"}) == 7
    assert value("gateway_upstream_request_duration_seconds_count", {"route": route}) == 7
    assert value("gateway_dataloader_batch_size_bucket", {"loader": "get_team", "le": "1.0"}) == 7
