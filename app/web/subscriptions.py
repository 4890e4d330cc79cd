"""Running a subscription for any transport: ``open_subscription`` yields formatted results.

Every streaming transport (graphql-transport-ws in ``app.web.graphql_ws``, GraphQL over SSE, Apollo's multipart
subscriptions) identifies its caller with the same ``CallerPolicy`` as the HTTP endpoint, then calls::

    stream = await open_subscription(live, caller, document, variables, operation_name)
    async with aclosing(stream):
        async for result in stream:  # {"data": ...} and/or {"errors": [...]}, as JSON-ready dicts
            ...

``open_subscription`` prepares the document first: a document that does not parse or validate, or an
operation that is not a subscription or a query, raises ``SubscriptionRefused`` with the formatted errors
(graphql-transport-ws answers those with its ``error`` message); nothing has started then. Otherwise the
stream yields each result; an error after the start (a poll refused by Bifrost after a logout, a subscriber
dropped for being slow) is the last result. Closing the stream (the client left) leaves the poller, which
stops when nobody else listens. A query yields its one result.

Each subscription holds its share of its client address's polled-id budget (``LIVE_MAX_POLLED_IDS_PER_CLIENT``,
``app.live.budget``) while it runs; one that would go over raises ``BudgetExceeded`` before anything is polled,
and the share is given back once when the stream ends or is closed, whichever comes first.

Mutations are refused on streams: they belong to ``POST /graphql`` (idempotency keys, cookies on login).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import ExecutionResult

from app.bifrost import (
    BifrostClient,
    BifrostServerError,
    BifrostSession,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.keyed_names import KeyedNames, process_names
from app.live import DEFAULT_POLLED_IDS_PER_CLIENT, BudgetShare, LiveHub, PolledIdBudget, credentials_digest
from app.schema.context import GatewayContext
from app.schema.errors import GatewayErrorCode
from app.schema.executor import Executor, PreparedDocument
from app.schema.live import LiveSource
from app.schema.loaders import Loaders
from app.schema.safe_errors import formatted_error
from app.schema.self_service import key_holder_refusal
from app.web.callers import IdentifiedCaller
from app.web.ceilings import RequestCeilings
from app.web.persisted_queries import PersistedQueries, PersistedQueryError
from app.web.trusted_documents import TrustedDocuments

__all__ = [
    "BudgetExceeded",
    "ClientConnections",
    "LiveService",
    "LiveStream",
    "SubscriptionRefused",
    "document_of",
    "open_subscription",
    "passing_upstream_failure",
]

_STREAMED = frozenset({"subscription", "query"})


class SubscriptionRefused(Exception):
    """A subscription that does not start: the formatted errors to answer (no result was produced)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "refused")
        self.errors = errors


class BudgetExceeded(SubscriptionRefused):
    """A subscription its client address's polled-id budget has no room for (``TOO_MANY_POLLED_IDS``)."""


class LiveStream:
    """The formatted results of one started operation; ``aclose`` ends it and gives its budget share back, once
    (even when it was never read: an async generator that has not started runs no ``finally`` on ``aclose``).

    Example:
        >>> # async with aclosing(stream): async for result in stream: ...
    """

    def __init__(self, results: AsyncGenerator[dict[str, Any], None], release: Callable[[], None]) -> None:
        self._results = results
        self._release = release

    def __aiter__(self) -> LiveStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self._results.__anext__()

    async def aclose(self) -> None:
        try:
            await self._results.aclose()
        finally:
            self._release()


