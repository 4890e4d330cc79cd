"""Automatic persisted queries (Apollo's APQ protocol), bounded in memory.

A client first sends only ``extensions.persistedQuery.sha256Hash``; when the hash is unknown the answer
is the ``PERSISTED_QUERY_NOT_FOUND`` error, and the client retries with the document, which is then
remembered (after checking its hash). GET works too, so browsers send a hash instead of the document.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

__all__ = ["PersistedQueries", "PersistedQueryError"]


class PersistedQueryError(Exception):
    """A persisted-query request that cannot be served; ``code`` goes to ``extensions.code``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PersistedQueries:
    """An LRU of sha256 -> document.

    Example:
        >>> apq = PersistedQueries(maxsize=10)
        >>> apq.resolve({"query": "{ a }"}) is None
        True
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._documents: OrderedDict[str, str] = OrderedDict()

    def resolve(self, params: dict[str, Any]) -> str | None:
        """The document for ``params``: None when the request does not use APQ.

        Raises:
            PersistedQueryError: unknown hash, hash mismatch, disabled or malformed extension.
        """
        extensions = params.get("extensions") or {}
        persisted = extensions.get("persistedQuery")
        if persisted is None:
            return None
        if self.maxsize == 0:
            raise PersistedQueryError("persisted queries are not supported", "PERSISTED_QUERY_NOT_SUPPORTED")
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if persisted.get("version") != 1 or not isinstance(digest, str) or len(digest) != 64:
            raise PersistedQueryError("persistedQuery needs version 1 and a sha256Hash", "BAD_REQUEST")
        query = params.get("query")
        if query is None:
            document = self._documents.get(digest)
            if document is None:
                raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            self._documents.move_to_end(digest)
            return document
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            raise PersistedQueryError("provided sha256Hash does not match query", "BAD_REQUEST")
        self._documents[digest] = query
        self._documents.move_to_end(digest)
        while len(self._documents) > self.maxsize:
            self._documents.popitem(last=False)
        return str(query)

    def __len__(self) -> int:
        return len(self._documents)
