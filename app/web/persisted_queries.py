"""Automatic persisted queries (Apollo's APQ protocol), bounded in memory by count and by bytes.

A client first sends only ``extensions.persistedQuery.sha256Hash``; when the hash is unknown the answer
is the ``PERSISTED_QUERY_NOT_FOUND`` error, and the client retries with the document, which is then
remembered. GET works too, so browsers send a hash instead of the document.

The endpoint remembers a document only after it passed every check a request gets (size, hash, parsing
and validation with the token, depth and alias limits): a refused document never takes cache space.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

__all__ = ["PersistedQueries", "PersistedQueryError", "persisted_query_hash"]

_HEX = frozenset("0123456789abcdefABCDEF")
# What an entry costs beyond its document: the 64-character key and the dictionary slot, roughly.
_ENTRY_OVERHEAD = 200


class PersistedQueryError(Exception):
    """A persisted-query request that cannot be served.

    ``code`` goes to ``extensions.code``; ``status`` is the HTTP status. The two an APQ client acts on
    (``PERSISTED_QUERY_NOT_FOUND``: resend with the document; ``PERSISTED_QUERY_NOT_SUPPORTED``: stop
    using APQ) are answered 200, as Apollo clients expect; a malformed extension is 400.
    """

    def __init__(self, message: str, code: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


def _invalid(message: str) -> PersistedQueryError:
    return PersistedQueryError(message, "PERSISTED_QUERY_INVALID", 400)


def persisted_query_hash(params: dict[str, Any]) -> str | None:
    """The (lower-case) hash in ``extensions.persistedQuery`` of ``params``, or None when there is none.

    Example:
        >>> persisted_query_hash({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "AB" * 32}}})[:4]
        'abab'

    Raises:
        PersistedQueryError: a malformed extension (400).
    """
    extensions = params.get("extensions")
    if not extensions:
        return None
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise _invalid("extensions.persistedQuery must be an object with version and sha256Hash")
    version = persisted.get("version")
    if type(version) is not int or version != 1:  # not bool: True == 1 in Python
        raise _invalid("extensions.persistedQuery.version must be 1")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64 or not _HEX.issuperset(digest):
        raise _invalid("extensions.persistedQuery.sha256Hash must be 64 hexadecimal characters")
    return digest.lower()


class PersistedQueries:
    """An LRU of sha256 -> document, holding at most ``maxsize`` entries and about ``max_bytes`` bytes.

    Example:
        >>> apq = PersistedQueries(maxsize=10, max_bytes=1 << 20)
        >>> digest = hashlib.sha256(b"{ a }").hexdigest()
        >>> apq.requested_hash({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}) == digest
        True
        >>> apq.remember(digest, "{ a }")
        >>> apq.lookup(digest)
        '{ a }'
    """

    def __init__(self, maxsize: int, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._documents: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self._bytes = 0

    def requested_hash(self, params: dict[str, Any]) -> str | None:
        """The (lower-case) hash ``params`` asks for, or None when the request does not use APQ.

        Raises:
            PersistedQueryError: a malformed extension (400), or APQ turned off.
        """
        digest = persisted_query_hash(params)
        if digest is not None and (self.maxsize == 0 or self.max_bytes == 0):
            raise PersistedQueryError("persisted queries are not supported", "PERSISTED_QUERY_NOT_SUPPORTED")
        return digest

    def lookup(self, digest: str) -> str:
        """The remembered document for ``digest``.

        Raises:
            PersistedQueryError: ``PERSISTED_QUERY_NOT_FOUND`` (the client then sends the document).
        """
        entry = self._documents.get(digest)
        if entry is None:
            raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        self._documents.move_to_end(digest)
        return entry[0]

    @staticmethod
    def verify(digest: str, document: str) -> None:
        """Check that ``document`` hashes to ``digest``.

        Raises:
            PersistedQueryError: the hash does not match (400).
        """
        if hashlib.sha256(document.encode()).hexdigest() != digest:
            raise _invalid("extensions.persistedQuery.sha256Hash does not match the query")

    def remember(self, digest: str, document: str) -> None:
        """Keep a verified, valid document, evicting the least recently used ones past either bound."""
        if digest in self._documents:
            self._documents.move_to_end(digest)
            return
        size = len(document.encode()) + _ENTRY_OVERHEAD
        if size > self.max_bytes or self.maxsize == 0:
            return
        self._documents[digest] = (document, size)
        self._bytes += size
        while len(self._documents) > self.maxsize or self._bytes > self.max_bytes:
            _, (_, evicted) = self._documents.popitem(last=False)
            self._bytes -= evicted

    @property
    def stored_bytes(self) -> int:
        """The bytes the remembered documents account for (documents in UTF-8 plus a per-entry overhead)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._documents)
