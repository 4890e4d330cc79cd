"""What a handler receives: the application context and the request, and what it may return."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from ..generations import Generation
from .db import Store
from .views import Views

__all__ = ["Context", "Request", "Response"]


@dataclass(slots=True)
class Context:
    """Per-application state shared by all handlers.

    Attributes:
        store: The database.
        views: JSON builders for the store's generation.
        generation: The API generation served: every difference between generations asks it.
        auth: ``(username, password)`` when Bifrost auth is on, else None.
        version: The string answered by ``GET /api/version``.
        clock: The current time in nanoseconds since the epoch, for expiry and grace periods (tests set it).
    """

    store: Store
    views: Views
    generation: Generation
    auth: tuple[str, str] | None
    version: str
    clock: Callable[[], int] = time.time_ns


@dataclass(slots=True)
class Request:
    """One HTTP request, body already read.

    Attributes:
        method: The HTTP method.
        param: The first path parameter (``{team_id}`` and the like), "" when the route has none.
        query_string: The raw query string.
        body: The request body.
        headers: Lower-cased header names to values (the last value wins).
        params: Every path parameter in the route template's order (``(vk_id, budget_id)``).
    """

    method: str
    param: str
    query_string: bytes
    body: bytes
    headers: dict[bytes, bytes]
    params: tuple[str, ...] = ()
    _query: dict[str, str] | None = field(default=None)

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (the first value of each wins, as fasthttp's ``Peek`` does)."""
        if self._query is None:
            parsed: dict[str, str] = {}
            for key, value in parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True):
                parsed.setdefault(key, value)
            self._query = parsed
        return self._query


@dataclass(slots=True)
class Response:
    """A response other than a plain 200 JSON object (a handler may also just return a dict)."""

    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
