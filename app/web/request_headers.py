"""A request's headers read in one pass: each lookup is a dict lookup instead of a scan of the header list.

The GraphQL endpoint asks about a dozen questions of each request's headers (Accept, Content-Type,
Authorization, X-Request-Id, trace context, Idempotency-Key, X-Query-Cost ...). Starlette's ``Headers``
answers each by lower-casing the name, encoding it and scanning the whole list; ``RequestHeaders`` reads
the list once, when the request arrives, and answers from a dict.

Answers are exactly ``Headers``'s: the first value of a repeated header, values decoded as latin-1, names
matched as the server sent them (ASGI servers send them lower-cased; a name that is not lower-cased is
matched by nobody, as with ``Headers``), every value of a repeated header from ``getlist``. Anything else
(``raw``, ``items``, equality) is ``Headers``'s own.

Example:
    >>> headers = RequestHeaders({"headers": [(b"accept", b"application/json"), (b"x-a", b"1"), (b"x-a", b"2")]})
    >>> headers.get("Accept"), headers["x-a"], headers.getlist("x-a"), "x-b" in headers, headers.lacks({"x-b"})
    ('application/json', '1', ['1', '2'], False, True)
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any, TypeVar, overload

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Receive, Scope

__all__ = ["GatewayRequest", "RequestHeaders"]

D = TypeVar("D")


class RequestHeaders(Headers):
    """``Headers`` of one request's scope, each name's first value kept in a dict when made."""

    __slots__ = ("_first", "_repeated")

    def __init__(self, scope: MutableMapping[str, Any]) -> None:
        super().__init__(scope=scope)
        raw = scope["headers"]  # the list ``Headers`` made of it
        # Read from the last header to the first: a name's first value is the one left standing.
        first = {name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(raw)}
        self._first = first
        self._repeated = len(first) != len(raw)  # some name comes more than once: ``getlist`` asks ``Headers``

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: str | D) -> str | D: ...

    def get(self, key: str, default: Any = None) -> Any:
        return self._first.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        try:
            return self._first[key.lower()]
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key: Any) -> bool:
        return key.lower() in self._first

    def getlist(self, key: str) -> list[str]:
        if self._repeated:
            return super().getlist(key)
        value = self._first.get(key.lower())
        return [] if value is None else [value]

    def lacks(self, names: Iterable[str]) -> bool:
        """True when none of ``names`` (lower-cased) is among the headers: one look for several ``not in``.

        Example:
            >>> RequestHeaders({"headers": [(b"accept", b"*/*")]}).lacks(frozenset({"cookie", "x-query-cost"}))
            True
        """
        return self._first.keys().isdisjoint(names)


class GatewayRequest(Request):
    """A Starlette ``Request`` whose ``headers`` are a ``RequestHeaders``, read once as the request arrives."""

    def __init__(self, scope: Scope, receive: Receive) -> None:
        super().__init__(scope, receive)
        self._read_headers = RequestHeaders(scope)

    @property
    def headers(self) -> RequestHeaders:
        return self._read_headers
