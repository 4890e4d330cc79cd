"""Building the one pooled Bifrost client of a process from settings.

With ``BIFROST_URL`` set, requests go over the wire through the gateway's own HTTP/1.1 client (``H1Wire``:
the cheapest client measured, see ``app/bifrost/h1wire.py``), Rust's reqwest (``ReqwestWire``) or aiohttp
(``AiohttpWire``), as ``UPSTREAM_HTTP_CLIENT`` says. Without it, the embedded Bifrost-compatible server
answers in-process through ``httpx.ASGITransport``; tests pass any httpx transport (ASGI, mock) instead.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from app.bifrost import BifrostClient
from app.bifrost.breaker import CircuitBreaker
from app.bifrost.h1wire import H1Wire
from app.bifrost.wire import AiohttpWire, HttpxWire, ReqwestWire, Wire
from app.observability import UPSTREAM_DEPRECATED, UPSTREAM_DURATION, UPSTREAM_REQUESTS, UPSTREAM_SHARED_READS
from app.settings import Settings
from app.tracing import NO_TRACING, Tracing

__all__ = ["EmbeddedBifrostTransport", "build_bifrost_client", "embedded_transport"]


class EmbeddedBifrostTransport(httpx.ASGITransport):
    """The in-process wire to the embedded server, which also runs the server's background work (demo traffic).

    httpx does not run an ASGI app's lifespan, so the gateway starts the work with :meth:`start_background`
    at its own start-up; closing the transport (the client's ``aclose`` at shutdown) stops it.
    """

    def __init__(self, app: Any) -> None:
        super().__init__(app=app)
        self.embedded = app

    async def start_background(self) -> None:
        """Start the embedded server's background work."""
        await self.embedded.startup()

    async def aclose(self) -> None:
        await self.embedded.shutdown()
        await super().aclose()


def embedded_transport(settings: Settings) -> EmbeddedBifrostTransport:
    """A fresh embedded server as settings describe it, behind an in-process transport."""
    from app.embedded_bifrost import create_app as create_embedded_bifrost
    from app.embedded_bifrost.demo_traffic import DemoTraffic
    from app.generations import Feature

    embedded = create_embedded_bifrost(
        database=settings.embedded_bifrost_database,
        generation=settings.embedded_generation,
        demo=settings.embedded_bifrost_demo,
    )
    if settings.embedded_bifrost_demo_traffic and settings.embedded_generation.has(Feature.INFERENCE):
        embedded.background.append(DemoTraffic(embedded))
    return EmbeddedBifrostTransport(embedded)


def build_bifrost_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None, tracing: Tracing = NO_TRACING
) -> BifrostClient:
    """The process-wide client; ``transport`` replaces the wire (tests use ASGI and mock transports)."""
    # httpx logs every request's full URL at INFO: upstream URLs never reach a log line.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return BifrostClient(
        _wire(settings, transport),
        generation=settings.fixed_api_generation,
        total_timeout=settings.upstream_total_timeout,
        max_response_bytes=settings.upstream_max_response_bytes,
        read_retries=settings.upstream_read_retries,
        breaker=CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_reset_seconds),
        observe=_record_upstream,
        tracing=tracing,
        coalesce_reads=settings.upstream_coalesce_reads,
        lean_team_pages=settings.lean_team_pages,
        on_shared_read=_record_shared_read,
        on_deprecated=_record_deprecated,
    )


# The wires to a real Bifrost, by UPSTREAM_HTTP_CLIENT.
_WIRES: dict[str, type[AiohttpWire | ReqwestWire | H1Wire]] = {
    "reqwest": ReqwestWire,
    "aiohttp": AiohttpWire,
    "h1": H1Wire,
}


def _wire(settings: Settings, transport: httpx.AsyncBaseTransport | None) -> Wire:
    if transport is None and not settings.uses_embedded_bifrost:
        wire = _WIRES[settings.upstream_http_client]
        return wire(
            settings.upstream_base_url,
            max_connections=settings.upstream_max_connections,
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_read_timeout,
        )
    if transport is None:
        transport = embedded_transport(settings)
    timeout = httpx.Timeout(
        connect=settings.upstream_connect_timeout,
        read=settings.upstream_read_timeout,
        write=settings.upstream_read_timeout,
        pool=settings.upstream_connect_timeout,
    )
    return HttpxWire(
        httpx.AsyncClient(
            base_url=settings.upstream_base_url,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )
    )


# Each call's metrics by (route template, outcome), resolved once: ``labels()`` validates and locks on every
# use. Bounded as the metrics are: a few dozen route templates times the statuses Bifrost answers.
_UPSTREAM_SERIES: dict[tuple[str, str], tuple[Any, Any]] = {}


def _record_upstream(route: str, outcome: str, seconds: float) -> None:
    series = _UPSTREAM_SERIES.get((route, outcome))
    if series is None:
        series = _UPSTREAM_SERIES[(route, outcome)] = (
            UPSTREAM_REQUESTS.labels(route, outcome),
            UPSTREAM_DURATION.labels(route),
        )
    series[0].inc()
    series[1].observe(seconds)


def _record_shared_read(route: str) -> None:
    UPSTREAM_SHARED_READS.labels(route).inc()


def _record_deprecated(route: str) -> None:
    UPSTREAM_DEPRECATED.labels(route).inc()
