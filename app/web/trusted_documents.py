"""Trusted documents at the endpoint: which document a request names, and whether it may run.

A request names a listed document by ``documentId`` (the GraphQL-over-HTTP persisted documents draft:
``sha256:<hash>`` or the manifest's own id), by APQ's ``extensions.persistedQuery.sha256Hash``, or by
sending its full text; over GET or POST alike. Then, by ``TRUSTED_DOCUMENTS_MODE``:

* ``enforce``: only listed documents run. Any other document is refused with ``PERSISTED_QUERY_NOT_ALLOWED``
  (403) before anything is parsed or sent upstream, and APQ registers nothing (nothing unlisted gets that far).
* ``allow-unlisted``: unlisted documents run as without a manifest (APQ included), and are counted
  (``gateway_unlisted_documents_total``) and logged: one INFO line per distinct document hash, for the first
  ``MAX_LOGGED`` distinct ones of this process, so a client sending endless variants cannot flood the log.

An unknown ``documentId`` is ``PERSISTED_QUERY_NOT_FOUND`` (404) in both modes: there is no text to fall back
to. Without a manifest, ``documentId`` is ``PERSISTED_QUERY_NOT_SUPPORTED``.

The manifest is loaded once per process at start (``load_trusted_documents``): it is read-only and the same
file or URL for every replica, so replicas need not share it through Redis as they share APQ documents.

Example:
    >>> # trusted = load_trusted_documents(settings, executor)
    >>> # trusted.listed({"documentId": "sha256:..."})  -> the listed document's text
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from prometheus_client import Counter

from app.observability import loggable_operation_name
from app.schema.executor import Executor
from app.settings import Settings
from app.trusted_documents.checks import check_documents
from app.trusted_documents.manifest import Manifest, ManifestError, document_key, is_document_id, sha256_of
from app.trusted_documents.source import ManifestSourceError, read_manifest
from app.web.persisted_queries import PersistedQueryError, persisted_query_hash

__all__ = ["UNLISTED_DOCUMENTS", "TrustedDocuments", "TrustedDocumentsError", "load_trusted_documents"]

Mode = Literal["enforce", "allow-unlisted"]
MAX_LOGGED = 10_000
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
log = logging.getLogger("app.trusted_documents")

UNLISTED_DOCUMENTS = Counter(
    "gateway_unlisted_documents_total",
    "Requests whose document the trusted-documents manifest does not list: allowed (allow-unlisted) or refused",
    ["action"],
)


class TrustedDocumentsError(Exception):
    """The manifest cannot be used; the message starts with ``TRUSTED_DOCUMENTS:`` and names the entry."""


class TrustedDocuments:
    """The request-time side of a manifest (or of no manifest: ``TrustedDocuments(None)``).

    Example:
        >>> manifest = Manifest.parse(b'{"%s": "{ __typename }"}' % sha256_of("{ __typename }").encode())
        >>> trusted = TrustedDocuments(manifest, "enforce")
        >>> trusted.listed({"documentId": "sha256:" + sha256_of("{ __typename }")})
        '{ __typename }'
    """

    def __init__(
        self, manifest: Manifest | None, mode: Mode = "enforce", operation_names: tuple[str, ...] = ()
    ) -> None:
        self.manifest = manifest
        self.mode = mode
        self.operation_names = operation_names  # what the ``operation`` metric label may take besides the operator's
        self._logged: set[str] = set()

    @property
    def enforced(self) -> bool:
        """Whether only listed documents run."""
        return self.manifest is not None and self.mode == "enforce"

    def listed(self, params: dict[str, Any]) -> str | None:
        """The listed document ``params`` name, or None when they name none (only without a manifest or in
        allow-unlisted mode: the request then goes on as usual, APQ included).

        Raises:
            PersistedQueryError: a malformed ``documentId``, an unknown one, both a document and an id, or
                (enforce) a document that is not listed.
        """
        document_id = params.get("documentId")
        if self.manifest is None:
            if document_id is not None:
                raise PersistedQueryError("documentId is not supported here", "PERSISTED_QUERY_NOT_SUPPORTED", 400)
            return None
        digest = persisted_query_hash(params)
        query = params.get("query")
        if document_id is not None:
            return self._by_id(document_id, query is not None or digest is not None)
        if isinstance(query, str):
            text_digest = sha256_of(query)
            if digest is not None and digest != text_digest:
                raise _invalid("extensions.persistedQuery.sha256Hash does not match the query")
            digest = text_digest
        if digest is None:
            return None  # no document at all: the endpoint says what is missing
        found = self.manifest.by_sha256.get(digest)
        if found is not None:
            return found.text
        if self.mode == "enforce":
            UNLISTED_DOCUMENTS.labels("refused").inc()
            raise PersistedQueryError("only the documents in this gateway's manifest may run", NOT_ALLOWED, 403)
        return None

    def ran_unlisted(self, query: str, operation_name: object) -> None:
        """Count (and the first time, log) an unlisted document about to run in allow-unlisted mode."""
        if self.manifest is None:
            return
        UNLISTED_DOCUMENTS.labels("allowed").inc()
        digest = sha256_of(query)
        if digest in self._logged or len(self._logged) > MAX_LOGGED:
            return
        self._logged.add(digest)
        if len(self._logged) > MAX_LOGGED:
            log.info("unlisted documents: more than %d distinct; no more are logged", MAX_LOGGED)
            return
        named = loggable_operation_name(operation_name if isinstance(operation_name, str) else None)
        log.info("unlisted document", extra={"document_hash": digest, "operation": named})

    def _by_id(self, document_id: object, with_document: bool) -> str:
        assert self.manifest is not None
        if not isinstance(document_id, str) or not is_document_id(document_id):
            raise _invalid(
                "documentId must be sha256:<64 hex characters> or an id of letters, digits, '-', '.', '_' and '~'"
            )
        if with_document:
            raise _invalid("send documentId alone, without query or extensions.persistedQuery")
        found = self.manifest.by_id.get(document_key(document_id))
        if found is None and document_id.startswith("sha256:"):
            found = self.manifest.by_sha256.get(document_key(document_id))
        if found is None:
            raise PersistedQueryError("no document has this documentId", "PERSISTED_QUERY_NOT_FOUND", 404)
        return found.text


def _invalid(message: str) -> PersistedQueryError:
    return PersistedQueryError(message, "PERSISTED_QUERY_INVALID", 400)


def load_trusted_documents(settings: Settings, executor: Executor) -> TrustedDocuments:
    """The trusted documents ``settings`` ask for, every document checked against ``executor``.

    Raises:
        TrustedDocumentsError: the manifest cannot be read, is malformed, or lists a document the gateway
            would refuse (named).
    """
    if settings.trusted_documents is None:
        return TrustedDocuments(None)
    try:
        manifest = Manifest.parse(read_manifest(settings.trusted_documents.get_secret_value()))
        names = check_documents(manifest, executor, max_document_bytes=settings.max_document_bytes)
    except (ManifestError, ManifestSourceError) as error:
        raise TrustedDocumentsError(f"TRUSTED_DOCUMENTS: {error}") from None
    if settings.trusted_documents_mode == "allow-unlisted" and settings.is_production:
        log.warning("TRUSTED_DOCUMENTS_MODE=allow-unlisted: documents the manifest does not list run too (logged)")
    return TrustedDocuments(manifest, settings.trusted_documents_mode, tuple(names))
