"""OpenTelemetry tracing, when configured: one span per operation and one per upstream call.

Off by default (no cost per request). With ``OTEL_ENABLED=true`` the gateway exports spans with the
OTLP/HTTP exporter, configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables (install the
``otel`` extra). The caller's ``traceparent`` is the parent of the operation span, and every upstream
call carries the ``traceparent`` of its own span to Bifrost. A malformed caller trace context is ignored
(``app.trace_context``). Spans never carry variables or URLs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from app.trace_context import trace_context

__all__ = ["NO_TRACING", "OtelTracing", "Tracing", "otel_tracing_from_environment"]


class Tracing:
    """No tracing: both hooks are free context managers."""

    def operation(self, headers: Mapping[str, str]) -> AbstractContextManager[Any]:
        """Around one GraphQL request; ``headers`` are the caller's (for ``traceparent``)."""
        return nullcontext()

    def name_operation(self, span: Any, name: str | None, operation_type: str | None) -> None:
        """Label the operation span once the document is known."""

    def upstream(self, route: str, headers: MutableMapping[str, str]) -> AbstractContextManager[Any]:
        """Around one upstream call; may add ``traceparent`` to ``headers``."""
        return nullcontext()


NO_TRACING = Tracing()


class OtelTracing(Tracing):
    """Tracing through an OpenTelemetry tracer provider."""

    def __init__(self, tracer_provider: Any) -> None:
        from opentelemetry import propagate, trace

        self._tracer = trace.get_tracer("app", tracer_provider=tracer_provider)
        self._propagate = propagate
        self._kind = trace.SpanKind

    @contextmanager
    def operation(self, headers: Mapping[str, str]) -> Iterator[Any]:
        parent = self._propagate.extract(trace_context(headers))
        with self._tracer.start_as_current_span("graphql.request", context=parent, kind=self._kind.SERVER) as span:
            yield span

    def name_operation(self, span: Any, name: str | None, operation_type: str | None) -> None:
        if span is None:
            return
        if operation_type:
            span.set_attribute("graphql.operation.type", operation_type)
        if name:
            span.set_attribute("graphql.operation.name", name)
            span.update_name(f"{operation_type or 'graphql'} {name}")

    @contextmanager
    def upstream(self, route: str, headers: MutableMapping[str, str]) -> Iterator[Any]:
        with self._tracer.start_as_current_span(f"bifrost {route}", kind=self._kind.CLIENT) as span:
            span.set_attribute("http.route", route)
            self._propagate.inject(headers)
            yield span


def otel_tracing_from_environment(service_name: str) -> OtelTracing:
    """An OTLP/HTTP-exporting tracer provider configured by the standard OTEL_* variables."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return OtelTracing(provider)
