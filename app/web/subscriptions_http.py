"""Subscriptions over plain HTTP: what the GraphQL endpoint hands to the live layer, and what it streams back.

The endpoint (``app.web.graphql_http``) treats a subscription like a query up to execution: the same header
checks, body limits, trusted and persisted documents, caller policy (``app.web.callers``: ambiguous
credentials 400, a bad gateway key 401) and document limits. Then, instead of executing, it opens the
subscription through a ``SubscriptionSource`` and streams what that yields in the framing the client asked
for (``app.web.stream_framing``). The source applies what is the live layer's to apply (cost, subscription
limits, the shared upstream poll) and reports refusals as results, so every transport words them alike.

Which requests stream:

* a subscription whose ``Accept`` names ``text/event-stream`` or ``multipart/mixed;subscriptionSpec="1.0"``,
  over POST or GET (it only reads); without either, the answer is 406 and names both;
* GraphQL errors found before anything runs (the document does not parse or validate) go, for an SSE client,
  through an accepted stream as the graphql-sse protocol asks (one ``next`` with the errors, then
  ``complete``), and as a JSON answer, like a query's, for a multipart client (Apollo Client reads both);
* queries and mutations are answered in JSON only: with an ``Accept`` that allows nothing else, 406.

Example:
    >>> # endpoint = GraphQLEndpoint(..., subscriptions=lambda request: hub_results(request))
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from app.schema.executor import PreparedDocument
from app.web.callers import IdentifiedCaller

__all__ = ["NOT_STREAMED", "StreamRefused", "SubscriptionNotStarted", "SubscriptionRequest", "SubscriptionSource"]

NOT_STREAMED = (
    "subscriptions are streamed: send Accept: text/event-stream (GraphQL over SSE) or "
    'Accept: multipart/mixed;subscriptionSpec="1.0" (multipart HTTP), or use a graphql-transport-ws WebSocket'
)


class StreamRefused(Exception):
    """No stream opens, for a reason of HTTP's (too many streams from this client): status, message and code."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class SubscriptionNotStarted(Exception):
    """The operation cannot start (variables that do not fit, a cost above the limit): its formatted errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "not started")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    """One subscription asked for over HTTP, checked as far as the web edge checks anything.

    Attributes:
        query: the document's text (after trusted and persisted documents were resolved).
        prepared: the parsed, validated subscription operation.
        variables: the request's variables (not yet coerced).
        operation_name: the operation the client named, if any.
        caller: who asks, and the credential headers that go upstream for it.
        forwarded: the request headers the gateway forwards upstream besides credentials (request id, trace).
        client_address: the client's address, for limits per client.
        request_id: the request's id, for log lines.
    """

    query: str
    prepared: PreparedDocument
    variables: dict[str, Any] | None
    operation_name: str | None
    caller: IdentifiedCaller
    forwarded: Mapping[str, str]
    client_address: str | None
    request_id: str


class SubscriptionSource(Protocol):
    """Starts a subscription: formatted results (``{"data": ...}`` and/or ``{"errors": [...]}``), until it ends.

    An error after the start is the stream's last result. Closing the iterator (``aclose``) ends the
    subscription; the HTTP stream closes it when the client leaves, and also when it never read from it.

    Raises:
        StreamRefused: nothing may open (a limit of the client's streams).
        SubscriptionNotStarted: the operation's errors, before anything ran.
    """

    async def __call__(self, request: SubscriptionRequest) -> AsyncIterator[dict[str, Any]]: ...