class ClientConnections:
    """Counts the open streaming connections of each client address, up to a limit.

    Example:
        >>> connections = ClientConnections(1)
        >>> connections.open("10.0.0.1"), connections.open("10.0.0.1")
        (True, False)
        >>> connections.close("10.0.0.1"); connections.open("10.0.0.1")
        True
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    def open(self, address: str | None) -> bool:
        """Count one more connection of ``address``; False (nothing counted) when it has ``limit`` open already."""
        key = address or ""
        if self._open[key] >= self.limit:
            return False
        self._open[key] += 1
        return True

    def close(self, address: str | None) -> None:
        """Count one connection of ``address`` fewer."""
        key = address or ""
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]


@dataclass
class LiveService:
    """What every subscription transport shares: the executor, the Bifrost client, the hub and the limits.

    Attributes:
        executor: prepares and runs documents (the same one as the HTTP endpoint's).
        client: the process's Bifrost client.
        hub: shares polls between subscribers (``app.live``).
        max_watched_ids: ids one subscription may watch (``LIVE_MAX_WATCHED_IDS``).
        max_document_bytes: the largest document accepted (``MAX_DOCUMENT_BYTES``).
        dataloader_concurrency: as for HTTP requests.
        connections: open streaming connections per client address (``LIVE_MAX_CONNECTIONS_PER_CLIENT``).
        ceilings: as for HTTP requests, per query and per poll (upstream calls and bytes), and per result
            (a larger one is replaced by ``RESPONSE_TOO_LARGE``).
        trusted_documents: the endpoint's manifest (enforced on streams as on HTTP: ``document_of``).
        persisted_queries: the endpoint's APQ documents (a stream may name one by hash).
        polled_ids: ids polled per interval per client address, all its subscriptions together
            (``LIVE_MAX_POLLED_IDS_PER_CLIENT``).
        names: keys the credentials part of each watch's name (``REDIS_KEY_SECRET``, ``app.keyed_names``).
    """

    executor: Executor
    client: BifrostClient
    hub: LiveHub
    max_watched_ids: int
    max_document_bytes: int
    dataloader_concurrency: int
    connections: ClientConnections
    ceilings: RequestCeilings = RequestCeilings()  # noqa: RUF009 (frozen: one shared default is safe)
    trusted_documents: TrustedDocuments = field(default_factory=lambda: TrustedDocuments(None))
    persisted_queries: PersistedQueries = field(default_factory=lambda: PersistedQueries(0, 0))
    polled_ids: PolledIdBudget = field(default_factory=lambda: PolledIdBudget(DEFAULT_POLLED_IDS_PER_CLIENT))
    names: KeyedNames = field(default_factory=process_names)


def passing_upstream_failure(error: BaseException) -> bool:
    """Whether a poll's error may pass (the hub skips that interval): Bifrost down, slow or failing for a moment.

    Bifrost's refusals (401, 403, 404 ...) are not: a logged-out caller's stream ends with the query's error.

    Example:
        >>> from app.bifrost import BifrostUnauthorized
        >>> passing_upstream_failure(UpstreamTimeout("slow")), passing_upstream_failure(BifrostUnauthorized(401, "no"))
        (True, False)
    """
    return isinstance(error, UpstreamUnavailable | UpstreamTimeout | BifrostServerError)


def document_of(live: LiveService, params: dict[str, Any]) -> object:
    """The document a stream's ``subscribe`` payload names: its ``query``, a listed document (``documentId``, or
    any document while trusted documents are enforced, which must be listed), or an APQ hash this process knows.

    A transport that reads its own payload (graphql-transport-ws) calls this before ``open_subscription``; an
    HTTP transport has resolved the document already. Documents sent with their hash are not remembered here.

    Raises:
        SubscriptionRefused: a document the manifest does not allow, an unknown id or hash, a hash that does not
            match the query (the persisted-query codes of HTTP).
    """
    try:
        listed = live.trusted_documents.listed(params)
        if listed is not None:
            return listed
        digest = live.persisted_queries.requested_hash(params)
        query = params.get("query")
        if digest is not None and query is None:
            return live.persisted_queries.lookup(digest)
        if digest is not None and isinstance(query, str):
            live.persisted_queries.verify(digest, query)
    except PersistedQueryError as error:
        raise _refused(error.message, error.code) from None
    if isinstance(query, str):
        live.trusted_documents.ran_unlisted(query, params.get("operationName"))
    return query


async def open_subscription(
    live: LiveService,
    caller: IdentifiedCaller,
    document: object,
    variables: object,
    operation_name: object,
    *,
    client_address: str | None = None,
    request_id: str | None = None,
) -> LiveStream:
    """Prepare ``document`` for ``caller`` and start it; see the module docstring.

    Raises:
        SubscriptionRefused: a document, variables or operation name that cannot start (formatted errors).
        BudgetExceeded: a subscription the client's polled-id budget has no room for (nothing was polled).
    """
    query, given_variables, name = _checked(live, document, variables, operation_name)
    prepared = live.executor.prepare(query, name)
    if prepared.errors:
        raise SubscriptionRefused([formatted_error(error) for error in prepared.errors])
    if prepared.operation_type not in _STREAMED:
        raise _refused(f"{prepared.operation_type} operations are only accepted over POST /graphql", "BAD_REQUEST")
    if caller.caller.is_key_holder:
        assert prepared.document is not None
        refusal = key_holder_refusal(prepared.document, name)
        if refusal is not None:  # as over HTTP: nothing runs, nothing goes upstream
            raise _refused(refusal, "FORBIDDEN")
    share = live.polled_ids.share(client_address)
    try:
        return await _started(live, caller, prepared, given_variables, name, share, client_address, request_id)
    except BaseException:
        share.release()  # refused mid-way (or cancelled): nothing stays held
        raise


async def _started(
    live: LiveService,
    caller: IdentifiedCaller,
    prepared: PreparedDocument,
    given_variables: dict[str, Any] | None,
    name: str | None,
    share: BudgetShare,
    client_address: str | None,
    request_id: str | None,
) -> LiveStream:
    ceilings = live.ceilings
    session = live.client.session(
        caller.upstream,
        session_headers=caller.session,
        max_calls=ceilings.upstream_calls,
        max_bytes=ceilings.upstream_bytes,
    )
    context = GatewayContext(
        bifrost=session,
        loaders=Loaders(session, live.dataloader_concurrency),
        caller=caller.caller,
        client_address=client_address,
        request_id=request_id,
        live=LiveSource(
            live.hub,
            _poll_sessions(live.client, caller, ceilings),
            credentials_digest(live.names, caller.upstream),
            live.max_watched_ids,
            share,
        ),
        operation_type=prepared.operation_type,
        operation_name=name or prepared.operation_name,
    )
    if prepared.operation_type == "query":
        result = await live.executor.execute(prepared, variables=given_variables, context=context, operation_name=name)
        context.loaders.close()
        share.release()
        return LiveStream(_one(result, ceilings), share.release)
    started = await live.executor.subscribe(prepared, variables=given_variables, context=context, operation_name=name)
    if isinstance(started, ExecutionResult):  # it did not start: nothing is polled for it
        context.loaders.close()
        share.release()
        if any(_code(error) == GatewayErrorCode.TOO_MANY_POLLED_IDS for error in started.errors or ()):
            raise BudgetExceeded([formatted_error(error) for error in started.errors or ()])
        return LiveStream(_one(started, ceilings), share.release)
    return LiveStream(_formatted(started, context, ceilings, share), share.release)


def _code(error: Any) -> object:
    return (getattr(error, "extensions", None) or {}).get("code")


def _poll_sessions(client: BifrostClient, caller: IdentifiedCaller, ceilings: RequestCeilings) -> Any:
    upstream = dict(caller.upstream)

    def session(calls: int) -> BifrostSession:
        # Only the credentials: a poll outlives the request that started it, and serves other subscribers.
        # Generation detection may take a call or two beside the poll's own.
        return client.session(upstream, max_calls=calls + 2, max_bytes=ceilings.upstream_bytes)

    return session


def _checked(
    live: LiveService, document: object, variables: object, operation_name: object
) -> tuple[str, dict[str, Any] | None, str | None]:
    if not isinstance(document, str) or not document.strip():
        raise _refused("query must be a non-empty string")
    if len(document.encode()) > live.max_document_bytes:
        raise _refused(f"the document is larger than {live.max_document_bytes} bytes", "DOCUMENT_TOO_LARGE")
    if variables is not None and not isinstance(variables, dict):
        raise _refused("variables must be a JSON object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _refused("operationName must be a string")
    return document, variables, operation_name


def _refused(message: str, code: str = "BAD_REQUEST") -> SubscriptionRefused:
    return SubscriptionRefused([{"message": message, "extensions": {"code": code}}])


def _result(result: ExecutionResult, ceilings: RequestCeilings) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [formatted_error(error) for error in result.errors]
    if result.data is not None or not result.errors or any(error.path for error in result.errors):
        body["data"] = result.data
    if ceilings.response_bytes is not None and not ceilings.body_within(orjson.dumps(body)):
        too_large: dict[str, Any] = orjson.loads(ceilings.too_large_body())
        return too_large
    return body


async def _one(result: ExecutionResult, ceilings: RequestCeilings) -> AsyncGenerator[dict[str, Any], None]:
    yield _result(result, ceilings)


async def _formatted(
    results: AsyncGenerator[ExecutionResult, None],
    context: GatewayContext,
    ceilings: RequestCeilings,
    share: BudgetShare,
) -> AsyncGenerator[dict[str, Any], None]:
    try:
        async for result in results:
            yield _result(result, ceilings)
    finally:
        try:
            await results.aclose()
        finally:
            context.loaders.close()
            share.release()  # the stream ended (an error, a drop): its ids are free before the transport closes it
