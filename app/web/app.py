"""The web edge: a Starlette application serving /graphql, GraphiQL, health, readiness and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from app.bifrost import BifrostClient
from app.bifrost.coalesce import ReadCoalescer
from app.live import LiveHub, PolledIdBudget
from app.live.redis_hub import RedisHub, hub_for
from app.observability import LIVE_DROPPED, LIVE_POLLS, SHARED_QUERIES, OperationLabels
from app.schema import build_schema
from app.schema.cost_gate import CostGate
from app.schema.executor import Executor
from app.schema.federation import build_subgraph_schema
from app.schema.limits import Limits
from app.settings import Settings
from app.shared_state import SharedState
from app.tracing import NO_TRACING, Tracing, otel_tracing_from_environment
from app.web.callers import CallerPolicy
from app.web.edge import GatewayASGI
from app.web.graphiql import graphiql_page, graphiql_routes
from app.web.graphql_http import GraphQLEndpoint, RequestCeilings
from app.web.graphql_ws import GraphQLTransportWS
from app.web.idempotency import IdempotentMutations
from app.web.live_http import LiveSubscriptions
from app.web.metrics import public_metrics_route
from app.web.persisted_queries import PersistedQueries
from app.web.schema_sdl import schema_route
from app.web.subscriptions import ClientConnections, LiveService, passing_upstream_failure
from app.web.trusted_documents import load_trusted_documents
from app.web.upstream import EmbeddedBifrostTransport, build_bifrost_client, embedded_transport

__all__ = ["bifrost_client_of", "build_executor", "create_app"]

log = logging.getLogger("app.web")

CORS_HEADERS = [
    "authorization",
    "x-gateway-key",
    "x-bf-vk",  # a key holder's dashboard in the browser (myVirtualKey)
    "content-type",
    "x-request-id",
    "traceparent",
    "tracestate",
    "apollo-require-preflight",
    "x-query-cost",
    "idempotency-key",
]


def create_app(
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    tracing: Tracing | None = None,
    live_hub: LiveHub | None = None,
) -> GatewayASGI:
    """Build the gateway. The Bifrost client is created here (not at first request) and closed at shutdown.

    Args:
        settings: the settings; read from the environment when omitted.
        transport: replaces the upstream wire (tests pass an ASGI or mock transport).
        tracing: replaces the tracing set up from settings (tests pass an in-memory tracer provider).
        live_hub: replaces the in-process poller hub (tests pass one whose clock they step).
    """
    settings = settings or Settings()
    if tracing is None:
        tracing = otel_tracing_from_environment(settings.otel_service_name) if settings.otel_enabled else NO_TRACING
    executor = build_executor(settings)
    schema = executor.schema
    trusted_documents = load_trusted_documents(settings, executor)  # before anything is opened: it may refuse
    if transport is None and settings.uses_embedded_bifrost:
        transport = embedded_transport(settings)
    client = build_bifrost_client(settings, transport, tracing)
    shared = SharedState.from_settings(settings)
    shared_queries = ReadCoalescer(_record_shared_query) if settings.coalesce_queries else None
    if shared_queries is not None:
        client.periods.append(shared_queries)
    endpoint = GraphQLEndpoint(
        executor,
        client,
        dataloader_concurrency=settings.dataloader_concurrency,
        max_body_bytes=settings.max_body_bytes,
        max_document_bytes=settings.max_document_bytes,
        ceilings=RequestCeilings(
            upstream_calls=settings.max_upstream_calls_per_request,
            upstream_bytes=settings.max_upstream_bytes_per_request,
            response_bytes=settings.max_response_bytes,
        ),
        persisted_queries=PersistedQueries(settings.apq_cache_size, settings.apq_cache_bytes),
        graphiql_html=None if settings.is_production else graphiql_page(),
        callers=CallerPolicy.from_settings(settings),
        login_limiter=shared.login_limiter,
        tracing=tracing,
        idempotent_mutations=IdempotentMutations(
            shared.idempotency, names=shared.names, wait=settings.idempotency_wait
        ),
        operation_labels=OperationLabels([*settings.metrics_operation_names, *trusted_documents.operation_names]),
        shared_documents=shared.documents,
        trusted_documents=trusted_documents,
        shared_queries=shared_queries,
    )
    live = LiveService(
        executor,
        client,
        live_hub or hub_for(settings, shared.redis, observe=_record_live, tolerate=passing_upstream_failure),
        max_watched_ids=settings.live_max_watched_ids,
        max_document_bytes=settings.max_document_bytes,
        dataloader_concurrency=settings.dataloader_concurrency,
        connections=ClientConnections(settings.live_max_connections_per_client),
        ceilings=endpoint.ceilings,
        trusted_documents=trusted_documents,
        persisted_queries=endpoint.persisted_queries,
        polled_ids=PolledIdBudget(settings.live_max_polled_ids_per_client),
        names=shared.names,
    )
    endpoint.subscriptions = LiveSubscriptions(live)  # SSE and multipart streams at POST/GET /graphql
    websocket = GraphQLTransportWS(
        live,
        endpoint.callers,
        allowed_origins=settings.cors_allow_origins,
        init_timeout=settings.live_connection_init_timeout,
        ping_interval=settings.live_ping_interval,
        max_message_bytes=settings.live_max_message_bytes,
        max_subscriptions=settings.live_max_subscriptions_per_connection,
    )
    _warn_about_service_credentials(settings)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        if await client.session({}).health():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "reason": "Bifrost /health did not answer 200"}, status_code=503)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if isinstance(transport, EmbeddedBifrostTransport):
            await transport.start_background()  # the embedded server's demo traffic, when turned on
        yield
        if isinstance(live.hub, RedisHub):
            await live.hub.aclose()  # leases given up: the other replicas take over at once
        await client.aclose()
        await shared.aclose()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    metrics = public_metrics_route(settings)
    if metrics is not None:
        routes.append(metrics)
    if not settings.is_production:
        routes += graphiql_routes()
    if settings.schema_endpoint:
        routes.append(schema_route(schema.as_str()))
    rest = Starlette(routes=routes, lifespan=lifespan)
    rest.state.settings = settings
    rest.state.bifrost = client
    rest.state.schema = schema
    rest.state.executor = executor
    rest.state.persisted_queries = endpoint.persisted_queries
    rest.state.shared = shared
    rest.state.operation_labels = endpoint.operation_labels
    rest.state.trusted_documents = trusted_documents
    rest.state.live = live
    wrap = None
    if settings.cors_allow_origins:
        origins = settings.cors_allow_origins

        def wrap(asgi: ASGIApp) -> ASGIApp:
            return CORSMiddleware(
                asgi,
                allow_origins=origins,
                allow_credentials=True,
                allow_methods=["GET", "POST"],
                allow_headers=CORS_HEADERS,
                expose_headers=["x-request-id", "idempotent-replayed"],
                max_age=600,
            )

    return GatewayASGI(endpoint.handle, rest, wrap=wrap, websocket=websocket)


def build_executor(settings: Settings) -> Executor:
    """The schema, with the limits ``settings`` set, and the executor that prepares and runs its documents."""
    limits = Limits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        introspection=not settings.is_production,
        max_cost=settings.max_query_cost,
    )
    return Executor(
        build_subgraph_schema() if settings.federation else build_schema(),
        limits,
        hide_suggestions=settings.is_production,
        compiled=settings.gateway_compiled_execution,
        gate=CostGate(settings.max_cost_in_flight, settings.queue_above_cost),
    )


def _record_shared_query(key: object) -> None:
    SHARED_QUERIES.inc()


def _record_live(topic: str, what: str) -> None:
    if what == "dropped":
        LIVE_DROPPED.labels(topic).inc()
    else:
        LIVE_POLLS.labels(topic, what).inc()


def _warn_about_service_credentials(settings: Settings) -> None:
    if not settings.has_service_credentials:
        return
    if settings.allow_anonymous_service_credentials:
        log.warning(
            "ALLOW_ANONYMOUS_SERVICE_CREDENTIALS is set: every caller without credentials acts upstream "
            "with the service credential (reads, writes and deletes)"
        )
    elif not settings.gateway_api_keys:
        log.warning("a service credential is set but GATEWAY_API_KEYS is empty: no caller can use it")


def bifrost_client_of(app: GatewayASGI) -> BifrostClient:
    """The application's Bifrost client (for tests and tooling)."""
    client: BifrostClient = app.state.bifrost
    return client
