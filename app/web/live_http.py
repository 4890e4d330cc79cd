"""The live layer as the subscription source of the HTTP streams (GraphQL over SSE, multipart).

Each HTTP stream is one live connection of its client: it counts against ``LIVE_MAX_CONNECTIONS_PER_CLIENT``
with the WebSockets of the same address (one more is refused with 429 before anything opens), and stops
counting when the stream ends, however it ends. Live's refusals before the start (variables that do not fit,
a cost above the limit, ids that are not ids) become ``SubscriptionNotStarted``, which the endpoint answers as
it answers a query's request errors. A subscription its client's polled-id budget has no room for
(``LIVE_MAX_POLLED_IDS_PER_CLIENT``) is refused with 429 and ``TOO_MANY_POLLED_IDS``, as one stream too many is.

Example:
    >>> # endpoint.subscriptions = LiveSubscriptions(live)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from app.web.subscriptions import BudgetExceeded, LiveService, LiveStream, SubscriptionRefused, open_subscription
from app.web.subscriptions_http import StreamRefused, SubscriptionNotStarted, SubscriptionRequest

__all__ = ["LiveSubscriptions"]


class LiveSubscriptions:
    """Opens an HTTP stream's subscription through ``open_subscription``, within the per-client limit.

    Example:
        >>> # results = await LiveSubscriptions(live)(request)
    """

    def __init__(self, live: LiveService) -> None:
        self.live = live

    async def __call__(self, request: SubscriptionRequest) -> AsyncIterator[dict[str, Any]]:
        connections, address = self.live.connections, request.client_address
        if not connections.open(address):
            raise StreamRefused(
                429,
                f"too many live connections from this client (at most {connections.limit})",
                "TOO_MANY_CONNECTIONS",
            )
        try:
            stream = await open_subscription(
                self.live,
                request.caller,
                request.query,
                request.variables,
                request.operation_name,
                client_address=address,
                request_id=request.request_id,
            )
        except BudgetExceeded as refused:
            connections.close(address)
            raise StreamRefused(429, refused.errors[0]["message"], "TOO_MANY_POLLED_IDS") from None
        except SubscriptionRefused as refused:
            connections.close(address)
            raise SubscriptionNotStarted(refused.errors) from None
        except BaseException:
            connections.close(address)
            raise
        return _Counted(stream, lambda: connections.close(address))


class _Counted:
    """``results``, and ``release`` called exactly once when closed (even when never read: an async generator that
    has not started runs no ``finally`` on ``aclose``)."""

    def __init__(self, results: LiveStream, release: Callable[[], None]) -> None:
        self._results = results
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> _Counted:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self._results.__anext__()

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._results.aclose()
        finally:
            if release is not None:
                release()
