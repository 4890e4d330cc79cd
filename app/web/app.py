"""The web edge: a Starlette application serving /graphql, GraphiQL, health and readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from app.bifrost import BifrostClient
from app.schema import build_schema
from app.settings import Settings
from app.web.graphiql import graphiql_page, graphiql_routes
from app.web.graphql_http import GraphQLEndpoint
from app.web.upstream import build_bifrost_client

__all__ = ["create_app"]

MAX_BODY_BYTES = 1024 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """Build the gateway. The Bifrost client is created here (not at first request) and closed at shutdown.

    Args:
        settings: the settings; read from the environment when omitted.
        transport: replaces the upstream wire (tests pass an ASGI or mock transport).
    """
    settings = settings or Settings()
    client = build_bifrost_client(settings, transport)
    schema = build_schema(production=settings.is_production)
    endpoint = GraphQLEndpoint(
        schema,
        client,
        dataloader_concurrency=settings.dataloader_concurrency,
        max_body_bytes=MAX_BODY_BYTES,
        graphiql_html=None if settings.is_production else graphiql_page(),
    )

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        if await client.session({}).health():
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "reason": "Bifrost health check failed"}, status_code=503)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if not settings.is_production:
        routes += graphiql_routes()
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.bifrost = client
    app.state.schema = schema
    return app


def bifrost_client_of(app: Starlette) -> BifrostClient:
    """The application's Bifrost client (for tests and tooling)."""
    client: BifrostClient = app.state.bifrost
    return client
