"""The GraphQL-over-HTTP endpoint: a thin Starlette endpoint over the Strawberry schema.

Rules implemented (GraphQL over HTTP, 2024 draft):
* POST with ``application/json`` (anything else is 415; form and text bodies are refused, which
  also blocks CSRF "simple requests"); GET for queries only (a mutation over GET is 405).
* ``application/graphql-response+json`` when the client accepts it, with the spec's status codes
  (400 for requests that fail to parse or validate); ``application/json`` otherwise, where such
  results are 200 as legacy clients expect. Malformed requests are 400 in both.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from app.bifrost import BifrostClient
from app.schema import GatewaySchema
from app.schema.context import GatewayContext
from app.schema.loaders import Loaders
from app.web.forwarding import forwarded_headers
from app.web.graphiql import CONTENT_SECURITY_POLICY

__all__ = ["GraphQLEndpoint"]

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_QUERY_ONLY = frozenset({OperationType.QUERY})
_ALL = frozenset({OperationType.QUERY, OperationType.MUTATION})


class GraphQLEndpoint:
    """The endpoint; one instance per application, routed through ``handle``."""

    def __init__(
        self,
        schema: GatewaySchema,
        client: BifrostClient,
        *,
        dataloader_concurrency: int,
        max_body_bytes: int,
        graphiql_html: bytes | None,
    ) -> None:
        self.schema = schema
        self.client = client
        self.dataloader_concurrency = dataloader_concurrency
        self.max_body_bytes = max_body_bytes
        self.graphiql_html = graphiql_html

    async def handle(self, request: Request) -> Response:
        """Handle GET and POST /graphql."""
        request_id = _request_id(request)
        media = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in request.headers.get("accept", "") else JSON
        if request.method == "GET":
            if "query" not in request.query_params and self._wants_html(request):
                return Response(
                    self.graphiql_html or b"",
                    media_type="text/html; charset=utf-8",
                    headers={"content-security-policy": f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'"},
                )
            params, problem = _params_from_query(request)
            allowed = _QUERY_ONLY
        elif request.method == "POST":
            params, problem = await self._params_from_body(request)
            allowed = _ALL
        else:
            return _error(405, "GraphQL accepts GET and POST", media, {"allow": "GET, POST"})
        if problem is not None:
            return _error(problem[0], problem[1], media)
        return await self._execute(request, params, allowed, media, request_id)

    def _wants_html(self, request: Request) -> bool:
        return self.graphiql_html is not None and "text/html" in request.headers.get("accept", "")

    async def _params_from_body(self, request: Request) -> tuple[dict[str, Any], tuple[int, str] | None]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != JSON:
            return {}, (415, "POST requests must have Content-Type: application/json")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return {}, (413, "request body is too large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                return {}, (413, "request body is too large")
        try:
            params = orjson.loads(body)
        except orjson.JSONDecodeError:
            return {}, (400, "request body is not valid JSON")
        if isinstance(params, list):
            return {}, (400, "operation batching is not enabled")
        return _check_params(params)

    async def _execute(
        self,
        request: Request,
        params: dict[str, Any],
        allowed: frozenset[OperationType],
        media: str,
        request_id: str,
    ) -> Response:
        session = self.client.session(forwarded_headers(request.headers, request_id))
        context = GatewayContext(bifrost=session, loaders=Loaders(session, self.dataloader_concurrency))
        try:
            result = await self.schema.execute(
                params["query"],
                variable_values=params.get("variables"),
                context_value=context,
                operation_name=params.get("operationName"),
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError:
            return _error(405, "mutations are only accepted over POST", media, {"allow": "POST"})
        except MissingQueryError:
            return _error(400, "the request has no query", media)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [_formatted(error) for error in result.errors]
        status = 200
        if result.data is None and result.errors and media == GRAPHQL_RESPONSE and _is_request_error(result):
            status = 400
        else:
            body["data"] = result.data
        response = Response(orjson.dumps(body), status_code=status, media_type=media)
        response.headers["x-request-id"] = request_id
        for cookie in context.response_cookies:
            response.headers.append("set-cookie", cookie)
        return response


def _formatted(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    if error.path is None and not (error.extensions or {}).get("code"):
        # graphql-core's own request errors carry no code; clients switch on one.
        code = "GRAPHQL_PARSE_FAILED" if isinstance(error, GraphQLSyntaxError) else "GRAPHQL_VALIDATION_FAILED"
        formatted["extensions"] = {**(error.extensions or {}), "code": code}
    return formatted


def _is_request_error(result: Any) -> bool:
    # Parse and validation errors come back before execution: no path on any of them.
    return all(error.path is None for error in result.errors)


def _params_from_query(request: Request) -> tuple[dict[str, Any], tuple[int, str] | None]:
    raw: dict[str, Any] = {"query": request.query_params.get("query")}
    if "operationName" in request.query_params:
        raw["operationName"] = request.query_params["operationName"]
    for name in ("variables", "extensions"):
        if name in request.query_params:
            try:
                raw[name] = orjson.loads(request.query_params[name])
            except orjson.JSONDecodeError:
                return {}, (400, f"{name} is not valid JSON")
    return _check_params(raw)


def _check_params(params: object) -> tuple[dict[str, Any], tuple[int, str] | None]:
    if not isinstance(params, dict):
        return {}, (400, "the request body must be a JSON object")
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        return {}, (400, "query must be a non-empty string")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return {}, (400, "variables must be a JSON object")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        return {}, (400, "operationName must be a string")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        return {}, (400, "extensions must be a JSON object")
    return params, None


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    if 0 < len(given) <= 128 and given.isprintable() and given.isascii():
        return given
    return uuid.uuid4().hex


def _error(status: int, message: str, media: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]})
    return Response(body, status_code=status, media_type=media, headers=headers)
