"""The outermost ASGI callable: /graphql straight to its endpoint, everything else to Starlette.

The GraphQL endpoint is the hot path; Starlette's routing and middleware stack cost about a tenth of
a request there, so it is dispatched directly (CORS still applies when configured). A WebSocket at /graphql
goes to the graphql-transport-ws handler (``app.web.graphql_ws``). Health, metrics, GraphiQL assets and
lifespan go through the Starlette application as usual.

Served by the gateway's own protocol (``app.http_limits``, ``HTTP_DIRECT_RESPONSES``), a complete answer is
written to the connection in one write by ``respond_directly``, as uvicorn's ``send`` would write its head and
body; a stream, an answer with a background task, or anything ``send`` must frame or refuse goes through ASGI.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.http_limits import direct_cycle, respond_directly
from app.web.request_headers import GatewayRequest

__all__ = ["GatewayASGI"]

log = logging.getLogger("app.web")
_INTERNAL_ERROR = b'{"errors":[{"message":"Unexpected error.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}'


class GatewayASGI:
    """Dispatches by path; ``state`` is the Starlette application's state.

    Example:
        >>> # app = GatewayASGI(handle_graphql, starlette_app, wrap=lambda asgi: CORSMiddleware(asgi, ...))
    """

    def __init__(
        self,
        graphql: Callable[[GatewayRequest], Awaitable[Response]],
        rest: Starlette,
        *,
        wrap: Callable[[ASGIApp], ASGIApp] | None = None,
        websocket: ASGIApp | None = None,
    ) -> None:
        self._handle = graphql
        self._websocket = websocket
        self.rest = rest
        self.state = rest.state
        # Wrapped (CORS): the answer goes through the wrapper's ``send``, never straight to the connection.
        self._graphql: ASGIApp = (
            wrap(functools.partial(self._serve_graphql, direct=False)) if wrap else self._serve_graphql
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            await self._graphql(scope, receive, send)
        elif scope["type"] == "websocket" and scope["path"] == "/graphql" and self._websocket is not None:
            await self._websocket(scope, receive, send)
        else:
            await self.rest(scope, receive, send)

    async def _serve_graphql(self, scope: Scope, receive: Receive, send: Send, direct: bool = True) -> None:
        # One coroutine from the dispatch to the answer: this is the path nearly every request takes.
        cycle = direct_cycle(scope, receive) if direct else None
        if scope["method"] not in ("GET", "POST"):
            response = Response(status_code=405, headers={"allow": "GET, POST"})
        else:
            try:
                response = await self._handle(GatewayRequest(scope, receive))
            except Exception as error:  # a bug: answer 500 without any detail, log the type only
                log.error("unhandled error at the edge", extra={"error_type": type(error).__name__})
                response = Response(_INTERNAL_ERROR, status_code=500, media_type="application/json")
        if (
            cycle is None
            or response.__class__ is not Response
            or response.background is not None
            or not respond_directly(cycle, response.status_code, response.raw_headers, bytes(response.body))
        ):
            await response(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        # Anything else (routes, url_path_for ...) is the Starlette application's.
        return getattr(self.rest, name)
