"""Pricing an operation before it runs (the price list is ``app.schema.cost_model``).

The price is computed from the validated document, following fragments and inline fragments and merging
fields selected more than once under the same response key, as execution does. Only three things can change
it from one request to the next: ``first`` arguments, ``@skip``/``@include`` conditions and the lists that
size a field (``_entities``' representations: ``SIZED_BY``) given as variables. An operation without such
variables is priced once, when it is prepared; one with them is priced per distinct combination of their
(normalised) values, remembered on the prepared operation, so a request only looks its price up.

Variables are read as sent: a ``first`` that is not an integer is priced at the maximum page (execution
then refuses it), and a condition that is not a boolean keeps its field (priced as included). A field of
an abstract type (``_Entity``) is priced at its dearest possible type for each item, plus what each type's
selection costs once.

Example:
    >>> from graphql import parse
    >>> from app.schema.schema import build_schema
    >>> schema = build_schema()._schema
    >>> document = parse("query Q($n: Int) { teams(first: $n) { nodes { id } } }")
    >>> price = OperationCost.of(schema, document, document.definitions[0])
    >>> price.for_variables({"n": 10}), price.for_variables({"n": 100})
    (21, 111)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from graphql.language import DocumentNode, Visitor, visit

from app.schema.cost_model import (
    MAX_PAGE_SIZE,
    MUTATION_COST,
    OBJECT_COST,
    REFERENCE_LOOKUPS,
    RELATIONS,
    SIZED_BY,
    UPSTREAM_CALL_COST,
    list_size,
)

__all__ = ["PRICELESS", "OperationCost"]

# Fields visited while pricing one operation before it is called too complex to price. Merging keeps an
# honest document far below this; it stops documents built to make the pricing itself slow.
_MAX_WORK = 50_000
# Prices are capped where JSON numbers stop being exact in JavaScript; far above any sensible limit.
PRICELESS = 2**53 - 1
_MAX_REMEMBERED = 64  # prices remembered per operation (distinct variable combinations)
_SIZE, _FLAG, _COUNT = "size", "flag", "count"
_SIZING_ARGUMENTS = frozenset(SIZED_BY.values())
_CONNECTION_LISTS = frozenset({"edges", "nodes"})


class TooComplexToPrice(Exception):
    """The document needs more work to price than ``_MAX_WORK``: it is priced above any limit."""


class OperationCost:
    """The price of one operation of a validated document, for any variables.

    Example:
        >>> # OperationCost.of(schema, document, operation).for_variables({"first": 10})
    """

    __slots__ = ("_fixed", "_fragments", "_operation", "_prices", "_roles", "_schema")

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        roles: dict[str, str],
    ) -> None:
        self._schema = schema
        self._operation = operation
        self._fragments = fragments
        self._roles = roles  # the variables the price depends on: a page size or a condition
        self._prices: dict[tuple[Any, ...], int] = {}
        self._fixed = None if roles else _Pricing(self, {}).price()

    @classmethod
    def of(cls, schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode) -> OperationCost:
        """Prepare pricing for ``operation`` (the document must have passed validation)."""
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        scan = _VariableRoles()
        visit(document, scan)
        return cls(schema, operation, fragments, scan.roles)

    @property
    def depends_on_variables(self) -> bool:
        """Whether variables can change the price."""
        return self._fixed is None

    def for_variables(self, variables: Mapping[str, Any] | None) -> int:
        """The price with these (raw, uncoerced) variable values."""
        if self._fixed is not None:
            return self._fixed
        given = variables if isinstance(variables, Mapping) else {}
        normalised = {name: _normalised(role, given.get(name, _ABSENT)) for name, role in self._roles.items()}
        key = tuple(normalised.values())
        price = self._prices.get(key)
        if price is None:
            price = _Pricing(self, normalised).price()
            if len(self._prices) < _MAX_REMEMBERED:
                self._prices[key] = price
        return price


_ABSENT = object()


def _normalised(role: str, value: Any) -> Any:
    """A variable's value as far as the price cares: a page size, a condition, or absent (default)."""
    if value is _ABSENT or value is None:
        return _ABSENT if value is _ABSENT else None
    if role == _SIZE:
        return _page_size(value)
    if role == _COUNT:
        return _item_count(value)
    return value if isinstance(value, bool) else None


def _item_count(value: Any) -> int:
    """How many items a list argument holds (a single value is coerced to a list of one)."""
    if value is None or value is _ABSENT:
        return 0
    return len(value) if isinstance(value, list) else 1


