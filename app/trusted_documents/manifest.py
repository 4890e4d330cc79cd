"""A trusted-documents manifest: the GraphQL documents a first-party client was built with, by id.

Two formats are read, both JSON:

* graphql-codegen's client preset (``persistedDocuments: true``) writes ``persisted-documents.json``, an
  object of id -> document, the id being the document's sha256 unless configured otherwise;
* Apollo's persisted-query manifest (``generate-persisted-query-manifest``)::

      {"format": "apollo-persisted-query-manifest", "version": 1,
       "operations": [{"id": "...", "name": "TeamsPage", "type": "query", "body": "query TeamsPage ..."}]}

An id is a document identifier of the GraphQL-over-HTTP persisted documents draft: ``sha256:<64 hex>``, or
letters, digits, ``-``, ``.``, ``_``, ``~`` (optionally after an ``x-<name>:`` prefix). An id of 64 hexadecimal
characters (bare or ``sha256:``) must be the sha256 of its document's UTF-8 text: a manifest whose hash does
not match was not made from the document it carries, and is refused. Other ids are taken as given.

Anything malformed is a ``ManifestError`` naming the entry; nothing is skipped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["MAX_ENTRIES", "Manifest", "ManifestError", "TrustedDocument", "document_key", "sha256_of"]

APOLLO_FORMAT = "apollo-persisted-query-manifest"
MAX_ENTRIES = 100_000
_ID = re.compile(r"(?:x-[A-Za-z0-9._~-]+:)?[A-Za-z0-9._~-]{1,200}|sha256:[0-9A-Fa-f]{64}")
_SHA256 = re.compile(r"(?:sha256:)?([0-9A-Fa-f]{64})")
_TYPES = frozenset({"query", "mutation", "subscription"})


class ManifestError(Exception):
    """A manifest that cannot be used; the message names the entry and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    """One listed document.

    ``where`` names the entry in error messages; ``name`` and ``kind`` are what an Apollo manifest
    declares for it (None for codegen's format), checked against the document itself.
    """

    id: str
    text: str
    sha256: str
    where: str
    name: str | None = None
    kind: str | None = None


def sha256_of(text: str) -> str:
    """The lower-case hex sha256 of ``text`` in UTF-8 (the draft's SHA256 hex document identifier).

    Example:
        >>> sha256_of("{ __typename }")[:8]
        '7f56e67d'
    """
    return hashlib.sha256(text.encode()).hexdigest()


def document_key(identifier: str) -> str:
    """The lookup key of an id: hex hashes in lower case, and ``sha256:<hex>`` as its bare hex.

    Example:
        >>> document_key("sha256:" + "AB" * 32) == "ab" * 32
        True
    """
    hashed = _SHA256.fullmatch(identifier)
    return hashed.group(1).lower() if hashed else identifier


def is_document_id(value: str) -> bool:
    """Whether ``value`` is a document identifier this gateway accepts."""
    return _ID.fullmatch(value) is not None


class Manifest:
    """The listed documents by id (``by_id``) and by the sha256 of their text (``by_sha256``).

    Example:
        >>> manifest = Manifest.parse(orjson.dumps({sha256_of("{ a }"): "{ a }"}))
        >>> len(manifest), manifest.by_sha256[sha256_of("{ a }")].text
        (1, '{ a }')
    """

    def __init__(self, documents: list[TrustedDocument]) -> None:
        if not documents:
            raise ManifestError("the manifest lists no documents")
        self.by_id: dict[str, TrustedDocument] = {}
        self.by_sha256: dict[str, TrustedDocument] = {}
        for document in documents:
            key = document_key(document.id)
            if key in self.by_id:
                raise ManifestError(f"{document.where}: the id is listed twice")
            self.by_id[key] = document
            self.by_sha256.setdefault(document.sha256, document)

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        """Read either format from JSON bytes.

        Raises:
            ManifestError: not JSON, an unknown format, or a malformed entry (named).
        """
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise ManifestError("the manifest is not valid JSON") from None
        if not isinstance(raw, dict):
            raise ManifestError("the manifest must be a JSON object")
        if "format" in raw:
            return cls(list(_apollo_entries(raw)))
        return cls(list(_codegen_entries(raw)))

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[TrustedDocument]:
        return iter(self.by_id.values())


def _codegen_entries(raw: dict[str, Any]) -> Iterator[TrustedDocument]:
    if len(raw) > MAX_ENTRIES:
        raise ManifestError(f"the manifest lists more than {MAX_ENTRIES} documents")
    for identifier, text in raw.items():
        where = f"entry {_shown(identifier)}"
        yield _entry(identifier, text, where, None, None)


def _apollo_entries(raw: dict[str, Any]) -> Iterator[TrustedDocument]:
    if raw["format"] != APOLLO_FORMAT:
        raise ManifestError(f'"format" must be "{APOLLO_FORMAT}" (or leave it out for a codegen id -> document map)')
    if type(raw.get("version")) is not int or raw["version"] != 1:
        raise ManifestError('"version" must be 1 in an Apollo persisted-query manifest')
    operations = raw.get("operations")
    if not isinstance(operations, list):
        raise ManifestError('"operations" must be a list in an Apollo persisted-query manifest')
    if len(operations) > MAX_ENTRIES:
        raise ManifestError(f"the manifest lists more than {MAX_ENTRIES} documents")
    for index, operation in enumerate(operations):
        where = f"operations[{index}]"
        if not isinstance(operation, dict):
            raise ManifestError(f"{where}: must be an object with id, name, type and body")
        identifier, name, kind = operation.get("id"), operation.get("name"), operation.get("type")
        if isinstance(identifier, str):
            where += f" (id {_shown(identifier)})"
        if name is not None and not isinstance(name, str):
            raise ManifestError(f"{where}: name must be a string")
        if kind not in _TYPES:
            raise ManifestError(f"{where}: type must be query, mutation or subscription")
        yield _entry(identifier, operation.get("body"), where, name, kind)


def _entry(identifier: object, text: object, where: str, name: str | None, kind: str | None) -> TrustedDocument:
    if not isinstance(identifier, str) or not is_document_id(identifier):
        raise ManifestError(
            f"{where}: the id must be sha256:<64 hex>, or letters, digits, '-', '.', '_' and '~' (at most 200)"
        )
    if not isinstance(text, str) or not text.strip():
        raise ManifestError(f"{where}: the document must be a non-empty string")
    digest = sha256_of(text)
    hashed = _SHA256.fullmatch(identifier)
    if hashed and hashed.group(1).lower() != digest:
        raise ManifestError(f"{where}: the id is not the sha256 of its document")
    return TrustedDocument(identifier, text, digest, where, name, kind)


def _shown(identifier: str) -> str:
    """An id as error messages show it: quoted, cut after 16 characters."""
    return '"' + (identifier[:16] + "..." if len(identifier) > 16 else identifier) + '"'
