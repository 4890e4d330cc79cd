"""The GraphQL-over-HTTP endpoint: a thin Starlette endpoint over the Strawberry schema.

Rules implemented (GraphQL over HTTP, 2024 draft):
* POST with ``application/json`` (anything else is 415; form and text bodies are refused, which
  also blocks CSRF "simple requests"); GET for queries only (a mutation over GET is 405).
* ``application/graphql-response+json`` when the client accepts it, with the spec's status codes
  (400 for requests that fail to parse or validate); ``application/json`` otherwise, where such
  results are 200 as legacy clients expect. Malformed requests are 400 in both; an Accept header
  that allows neither is 406.
* Automatic persisted queries over GET and POST (``extensions.persistedQuery``).
* Trusted documents (``documentId``, or a listed document by hash or text), enforced or not
  (``app.web.trusted_documents``).
* The caller is identified before anything runs (``app.web.callers``): ambiguous credentials are 400,
  a gateway key or token cookie that is not valid is 401; the holder of a virtual key is refused (403,
  ``FORBIDDEN``) any operation but a query of ``myVirtualKey`` (``app.schema.self_service.guard``).
* Cost: an operation priced above ``MAX_QUERY_COST`` is refused like an invalid document
  (``QUERY_TOO_COMPLEX``); a request with the ``X-Query-Cost`` header gets the price of what it ran in
  ``extensions.cost``. Per-request ceilings on upstream calls and bytes and on the response's size
  (``app.web.ceilings``).
* ``Idempotency-Key`` on mutations (``app/web/idempotency.py``).
* Subscriptions stream over GraphQL over SSE or Apollo's multipart protocol (``app.web.subscriptions_http``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Hashable, Mapping
from functools import partial
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Scope

from app.bifrost import BifrostClient
from app.bifrost.coalesce import RETRY, ReadCoalescer
from app.http_limits import DISCONNECT_WATCH, DisconnectWatch
from app.observability import REQUEST_DURATION, REQUESTS, OperationLabels, loggable_operation_name
from app.schema.context import GatewayContext
from app.schema.executor import Executor, PreparedDocument
from app.schema.loaders import Loaders
from app.schema.safe_errors import formatted_error
from app.schema.self_service import key_holder_refusal
from app.schema.session.limiter import LoginLimiter
from app.shared_state import SharedDocuments
from app.tracing import NO_TRACING, Tracing
from app.web.callers import CallerPolicy, CallerRefused, IdentifiedCaller
from app.web.ceilings import RESPONSE_TOO_LARGE, RequestCeilings
from app.web.forwarding import forwarded_headers
from app.web.graphiql import CONTENT_SECURITY_POLICY
from app.web.header_checks import MAX_AUTHORIZATION_BYTES, RefusedHeader, check_caller_headers
from app.web.idempotency import (
    REPLAYED_HEADER,
    IdempotencyProblem,
    IdempotentMutations,
    Settle,
    caller_credentials,
    fingerprint,
    idempotency_key,
    is_session_operation,
    settle_of,
    withhold_secrets,
)
from app.web.persisted_queries import PersistedQueries, PersistedQueryError
from app.web.request_headers import GatewayRequest, RequestHeaders
from app.web.request_ids import fresh_request_id
from app.web.shared_queries import SharedAnswer
from app.web.shared_queries import shared_key as shared_key_of
from app.web.stream_framing import SSEFraming, StreamFraming, framing_for
from app.web.stream_response import SubscriptionStream, one_result
from app.web.subscriptions_http import (
    NOT_STREAMED,
    StreamRefused,
    SubscriptionNotStarted,
    SubscriptionRequest,
    SubscriptionSource,
)
from app.web.trusted_documents import TrustedDocuments

__all__ = ["GraphQLEndpoint", "RequestCeilings"]

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_QUERY_ONLY = frozenset({"query"})
_ALL = frozenset({"query", "mutation"})
_SUBSCRIPTION = frozenset({"subscription"})
_MEDIA_TYPES = {JSON: JSON.encode(), GRAPHQL_RESPONSE: GRAPHQL_RESPONSE.encode()}
_NOT_JSON = "Accept must allow application/json or application/graphql-response+json"
# Headers whose presence changes a request's way through the endpoint (``RequestHeaders.lacks``): trace context to
# check and forward, an idempotency key, the cost extension asked for.
_RARE_HEADERS = frozenset({"traceparent", "idempotency-key", "x-query-cost"})
log = logging.getLogger("app.request")
# Each request's metric series by (operation label, outcome, operation type), resolved once: ``labels()``
# validates and locks on every use. Bounded as the labels are: known operation names (OperationLabels), the
# gateway's own outcome codes and the four operation types.
_REQUEST_SERIES: dict[tuple[str, str, str], tuple[Any, Any]] = {}
T = TypeVar("T")


class Problem(Exception):
    """A request refused before execution: HTTP status, message and code."""

    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


class GraphQLEndpoint:
    """The endpoint; one instance per application, routed through ``handle``."""

    def __init__(
        self,
        executor: Executor,
        client: BifrostClient,
        *,
        dataloader_concurrency: int,
        max_body_bytes: int,
        max_document_bytes: int,
        ceilings: RequestCeilings = RequestCeilings(),  # noqa: B008 (frozen: one shared default is safe)
        persisted_queries: PersistedQueries,
        graphiql_html: bytes | None,
        callers: CallerPolicy,
        login_limiter: LoginLimiter | None = None,
        tracing: Tracing = NO_TRACING,
        idempotent_mutations: IdempotentMutations | None = None,
        operation_labels: OperationLabels | None = None,
        shared_documents: SharedDocuments | None = None,
        trusted_documents: TrustedDocuments | None = None,
        subscriptions: SubscriptionSource | None = None,
        shared_queries: ReadCoalescer | None = None,
    ) -> None:
        self.executor = executor
        self.client = client
        self.callers = callers
        self.login_limiter = login_limiter
        self.dataloader_concurrency = dataloader_concurrency
        self.max_body_bytes = max_body_bytes
        self.max_document_bytes = max_document_bytes
        self.ceilings = ceilings
        self.persisted_queries = persisted_queries
        self.graphiql_html = graphiql_html
        self.tracing = tracing
        self.idempotent_mutations = idempotent_mutations
        self.operation_labels = operation_labels or OperationLabels()
        self.shared_documents = shared_documents
        self.trusted_documents = trusted_documents or TrustedDocuments(None)
        self.subscriptions = subscriptions
        # Identical queries in flight share one execution (None: COALESCE_QUERIES=false).
        self.shared_queries = shared_queries

    async def handle(self, request: GatewayRequest) -> Response:
        """Handle GET and POST /graphql; log one line and count the request whatever happens."""
        started = time.perf_counter()
        headers = request.headers  # a property: read once
        # The client's X-Request-Id when it is a sane one (printable ASCII, 1-128 characters), a fresh id otherwise.
        given = headers.get("x-request-id")
        if given is not None and 0 < len(given) <= 128 and given.isprintable() and given.isascii():
            request_id = given
        else:
            request_id = fresh_request_id()
        facts: dict[str, Any] = {
            "operation": None,
            "operation_type": None,
            "upstream_calls": 0,
            "caller": None,
            "cost": None,
        }
        try:
            if self.tracing is NO_TRACING:  # no span to open or to name
                response = await self._respond(request, headers, request_id, facts)
            else:
                with self.tracing.operation(headers) as span:
                    response = await self._respond(request, headers, request_id, facts)
                    if span is not None:  # None: tracing is off
                        named = facts["operation"]  # operationName is free text: a span carries a GraphQL name at most
                        self.tracing.name_operation(
                            span, named and loggable_operation_name(named), facts["operation_type"]
                        )
            outcome = facts.get("outcome", "ok")
        except Problem as problem:
            response = _error(problem.status, problem.message, _media_or_json(headers), problem.headers, problem.code)
            outcome = problem.code
        # Appended rather than set through ``response.headers``: no response carries one before this point, and
        # the request id is ASCII (``_request_id``).
        response.raw_headers.append((b"x-request-id", request_id.encode()))
        duration = time.perf_counter() - started
        counted = (self.operation_labels.label(facts["operation"]), outcome, facts["operation_type"] or "none")
        series = _REQUEST_SERIES.get(counted)
        if series is None:
            series = _REQUEST_SERIES[counted] = (REQUESTS.labels(*counted[:2]), REQUEST_DURATION.labels(counted[2]))
        series[0].inc()
        series[1].observe(duration)
        if not log.isEnabledFor(logging.INFO):
            return response
        log.info(
            "request",
            extra={
                "request_id": request_id,
                "operation": loggable_operation_name(facts["operation"]),
                "operation_type": facts["operation_type"],
                "duration_ms": round(duration * 1000, 3),
                "upstream_calls": facts["upstream_calls"],
                "shared": facts.get("shared", False),
                "cost": facts["cost"],
                "caller": facts["caller"],
                "status": response.status_code,
                "outcome": outcome,
            },
        )
        return response

    async def _respond(
        self, request: Request, headers: RequestHeaders, request_id: str, facts: dict[str, Any]
    ) -> Response:
        accept = headers.get("accept")
        framing: StreamFraming | None
        media: str | None
        if not accept:  # the usual case of a backend: JSON, no stream
            framing, media = None, JSON
        else:
            framing = _framing(accept)
            try:
                media = _media(accept)
            except Problem:
                if framing is None:
                    raise
                media = None  # the client reads a stream only: only a subscription can answer it
        authorization = headers.get("authorization")
        if authorization is not None and not (
            len(authorization) <= MAX_AUTHORIZATION_BYTES and authorization.isascii() and authorization.isprintable()
        ):
            try:
                check_caller_headers(headers)
            except RefusedHeader as refused:
                raise Problem(refused.status, refused.message, refused.code) from None
        if request.scope["method"] == "GET":  # ``Request.method`` reads the same, through a property
            if (
                "query" not in request.query_params
                and "extensions" not in request.query_params
                and "documentId" not in request.query_params
                and self._wants_html(request)
            ):
                return self._graphiql()
            params = _params_from_query(request)
            allowed = _QUERY_ONLY
        else:
            self._check_body_headers(headers)
            # The ASGI messages read directly, as ``Request.stream`` reads them, without an async generator; the
            # first one usually holds the whole body.
            message = await request.receive()
            if message["type"] != "http.request" or message.get("more_body", False):
                message = await self._rest_of_body(request, message)
            params = self._params_of(message.get("body", b""))
            allowed = _ALL
        if framing is not None:
            allowed |= _SUBSCRIPTION  # over GET too: a subscription only reads
        trusted = self.trusted_documents
        if trusted.manifest is None and "documentId" not in params and not params.get("extensions"):
            # Neither a listed document nor a persisted one can be asked for: what ``listed`` and
            # ``requested_hash`` answer for such a request (None), without asking.
            query, listed, persisted = params.get("query"), None, None
        else:
            try:
                query = listed = trusted.listed(params)
                persisted = None
                if listed is None:
                    persisted = self.persisted_queries.requested_hash(params)
                    query = params.get("query")
                    if persisted is not None and query is None:
                        query, persisted = await self._persisted_document(persisted)
            except PersistedQueryError as error:
                return _persisted_query_error(error, media or JSON, facts)
        if not isinstance(query, str) or not query or query.isspace():  # ``not query.strip()``, without a copy
            raise Problem(400, "query must be a non-empty string")
        if len(query) > self.max_document_bytes or (
            len(query) * 4 > self.max_document_bytes and len(query.encode()) > self.max_document_bytes
        ):
            raise Problem(413, f"the document is larger than {self.max_document_bytes} bytes", "DOCUMENT_TOO_LARGE")
        if persisted is not None:
            try:
                self.persisted_queries.verify(persisted, query)
            except PersistedQueryError as error:
                return _persisted_query_error(error, media or JSON, facts)
        if listed is None and trusted.manifest is not None:
            trusted.ran_unlisted(query, params.get("operationName"))
        return await self._execute(
            request, headers, query, params, allowed, media, request_id, facts, persisted, framing
        )

    async def _persisted_document(self, digest: str) -> tuple[str, str | None]:
        """The document for ``digest`` and, when it came from another replica, the hash to check and keep it
        under (like a document the client sent)."""
        try:
            return self.persisted_queries.lookup(digest), None
        except PersistedQueryError:
            shared = await self.shared_documents.lookup(digest) if self.shared_documents is not None else None
            if shared is None:
                raise
            return shared, digest

    def _wants_html(self, request: Request) -> bool:
        return self.graphiql_html is not None and "text/html" in request.headers.get("accept", "")

    def _graphiql(self) -> Response:
        return Response(
            self.graphiql_html or b"",
            media_type="text/html; charset=utf-8",
            headers={"content-security-policy": f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'"},
        )

    def _check_body_headers(self, headers: Mapping[str, str]) -> None:
        content_type = headers.get("content-type", "")
        if content_type != JSON and content_type.split(";")[0].strip().lower() != JSON:
            raise Problem(415, "POST requests must have Content-Type: application/json", "UNSUPPORTED_MEDIA_TYPE")
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise Problem(413, "request body is too large", "BODY_TOO_LARGE")

    async def _rest_of_body(self, request: Request, message: Message) -> Message:
        """The whole body, from ``message`` (the first one received) on, as one ``http.request`` message."""
        body = bytearray()
        receive = request.receive
        while True:
            kind = message["type"]
            if kind == "http.request":
                body += message.get("body", b"")
                if len(body) > self.max_body_bytes:
                    raise Problem(413, "request body is too large", "BODY_TOO_LARGE")
                if not message.get("more_body", False):
                    return {"type": "http.request", "body": body}
            elif kind == "http.disconnect":
                # The client left (or the server gave up on a slow body): nothing failed here, nobody to answer.
                raise Problem(499, "the client closed the request", "CLIENT_CLOSED_REQUEST")
            message = await receive()

    def _params_of(self, body: bytes | bytearray) -> dict[str, Any]:
        if len(body) > self.max_body_bytes:
            raise Problem(413, "request body is too large", "BODY_TOO_LARGE")
        try:
            params = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise Problem(400, "request body is not valid JSON") from None
        if isinstance(params, list):
            raise Problem(400, "operation batching is not enabled")
        return _checked(params)

    async def _execute(
        self,
        request: Request,
        headers: RequestHeaders,
        query: str,
        params: dict[str, Any],
        allowed: frozenset[str],
        streamable_media: str | None,
        request_id: str,
        facts: dict[str, Any],
        persisted: str | None = None,
        framing: StreamFraming | None = None,
    ) -> Response:
        try:
            identified = self.callers.identify(headers)
        except CallerRefused as refused:
            challenge = {"www-authenticate": 'Bearer realm="gateway"'} if refused.status == 401 else None
            raise Problem(refused.status, refused.message, refused.code, challenge) from None
        facts["caller"] = identified.log_name
        operation_name = params.get("operationName")
        prepared = self.executor.prepare(query, operation_name)
        facts["operation"] = operation_name or prepared.operation_name
        facts["operation_type"] = prepared.operation_type
        media = streamable_media or JSON
        if prepared.errors:
            facts["outcome"] = "INVALID_DOCUMENT"
            body: dict[str, Any] = {"errors": [formatted_error(error) for error in prepared.errors]}
            return _request_errors(body, media, framing, request_id)
        if identified.is_key_holder:
            assert prepared.document is not None
            refusal = key_holder_refusal(prepared.document, operation_name)
            if refusal is not None:
                raise Problem(403, refusal, "FORBIDDEN")
        if persisted is not None:
            # Only now: a document that is too large, does not parse or breaks a limit is never kept.
            self.persisted_queries.remember(persisted, query)
            if self.shared_documents is not None:
                await self.shared_documents.remember(persisted, query)
        if prepared.operation_type not in allowed:
            if prepared.operation_type == "mutation":
                raise Problem(405, "mutations are only accepted over POST", "METHOD_NOT_ALLOWED", {"allow": "POST"})
            if prepared.operation_type == "subscription":
                raise Problem(406, NOT_STREAMED, "NOT_ACCEPTABLE")
            raise Problem(400, f"{prepared.operation_type} operations are not supported here")
        # One look for the rare headers that change what follows: none of them, and there is no trace context to
        # forward, no idempotency key to check and no cost to report.
        plain = headers.lacks(_RARE_HEADERS)
        forwarded = {"x-request-id": request_id} if plain else forwarded_headers(headers, request_id)
        if prepared.operation_type == "subscription":
            assert framing is not None  # allowed only with a streaming Accept
            return await self._subscribe(
                request, query, prepared, params, framing, forwarded, identified, request_id, media, facts
            )
        if streamable_media is None:
            raise Problem(406, _NOT_JSON, "NOT_ACCEPTABLE")  # queries and mutations are never streamed
        key = None
        wants_cost = False
        if not plain:
            try:
                key = idempotency_key(headers)
            except IdempotencyProblem as problem:
                raise Problem(problem.status, problem.message, problem.code) from None
            wants_cost = "x-query-cost" in headers
        shared = self.shared_queries
        if (
            shared is not None
            and prepared.operation_type == "query"
            and key is None
            and not identified.is_key_holder  # a key holder's reads are its own, never coalesced
        ):
            # Identical queries in flight share one execution (``app/web/shared_queries.py``). The usual case,
            # none in flight, runs here, in this request's own coroutine.
            shared_key = shared_key_of(
                query, operation_name, params.get("variables"), identified.sharing, media, wants_cost
            )
            if shared_key is not None:  # None: variables no key can be made of: run alone
                while (waiters := shared.lead(shared_key)) is None:
                    answer = await self._follow(request, shared, shared_key, media, facts)
                    if answer is not None:
                        return answer
                try:
                    own, _, _ = await self._run(
                        request, prepared, params, media, forwarded, identified, request_id, facts, wants_cost, None
                    )
                except BaseException as error:
                    shared.abandon(shared_key, waiters, error)
                    raise
                shared.settle(shared_key, waiters, _shared_answer(own, facts) if waiters else None)
                return own
        if (
            key is None
            or prepared.operation_type != "mutation"
            or self.idempotent_mutations is None
            or is_session_operation(prepared.document)
        ):
            return (
                await self._run(
                    request, prepared, params, media, forwarded, identified, request_id, facts, wants_cost, None
                )
            )[0]
        try:
            response = await self.idempotent_mutations.run(
                key,
                caller_credentials(headers, identified.session),  # the token cookie as read for this caller
                fingerprint(query, operation_name, params.get("variables")),
                partial(
                    self._run, request, prepared, params, media, forwarded, identified, request_id, facts, wants_cost
                ),
            )
        except IdempotencyProblem as problem:
            raise Problem(problem.status, problem.message, problem.code, problem.headers) from None
        if REPLAYED_HEADER in response.headers:
            facts["outcome"] = "REPLAYED"
        return response

    async def _follow(
        self, request: Request, shared: ReadCoalescer, shared_key: Hashable, media: str, facts: dict[str, Any]
    ) -> Response | None:
        """The answer of the identical query in flight, or None when it is not this request's to take (its leader
        left, or answered for its own client only): then run it (or join whoever runs it now)."""
        answer = await _cancel_on_disconnect(request, shared.follow(shared_key))
        if answer is None:  # this request's client left
            facts["outcome"] = "CLIENT_CLOSED_REQUEST"
            return Response(status_code=499)
        if answer is RETRY or answer is _UNSHARED:
            return None
        assert isinstance(answer, SharedAnswer)
        facts["shared"] = True
        facts["cost"] = answer.cost
        if answer.outcome is not None:
            facts["outcome"] = answer.outcome
        return _answer(answer.content, answer.status, media)

    async def _subscribe(
        self,
        request: Request,
        query: str,
        prepared: PreparedDocument,
        params: dict[str, Any],
        framing: StreamFraming,
        forwarded: dict[str, str],
        identified: IdentifiedCaller,
        request_id: str,
        media: str,
        facts: dict[str, Any],
    ) -> Response:
        if self.subscriptions is None:
            raise Problem(400, "subscriptions are not served by this gateway")
        try:
            results = await self.subscriptions(
                SubscriptionRequest(
                    query=query,
                    prepared=prepared,
                    variables=params.get("variables"),
                    operation_name=params.get("operationName"),
                    caller=identified,
                    forwarded=forwarded,
                    client_address=request.client.host if request.client else None,
                    request_id=request_id,
                )
            )
        except StreamRefused as refused:
            raise Problem(refused.status, refused.message, refused.code) from None
        except SubscriptionNotStarted as refused:
            facts["outcome"] = (
                refused.errors[0].get("extensions", {}).get("code", "ERROR") if refused.errors else "ERROR"
            )
            return _request_errors({"errors": refused.errors}, media, framing, request_id)
        return SubscriptionStream(results, framing, request_id=request_id)

    async def _run(
        self,
        request: Request,
        prepared: PreparedDocument,
        params: dict[str, Any],
        media: str,
        forwarded: dict[str, str],
        identified: IdentifiedCaller,
        request_id: str,
        facts: dict[str, Any],
        wants_cost: bool,
        earlier_attempt_at: float | None,
    ) -> tuple[Response, Settle, bytes | None]:
        operation_name = params.get("operationName")
        credentials = identified.upstream
        upstream = {**forwarded, **credentials} if credentials else forwarded  # ``_sent_with``, written out
        session = self.client.session(
            upstream,
            # A caller's own credentials go with both (the same headers then).
            session_headers=upstream
            if identified.session is credentials
            else _sent_with(forwarded, identified.session),
            max_calls=self.ceilings.upstream_calls,
            max_bytes=self.ceilings.upstream_bytes,
        )
        context = GatewayContext(
            bifrost=session,
            loaders=Loaders(session, self.dataloader_concurrency),
            caller=identified.caller,
            client_address=_client_address(request.scope),
            login_limiter=self.login_limiter,
            earlier_attempt_at=earlier_attempt_at,
            request_id=request_id,
        )
        try:
            work = self.executor.execute(
                prepared, variables=params.get("variables"), context=context, operation_name=operation_name
            )
            watch = request.scope.get("extensions", {}).get(DISCONNECT_WATCH)
            if watch is None:
                result = await _cancel_on_receive(request, work)
            elif watch.left:  # gone before the work started
                work.close()
                result = None
            else:
                # ``_cancel_when_watched`` written out: no coroutine of its own around the execution.
                current = asyncio.current_task()
                assert current is not None
                watch.task = current
                try:
                    result = await work
                except asyncio.CancelledError:
                    if not watch.left:
                        raise
                    current.uncancel()
                    result = None
                finally:
                    watch.task = None
        finally:
            facts["upstream_calls"] = session.calls
            context.loaders.close()
        if result is None:
            facts["outcome"] = "CLIENT_CLOSED_REQUEST"
            return Response(status_code=499), Settle.UNKNOWN, None
        body: dict[str, Any] = {}
        status = 200
        if result.extensions:
            facts["cost"] = result.extensions["cost"]["requestedQueryCost"]
        if result.errors:
            body["errors"] = [formatted_error(error) for error in result.errors]
            facts["outcome"] = body["errors"][0].get("extensions", {}).get("code", "ERROR")
        if result.data is None and result.errors and media == GRAPHQL_RESPONSE and _is_request_error(result):
            status = 400  # variables that do not fit the operation
        else:
            body["data"] = result.data
        if wants_cost and result.extensions:
            body["extensions"] = result.extensions
        content = orjson.dumps(body)
        remembered = None
        if not self.ceilings.body_within(content):
            facts["outcome"] = RESPONSE_TOO_LARGE
            content = self.ceilings.too_large_body()
        elif context.revealed_values:
            remembered = orjson.dumps(withhold_secrets(body, context.revealed_values))
            if not self.ceilings.body_within(remembered):
                remembered = self.ceilings.too_large_body()
        response = _answer(content, status, media)
        for cookie in context.response_cookies:
            response.headers.append("set-cookie", cookie)
        return response, settle_of(result, bool(context.response_cookies)), remembered


_UNSHARED = object()
"""What a leader hands the queries that waited for it when its answer was not theirs to have."""


def _shared_answer(own: Response, facts: dict[str, Any]) -> object:
    """What the queries that waited for this one receive: its answer, or ``_UNSHARED`` when the answer is for
    its own client only (a 499 of a client that left, or one that sets a cookie): they run it themselves."""
    if own.status_code == 499 or any(name == b"set-cookie" for name, _ in own.raw_headers):
        return _UNSHARED
    return SharedAnswer(own.status_code, bytes(own.body), facts.get("outcome"), facts["cost"])


def _cancel_on_disconnect(request: Request, work: Awaitable[T]) -> Awaitable[T | None]:
    """Run ``work`` in this task; if the client goes away first, cancel it (and its upstream calls).

    Returns None when the client left. Under the gateway's HTTP server the connection itself cancels the
    work (``DisconnectWatch``: nothing else runs); elsewhere a watcher task waits for ``http.disconnect``.
    (A function that hands back the one coroutine that watches: no coroutine of its own around it.)
    """
    watch = request.scope.get("extensions", {}).get(DISCONNECT_WATCH)
    if watch is not None:
        return _cancel_when_watched(watch, work)
    return _cancel_on_receive(request, work)


async def _cancel_on_receive(request: Request, work: Awaitable[T]) -> T | None:
    current = asyncio.current_task()
    assert current is not None
    left = False

    async def watch_receive() -> None:
        nonlocal left
        while (await request.receive())["type"] != "http.disconnect":
            pass
        left = True
        current.cancel()

    watcher = asyncio.ensure_future(watch_receive())
    try:
        return await work
    except asyncio.CancelledError:
        if not left:
            raise
        current.uncancel()
        return None
    finally:
        watcher.cancel()


async def _cancel_when_watched(watch: DisconnectWatch, work: Awaitable[T]) -> T | None:
    if watch.left:  # gone before the work started
        if inspect.iscoroutine(work):
            work.close()
        return None
    current = asyncio.current_task()
    assert current is not None
    watch.task = current
    try:
        return await work
    except asyncio.CancelledError:
        if not watch.left:
            raise
        current.uncancel()
        return None
    finally:
        watch.task = None


def _answer(content: bytes, status: int, media: str) -> Response:
    """``Response(content, status_code=status, media_type=media)`` for a JSON answer, its two headers written
    directly (as ``Response.init_headers`` writes them for a JSON media type and a status with a body).

    Example:
        >>> _answer(b"{}", 200, "application/json").raw_headers
        [(b'content-length', b'2'), (b'content-type', b'application/json')]
    """
    response = Response.__new__(Response)
    response.status_code = status
    response.media_type = media
    response.background = None
    response.body = content
    response.raw_headers = [(b"content-length", b"%d" % len(content)), (b"content-type", _MEDIA_TYPES[media])]
    return response


def _sent_with(forwarded: dict[str, str], credentials: Mapping[str, str]) -> dict[str, str]:
    """The headers sent upstream: ``forwarded`` with ``credentials`` (``forwarded`` itself when there are none)."""
    return {**forwarded, **credentials} if credentials else forwarded


def _request_errors(body: dict[str, Any], media: str, framing: StreamFraming | None, request_id: str) -> Response:
    """Errors found before anything ran: 400 with ``application/graphql-response+json``, 200 with plain JSON
    (legacy clients), and through an accepted stream for an SSE client (the graphql-sse protocol asks that)."""
    if isinstance(framing, SSEFraming):
        return SubscriptionStream(one_result(body), framing, request_id=request_id)
    if media == GRAPHQL_RESPONSE:
        return Response(orjson.dumps(body), status_code=400, media_type=media)
    return Response(orjson.dumps({"data": None, **body}), media_type=media)


def _persisted_query_error(error: PersistedQueryError, media: str, facts: dict[str, Any]) -> Response:
    facts["outcome"] = error.code
    body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
    return Response(orjson.dumps(body), status_code=error.status, media_type=media)


def _framing(accept: str) -> StreamFraming | None:
    """``framing_for(accept)``, parsed only when the header names a streaming type (most requests name none)."""
    lowered = accept.lower()
    if "text/event-stream" in lowered or "multipart/mixed" in lowered:
        return framing_for(accept)
    return None


def _media(accept: str) -> str:
    if GRAPHQL_RESPONSE in accept:
        return GRAPHQL_RESPONSE
    if accept and not any(kind in accept for kind in (JSON, "*/*", "application/*", "text/html")):
        raise Problem(406, _NOT_JSON, "NOT_ACCEPTABLE")
    return JSON


def _media_or_json(headers: Mapping[str, str]) -> str:
    try:
        return _media(headers.get("accept", ""))
    except Problem:
        return JSON


def _is_request_error(result: Any) -> bool:
    # Parse and validation errors come back before execution: no path on any of them.
    return all(error.path is None for error in result.errors)


def _params_from_query(request: Request) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name in ("query", "documentId"):
        if name in request.query_params:
            raw[name] = request.query_params[name]
    if "operationName" in request.query_params:
        raw["operationName"] = request.query_params["operationName"]
    for name in ("variables", "extensions"):
        if name in request.query_params:
            try:
                raw[name] = orjson.loads(request.query_params[name])
            except orjson.JSONDecodeError:
                raise Problem(400, f"{name} is not valid JSON") from None
    return _checked(raw)


def _checked(params: object) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise Problem(400, "the request body must be a JSON object")
    query = params.get("query")
    if query is not None and not isinstance(query, str):
        raise Problem(400, "query must be a string")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise Problem(400, "variables must be a JSON object")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise Problem(400, "operationName must be a string")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise Problem(400, "extensions must be a JSON object")
    return params


def _client_address(scope: Scope) -> str | None:
    # What ``request.client.host`` says, without building the ``Address`` it comes in.
    client = scope.get("client")
    return None if client is None else client[0]


def _error(
    status: int, message: str, media: str, headers: dict[str, str] | None = None, code: str = "BAD_REQUEST"
) -> Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status, media_type=media, headers=headers)