def _page_size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return MAX_PAGE_SIZE  # not an Int: execution refuses it; priced as the largest page meanwhile
    if isinstance(value, float) and not value.is_integer():
        return MAX_PAGE_SIZE
    return max(0, min(int(value), MAX_PAGE_SIZE))


class _VariableRoles(Visitor):
    """Which variables feed a ``first`` argument or an ``if`` of ``@skip``/``@include``."""

    def __init__(self) -> None:
        super().__init__()
        self.roles: dict[str, str] = {}

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        for argument in node.arguments or ():
            if argument.name.value == "first" and isinstance(argument.value, VariableNode):
                self.roles[argument.value.name.value] = _SIZE
            elif argument.name.value in _SIZING_ARGUMENTS and isinstance(argument.value, VariableNode):
                self.roles[argument.value.name.value] = _COUNT
        for directive in node.directives or ():
            self._condition(directive)

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> None:
        for directive in node.directives or ():
            self._condition(directive)

    def enter_inline_fragment(self, node: InlineFragmentNode, *_args: Any) -> None:
        for directive in node.directives or ():
            self._condition(directive)

    def _condition(self, directive: Any) -> None:
        if directive.name.value in ("skip", "include"):
            for argument in directive.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self.roles.setdefault(argument.value.name.value, _FLAG)


