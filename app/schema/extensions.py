"""Schema extensions: safe errors for clients and logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError, get_operation_ast
from strawberry.extensions import MaskErrors, SchemaExtension

from app.bifrost import BifrostError
from app.schema.errors import GatewayError, GatewayErrorCode, gateway_error_from

__all__ = ["OperationFacts", "SafeErrors"]

log = logging.getLogger("app.errors")


class SafeErrors(MaskErrors):
    """Upstream failures become typed GatewayErrors; any other resolver exception is masked.

    Parse, validation and variable errors (graphql-core's own, with no path) pass through unchanged:
    they name the field at fault and contain nothing internal.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=_should_replace, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, BifrostError):
            replacement: GraphQLError = gateway_error_from(original)
        else:
            # Only the exception's type is logged: its text may hold URLs or secrets.
            log.error("unexpected error in resolver", extra={"error_type": type(original).__name__, "path": error.path})
            replacement = GatewayError("Unexpected error.", GatewayErrorCode.INTERNAL_SERVER_ERROR)
        return GraphQLError(
            replacement.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=replacement.extensions,
        )


def _should_replace(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return False
    # Variable coercion errors carry the scalar's ValueError but no path: graphql-core's safe message.
    return error.path is not None or isinstance(original, BifrostError)


class OperationFacts(SchemaExtension):
    """Copies the operation's type and name into the context once the document is parsed."""

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None and execution.context is not None:
            operation = get_operation_ast(document, execution.operation_name)
            if operation is not None:
                execution.context.operation_type = operation.operation.value
                if operation.name is not None:
                    execution.context.operation_name = operation.name.value
        yield
