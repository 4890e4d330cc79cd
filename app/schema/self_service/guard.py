"""What the holder of a virtual key may run: ``myVirtualKey`` and nothing else, decided before anything runs.

A key holder's document is read as written: every root field of the operation, through inline fragments and
named fragments, whatever ``@skip``/``@include`` say (a field skipped for these variables could run for
others, so it is refused all the same). A query of ``myVirtualKey``, ``__typename`` and introspection
(``__schema``, ``__type``) runs; any other root field, and any mutation or subscription, is refused with
``FORBIDDEN`` and nothing goes upstream. Introspection is allowed because it reveals the schema only (which
the gateway publishes anyway) and it is what GraphiQL needs to help a key holder write the query; where the
operator turned it off, it is off for key holders too.

Example:
    >>> from graphql import parse
    >>> key_holder_refusal(parse("{ myVirtualKey { name } __typename }"), None) is None
    True
    >>> key_holder_refusal(parse("{ myVirtualKey { name } ... on Query { teams { totalCount } } }"), None)
    'a virtual key may only query myVirtualKey; refused: teams'
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)

__all__ = ["KEY_HOLDER_FIELDS", "key_holder_refusal"]

KEY_HOLDER_FIELDS = frozenset({"myVirtualKey", "__typename", "__schema", "__type"})
"""The root query fields a key holder may select."""

_ONLY_QUERIES = "a virtual key may only query myVirtualKey; {kind} operations are refused"


def key_holder_refusal(document: DocumentNode, operation_name: str | None) -> str | None:
    """Why a key holder may not run this operation of ``document`` (None: it may).

    ``document`` is a validated document; an operation that cannot be found is refused too.
    """
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return "a virtual key may only query myVirtualKey"
    if operation.operation is not OperationType.QUERY:
        return _ONLY_QUERIES.format(kind=operation.operation.value)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    refused: list[str] = []
    _collect(operation.selection_set, fragments, set(), refused)
    if not refused:
        return None
    return f"a virtual key may only query myVirtualKey; refused: {', '.join(dict.fromkeys(refused))}"


def _collect(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
    refused: list[str],
) -> None:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value not in KEY_HOLDER_FIELDS:
                refused.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set, fragments, seen, refused)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue  # validation refuses cycles; a fragment spread twice at the root is read once
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None:
                refused.append(f"...{name}")  # unreachable after validation; refuse rather than guess
            else:
                _collect(fragment.selection_set, fragments, seen, refused)