class _Pricing:
    """One pricing run: the walk over merged selections, memoised per (type, selections, page size)."""

    def __init__(self, cost: OperationCost, variables: dict[str, Any]) -> None:
        self.schema = cost._schema
        self.operation = cost._operation
        self.fragments = cost._fragments
        self.variables = variables
        self.defaults = {
            definition.variable.name.value: definition.default_value
            for definition in self.operation.variable_definitions or ()
        }
        self.memo: dict[tuple[Any, ...], tuple[int, int]] = {}
        self.work = 0

    def price(self) -> int:
        root = self.schema.get_root_type(self.operation.operation)
        if root is None:
            return 0
        try:
            return min(self._root(root), PRICELESS)
        except TooComplexToPrice:
            return PRICELESS

    def _root(self, root: GraphQLObjectType) -> int:
        # Each root field (each alias) is its own upstream call or write.
        each_root = MUTATION_COST if self.operation.operation == OperationType.MUTATION else UPSTREAM_CALL_COST
        total = 0
        for owner, nodes in self._collect(root, (self.operation.selection_set,)).values():
            field = owner.fields.get(nodes[0].name.value)
            if field is None:  # __typename, __schema, __type: answered by the gateway, bounded by the schema
                continue
            per_item, once = self._field(owner, field, nodes, page=0)
            total += each_root + per_item + once
        return total

    def _field(
        self, owner: GraphQLObjectType, field: GraphQLField, nodes: list[FieldNode], page: int
    ) -> tuple[int, int]:
        """The cost of a field for one parent, and what it costs once whatever the number of parents."""
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return 0, 0
        name = nodes[0].name.value
        items = 1
        lookups = 0
        sized_by = SIZED_BY.get((owner.name, name))
        if sized_by is not None:
            items = self._count(nodes[0], sized_by)
            lookups = UPSTREAM_CALL_COST * min(items, REFERENCE_LOOKUPS)
        elif _is_list(field):
            items = (
                page if name in _CONNECTION_LISTS and owner.name.endswith("Connection") else list_size(owner.name, name)
            )
        child_page = self._first(field, nodes[0]) if "first" in field.args else 0
        selections = tuple(node.selection_set for node in nodes if node.selection_set is not None)
        if is_abstract_type(named):
            per_item, once = self._possible_types(named, selections, child_page)
        else:
            per_item, once = self._selection(named, selections, child_page)
        return items * (OBJECT_COST + per_item), once + lookups

    def _possible_types(self, abstract: Any, selections: tuple[SelectionSetNode, ...], page: int) -> tuple[int, int]:
        """Each item is one of the possible types: the dearest per item, every type's once-only costs."""
        each = once = 0
        for possible in self.schema.get_possible_types(abstract):
            possible_each, possible_once = self._selection(possible, selections, page)
            each = max(each, possible_each)
            once += possible_once
        return each, once

    def _count(self, node: FieldNode, argument_name: str) -> int:
        """How many items the list argument ``argument_name`` holds, as written or as sent in variables."""
        argument = next((a.value for a in node.arguments or () if a.name.value == argument_name), None)
        if isinstance(argument, VariableNode):
            given = self.variables.get(argument.name.value, _ABSENT)
            if given is not _ABSENT:
                return given if isinstance(given, int) else 0
            argument = self.defaults.get(argument.name.value)
        if isinstance(argument, ListValueNode):
            # Each item written as a variable holds one representation, whatever it is.
            return len(argument.values)
        return 0 if argument is None or isinstance(argument, NullValueNode) else 1

    def _selection(self, parent: Any, selections: tuple[SelectionSetNode, ...], page: int) -> tuple[int, int]:
        key = (parent.name, tuple(map(id, selections)), page)
        known = self.memo.get(key)
        if known is not None:
            return known
        each = once = 0
        per_parent: set[str] = set()
        shared: dict[str, int] = {}
        for owner, nodes in self._collect(parent, selections).values():
            field = owner.fields.get(nodes[0].name.value)
            if field is None:
                continue  # __typename
            relation = RELATIONS.get((owner.name, nodes[0].name.value))
            if relation is not None:
                if relation.batched:
                    shared[relation.source] = relation.calls
                else:
                    per_parent.add(relation.source)
            field_each, field_once = self._field(owner, field, nodes, page)
            each += field_each
            once += field_once
        each += UPSTREAM_CALL_COST * len(per_parent)
        once += UPSTREAM_CALL_COST * sum(shared.values())
        self.memo[key] = (each, once)
        return each, once

    def _collect(
        self, parent: GraphQLObjectType, selections: tuple[SelectionSetNode, ...]
    ) -> dict[str, tuple[GraphQLObjectType, list[FieldNode]]]:
        """Fields by response key, as execution groups them (each fragment spread once per selection)."""
        grouped: dict[str, tuple[GraphQLObjectType, list[FieldNode]]] = {}
        visited: set[str] = set()
        pending = [selection_set for selection_set in reversed(selections)]
        while pending:
            for selection in pending.pop().selections:
                self.work += 1
                if self.work > _MAX_WORK:
                    raise TooComplexToPrice
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    grouped.setdefault(key, (parent, []))[1].append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    if condition is None or self._applies(condition.name.value, parent):
                        pending.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if (
                        name in visited
                        or fragment is None
                        or not self._applies(fragment.type_condition.name.value, parent)
                    ):
                        continue
                    visited.add(name)
                    pending.append(fragment.selection_set)
        return grouped

    def _applies(self, type_condition: str, parent: GraphQLObjectType) -> bool:
        """Whether a fragment on ``type_condition`` applies to objects of ``parent`` (itself, or an abstract type
        that it is one of)."""
        if type_condition == parent.name:
            return True
        condition = self.schema.get_type(type_condition)
        return is_abstract_type(condition) and self.schema.is_sub_type(condition, parent)

    def _included(self, selection: Any) -> bool:
        """False only when ``@skip``/``@include`` surely leave the selection out."""
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            condition = next((a.value for a in directive.arguments or () if a.name.value == "if"), None)
            value = self._boolean(condition)
            if value is None:
                continue  # unknown: priced as included
            if (name == "skip") == value:
                return False
        return True

    def _boolean(self, value: ValueNode | None) -> bool | None:
        if isinstance(value, BooleanValueNode):
            return value.value
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value, _ABSENT)
            if given is _ABSENT:
                default = self.defaults.get(value.name.value)
                return default.value if isinstance(default, BooleanValueNode) else None
            return given if isinstance(given, bool) else None
        return None

    def _first(self, field: GraphQLField, node: FieldNode) -> int:
        """The page size ``first`` asks for: a literal, a variable, the variable's default or the field's."""
        default = field.args["first"].default_value
        # An absent or null ``first`` is the default page (``app.schema.pagination``).
        default_page = _page_size(default) if isinstance(default, int) else MAX_PAGE_SIZE
        argument = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
        if isinstance(argument, VariableNode):
            given = self.variables.get(argument.name.value, _ABSENT)
            if given is not _ABSENT:
                return default_page if given is None else int(given)
            argument = self.defaults.get(argument.name.value)
        if argument is None or isinstance(argument, NullValueNode):
            return default_page
        if isinstance(argument, IntValueNode):
            return _page_size(int(argument.value))
        return MAX_PAGE_SIZE


def _is_list(field: GraphQLField) -> bool:
    field_type = field.type.of_type if is_non_null_type(field.type) else field.type
    return is_list_type(field_type)
