"""Logs and metrics: one JSON log line per request, Prometheus metrics, nothing secret in either.

Log lines carry the operation's name and type, duration, upstream call count, outcome and request id;
never variables, headers or URLs, and Bifrost's own texts only redacted (``app.redaction``). Metrics are
prometheus-client collectors in the default registry (``/metrics``, see ``app.web.metrics`` for who may
read them); with ``PROMETHEUS_MULTIPROC_DIR`` set, workers' metrics are merged. Label values are bounded:
operation names only from an operator's list (``OperationLabels``), upstream routes as templates.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Iterable
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from app.metric_series import LoopCounter, LoopHistogram

__all__ = [
    "DATALOADER_BATCH_SIZE",
    "LIVE_DROPPED",
    "LIVE_POLLS",
    "REDIS_ERRORS",
    "REQUESTS",
    "REQUEST_DURATION",
    "SHARED_QUERIES",
    "UPSTREAM_DEPRECATED",
    "UPSTREAM_DURATION",
    "UPSTREAM_REQUESTS",
    "UPSTREAM_SHARED_READS",
    "JsonFormatter",
    "OperationLabels",
    "configure_logging",
    "loggable_operation_name",
    "metrics_payload",
]

_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")

# The metrics every request updates count without a lock (``app.metric_series``); the rest are prometheus-client's.
REQUESTS = LoopCounter("gateway_requests_total", "GraphQL requests by operation and outcome", ["operation", "outcome"])
REQUEST_DURATION = LoopHistogram(
    "gateway_request_duration_seconds",
    "GraphQL request duration",
    ["operation_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UPSTREAM_REQUESTS = LoopCounter("gateway_upstream_requests_total", "Requests to Bifrost", ["route", "status"])
UPSTREAM_DURATION = LoopHistogram(
    "gateway_upstream_request_duration_seconds",
    "Duration of requests to Bifrost",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SHARED_QUERIES = Counter(
    "gateway_shared_queries_total",
    "Queries answered by an identical query already executing (no execution of their own)",
)
UPSTREAM_SHARED_READS = Counter(
    "gateway_upstream_shared_reads_total",
    "Reads answered by an identical call to Bifrost already in flight (no request of their own)",
    ["route"],
)
UPSTREAM_DEPRECATED = Counter(
    "gateway_upstream_deprecated_total",
    "Answers of Bifrost marked `Deprecation: true` (a route it keeps as an alias, due to be removed)",
    ["route"],
)
DATALOADER_BATCH_SIZE = LoopHistogram(
    "gateway_dataloader_batch_size",
    "Keys per DataLoader batch",
    ["loader"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250),
)
LIVE_POLLS = Counter(
    "gateway_live_polls_total",
    "Polls of Bifrost for live subscriptions (one per watched set per interval)",
    ["topic", "outcome"],
)
LIVE_DROPPED = Counter(
    "gateway_live_dropped_total", "Live subscribers dropped for not keeping up with the updates", ["topic"]
)
REDIS_ERRORS = Counter(
    "gateway_redis_errors_total",
    "Redis calls that failed (the request was answered from this process's own state instead)",
    ["operation"],
)


class OperationLabels:
    """The ``operation`` label of request metrics: a bounded set of values, whatever clients send.

    Operation names are chosen by clients, so a name becomes a label value only when the operator made it
    known: ``METRICS_OPERATION_NAMES``, or a trusted-documents manifest through ``allow`` (the hook for
    registering its operations at load). Anything else is ``other``, and a request without a name is
    ``anonymous``; the label set is at most the known names plus those two.

    Example:
        >>> labels = OperationLabels(["TeamsPage"])
        >>> [labels.label(n) for n in ("TeamsPage", "Attacker123", None)]
        ['TeamsPage', 'other', 'anonymous']
    """

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._known: frozenset[str] = frozenset()
        self.allow(known)

    def allow(self, names: Iterable[str]) -> None:
        """Make ``names`` label values (operator-controlled lists only: never names a client registered)."""
        self._known = self._known | {name for name in names if _GRAPHQL_NAME.fullmatch(name)}

    def label(self, name: str | None) -> str:
        """The label value for an operation name."""
        if not name:
            return "anonymous"
        return name if name in self._known else "other"


def loggable_operation_name(name: str | None) -> str:
    """The operation name for a log line: a GraphQL name of at most 100 characters, else ``other``.

    Log lines have no cardinality to protect, but a name that is not a GraphQL name did not come from a
    document (``operationName`` is free text) and is not written as given.
    """
    if not name:
        return "anonymous"
    return name if _GRAPHQL_NAME.fullmatch(name) else "other"


def metrics_payload() -> tuple[bytes, str]:
    """The Prometheus exposition of this process (or of all workers in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``extra`` fields."""

    _STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
        "message",
        "asctime",
        "color_message",
    }

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                line[key] = value
        # Tracebacks are never written: they can carry URLs and secrets from exception texts.
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str) -> None:
    """Send the gateway's logs to stderr as JSON lines; silence libraries that log URLs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
