"""Every listed document checked at start, as a request carrying it would be, and priced at its worst.

A manifest names the documents a frontend was built with; one the gateway would refuse (too large, does not
parse, fails validation against this schema, breaks a depth, alias or token limit, uses introspection where
it is off) would only fail in users' hands. So each operation of each document is prepared by the request
path's own executor, and the gateway refuses to start, naming the entry.

The price is taken with every variable at its most expensive (the largest page for ``first``, every
``@skip``/``@include`` as included): a listed document above ``MAX_QUERY_COST`` at any variables refuses the
start too, so at run time no listed document is ever refused for its cost.

Example:
    >>> # names = check_documents(manifest, executor, max_document_bytes=65536)  -> ["TeamsPage", "CreateTeam"]
"""

from __future__ import annotations

from graphql import GraphQLError, OperationDefinitionNode, parse

from app.schema.executor import Executor
from app.schema.safe_errors import formatted_error
from app.trusted_documents.manifest import Manifest, ManifestError, TrustedDocument

__all__ = ["check_documents"]


def check_documents(manifest: Manifest, executor: Executor, *, max_document_bytes: int) -> list[str]:
    """Check every document; return the operation names they hold (for metric labels).

    Raises:
        ManifestError: the first document the gateway would refuse, named, with the reason.
    """
    names: list[str] = []
    for document in manifest:
        names += _check(document, executor, max_document_bytes)
    return names


def _check(document: TrustedDocument, executor: Executor, max_document_bytes: int) -> list[str]:
    where = document.where
    size = len(document.text.encode())
    if size > max_document_bytes:
        raise ManifestError(
            f"{where}: the document is {size} bytes, more than MAX_DOCUMENT_BYTES ({max_document_bytes})"
        )
    try:
        parsed = parse(document.text, max_tokens=executor.limits.max_tokens)
    except GraphQLError as error:
        raise ManifestError(f"{where}: {_reason(error)}") from None
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    names = [operation.name.value for operation in operations if operation.name is not None]
    if document.name is not None and document.name not in names:
        raise ManifestError(f"{where}: the manifest names it {document.name!r} but the document has no such operation")
    if not operations:
        prepared = executor.prepare(document.text, None)  # only fragments: validation says what is wrong
        raise ManifestError(f"{where}: {_reason(prepared.errors[0]) if prepared.errors else 'no operation'}")
    for operation in operations:
        name = operation.name.value if operation.name is not None else None
        prepared = executor.prepare(document.text, name)
        if prepared.errors:
            raise ManifestError(f"{where}: {_reason(prepared.errors[0])}")
        if name == document.name and document.kind is not None and prepared.operation_type != document.kind:
            raise ManifestError(
                f"{where}: the manifest says {document.kind} but the operation is a {prepared.operation_type}"
            )
        assert prepared.cost is not None
        # A value that is no page size nor boolean is priced as the largest page and as included.
        worst = {definition.variable.name.value: "" for definition in operation.variable_definitions or ()}
        price, limit = prepared.cost.for_variables(worst), executor.limits.max_cost
        if price > limit:
            raise ManifestError(
                f"{where}: the operation {name or '(anonymous)'} costs up to {price} (its most expensive variables), "
                f"more than MAX_QUERY_COST ({limit})"
            )
    return names


def _reason(error: GraphQLError) -> str:
    code = formatted_error(error).get("extensions", {}).get("code")
    return f"{error.message} ({code})" if code else error.message
