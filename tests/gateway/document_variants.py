"""Variants of a generated query: the same selections reached through fragments, variables and directives.

hypothesis-graphql generates plain selections with literal arguments. ``variant`` rewrites such a document
with choices drawn from Hypothesis: runs of selections moved into named fragments or inline fragments (with
or without a type condition, sometimes also kept in place, so that fields merge), literal arguments turned
into variables (given a value, or left to a default), and ``@skip``/``@include`` on fields, spreads and
inline fragments with literal or variable conditions. The result must stay valid; a document that does not
(two selections of one response key whose arguments became different variables) is refused by validation
on both engines alike.

``DIFFERENTIAL_SEED`` seeds the differential tests: ``DIFFERENTIAL_SEED=n`` in the environment repeats a
run, otherwise every run draws a fresh one (printed in the test report's header).

Example:
    >>> # text, variables = variant(schema, "{ team(id: \\"x\\") { name } }", data.draw)
    >>> # text == 'query Variant($a1: ID!) { ...F2 } fragment F2 on Query { team(id: $a1) @skip(if: false) ...'
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionNode,
    get_named_type,
    parse,
    print_ast,
    value_from_ast_untyped,
)
from hypothesis import strategies as st

__all__ = ["DIFFERENTIAL_SEED", "variant"]

DIFFERENTIAL_SEED = int(os.environ.get("DIFFERENTIAL_SEED") or secrets.randbelow(2**32))

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[T]], T]
_GROUPINGS = ("plain", "plain", "inline", "typed-inline", "named")


def variant(schema: GraphQLSchema, document: str, draw: Draw[Any]) -> tuple[str, dict[str, Any]]:
    """The document rewritten with drawn fragments, variables and directives, and the variables' values."""
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode) and schema.query_type is not None
    rewriter = _Rewriter(draw)
    body = rewriter.selections(operation.selection_set.selections, schema.query_type)
    definitions = f"({', '.join(rewriter.definitions)})" if rewriter.definitions else ""
    text = " ".join([f"query Variant{definitions} {{ {' '.join(body)} }}", *rewriter.fragments])
    return text, rewriter.values


class _Rewriter:
    def __init__(self, draw: Draw[Any]) -> None:
        self.draw = draw
        self.definitions: list[str] = []
        self.values: dict[str, Any] = {}
        self.fragments: list[str] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def selections(self, nodes: Sequence[SelectionNode], parent: GraphQLObjectType) -> list[str]:
        texts = [self.field(node, parent) for node in nodes if isinstance(node, FieldNode)]
        out: list[str] = []
        start = 0
        while start < len(texts):
            size = self.draw(st.integers(1, len(texts) - start))
            chunk, start = texts[start : start + size], start + size
            grouping = self.draw(st.sampled_from(_GROUPINGS))
            if grouping == "plain":
                out.extend(chunk)
                continue
            body = " ".join(chunk)
            directive = self.directive()
            if grouping == "inline":
                out.append(f"...{directive} {{ {body} }}")
            elif grouping == "typed-inline":
                out.append(f"... on {parent.name}{directive} {{ {body} }}")
            else:
                fragment = self.name("F")
                self.fragments.append(f"fragment {fragment} on {parent.name} {{ {body} }}")
                out.append(f"...{fragment}{directive}")
            if self.draw(st.booleans()):
                out.extend(chunk)  # the same fields beside the fragment: they merge
        return out

    def field(self, node: FieldNode, parent: GraphQLObjectType) -> str:
        name = node.name.value
        alias = f"{node.alias.value}: " if node.alias else ""
        if name.startswith("__"):
            return f"{alias}{name}{self.directive()}"
        field_def = parent.fields[name]
        arguments = []
        for argument in node.arguments or ():
            literal = print_ast(argument.value)
            if self.draw(st.booleans()):
                variable = self.name("a")
                type_ = field_def.args[argument.name.value].type
                if self.draw(st.booleans()):
                    self.definitions.append(f"${variable}: {type_} = {literal}")
                else:
                    self.definitions.append(f"${variable}: {type_}")
                    self.values[variable] = value_from_ast_untyped(argument.value)
                arguments.append(f"{argument.name.value}: ${variable}")
            else:
                arguments.append(f"{argument.name.value}: {literal}")
        text = alias + name + (f"({', '.join(arguments)})" if arguments else "") + self.directive()
        if node.selection_set is not None:
            child = get_named_type(field_def.type)
            assert isinstance(child, GraphQLObjectType), child
            text += f" {{ {' '.join(self.selections(node.selection_set.selections, child))} }}"
        return text

    def directive(self) -> str:
        which = self.draw(st.sampled_from(("", "", "skip", "include")))
        if not which:
            return ""
        condition = self.draw(st.sampled_from(("true", "false", "variable", "default")))
        if condition in ("variable", "default"):
            variable = self.name("b")
            if condition == "variable":
                self.definitions.append(f"${variable}: Boolean!")
                self.values[variable] = self.draw(st.booleans())
            else:
                self.definitions.append(f"${variable}: Boolean = {str(self.draw(st.booleans())).lower()}")
            condition = f"${variable}"
        return f" @{which}(if: {condition})"
