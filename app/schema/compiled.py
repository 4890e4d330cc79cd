"""Compiled execution: a valid operation turned once into a plan, then run without graphql-core's per-field machinery.

graphql-core's executor does, for every field of every object, the same schema lookups, builds a resolve
info and a path, and dispatches on the return type; on a dashboard of a hundred teams that is most of the
request's CPU. Here that work is done once per document (and per combination of ``@skip``/``@include``
variable values): fields are collected with graphql-core's own ``collect_fields``, and each field becomes a
``FieldPlan`` that knows how to read its value and complete it.

Three ways to read a value, all with exactly Strawberry's semantics:

- *basic* fields (no resolver, no extensions): ``getattr(source, python_name)``, which is what Strawberry's
  basic-field resolver does;
- *direct* fields (a synchronous resolver without GraphQL arguments, extensions or exception handlers): the
  resolver function called with the parent and a Strawberry ``Info``, which is what Strawberry's wrapper does
  after converting (no) arguments;
- *converted* fields (any other resolver without extensions, permissions or exception handlers, with
  arguments or async): the arguments graphql-core coerced (once per plan when they are literals) converted
  as Strawberry's ``convert_arguments`` does (scalars pass unchanged; input objects, enums and lists through
  Strawberry's own ``convert_argument``), then the resolver function called with them, which is what
  Strawberry's wrapper does, without its three wrapper frames; an async resolver's conversion error is
  raised when it is awaited, as it is inside Strawberry's async wrapper;
- everything else: the graphql-core resolver Strawberry built, called with a full resolve info.

The basic fields a selection starts with, when they are strings, IDs, booleans or floats, are read and
checked by one small function generated from the plan (``_leading_reader``); any value that is not
exactly what those scalars pass unchanged sends the object down the general path, field by field. A
selection of nothing else (``budgets { id maxLimit }``) is read whole by that function: the items of a list
of such objects get a path and an anchor only when one of them goes down the general path.

Completion follows the GraphQL spec as graphql-core implements it (non-null checks and null propagation to
the nearest nullable position, list items, leaf coercion, errors located with their paths and filtered under
nulled positions by graphql-core's own ``CollectedErrors``). Values that must be awaited (loader futures,
async resolvers) are completed into their place (a dict entry or list item) by a done-callback, instead of
a coroutine and a gather per object, so every load of one level is asked for before anything waits, and
batches stay whole; a counter says when everything has settled. A non-null failure found in such a
callback nulls its nearest nullable ancestor once everything has settled, so all the errors of siblings
that failed for the same reason are reported (graphql-core reports them or not depending on which future
the event loop settles first); ``data`` is the same either way.

Operations this does not compile run on graphql-core unchanged: subscriptions, introspection (``__schema``,
``__type``), abstract return types, ``@defer``/``@stream``, fragment variables and unknown directives.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from inspect import Parameter
from inspect import signature as inspect_signature
from keyword import iskeyword
from types import GeneratorType
from typing import Any, cast

from graphql import (
    DirectiveNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    ValueNode,
    VariableNode,
    is_input_object_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    located_error,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_fields, collect_subfields
from graphql.execution.executor import CollectedErrors, default_field_resolver
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    get_argument_values,
    get_variable_values,
    input_is_nested_too_deeply,
)
from graphql.language import Visitor, visit
from graphql.pyutils import Path, inspect, is_iterable
from graphql.type import GraphQLBoolean, GraphQLFloat, GraphQLID, GraphQLInt, GraphQLString
from graphql.type.scalars import GRAPHQL_MAX_INT as _MAX_INT
from graphql.type.scalars import GRAPHQL_MIN_INT as _MIN_INT
from graphql.utilities import coerce_input_value
from strawberry import ID as strawberry_ID
from strawberry.execution import optimized_is_awaitable
from strawberry.scalars import is_scalar
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo as ResolveInfo
from strawberry.types.arguments import InputContext, StrawberryArgument, convert_argument
from strawberry.types.base import StrawberryOptional, has_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info
from strawberry.types.unset import UNSET

from app.schema.input_coercion import NOT_PLAIN, Coercer, plain_coercer

__all__ = ["CompiledDocument", "Unsupported", "compile_document", "execute_compiled"]

_BASIC, _DIRECT, _GENERIC, _TYPENAME, _CONVERTED = range(5)
# How a direct resolver is called: positionally for the usual signatures, else by keyword.
_SOURCE_INFO, _SOURCE, _INFO, _NOTHING, _KEYWORDS = range(5)
_SHAPES = {("source", "info"): _SOURCE_INFO, ("source",): _SOURCE, ("info",): _INFO, (): _NOTHING}
_NON_NULL, _LIST, _LEAF, _OBJECT = range(4)
_SYNC_TYPES: set[type] = {str, int, float, bool, type(None), list, dict, tuple}
# Argument types whose values Strawberry's ``convert_argument`` returns unchanged (leaf scalars, not GlobalID).
_UNCHANGED_ARGUMENTS: frozenset[Any] = frozenset({str, int, float, bool, strawberry_ID})
# Types of list items completed as objects before: never None, an exception or awaitable.
_PLAIN_OBJECTS: set[type] = set()


def _is_awaitable(value: Any) -> bool:
    """graphql-core's awaitable test, remembered per type for types that can never be awaited."""
    kind = type(value)
    if kind in _SYNC_TYPES:
        return False
    if kind is asyncio.Future:  # a loader's future: what most awaited values are
        return True
    if optimized_is_awaitable(value):
        return True
    if not hasattr(kind, "__await__") and not issubclass(kind, GeneratorType):
        _SYNC_TYPES.add(kind)  # ``await`` looks ``__await__`` up on the type: no instance of it is awaitable
    return False


# ``_new_tuple(Path, (prev, key, typename))`` is ``Path(prev, key, typename)`` without the named tuple's
# Python-level ``__new__``: a third of the cost, for each of the hundreds of paths a list makes.
_new_tuple = tuple.__new__
_SKIP_INCLUDE = frozenset({"skip", "include"})
_MAX_PLANS_PER_DOCUMENT = 16


class Unsupported(Exception):
    """The operation uses something the compiler leaves to graphql-core."""


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------


class TypePlan:
    """How to complete a value of one output type."""

    __slots__ = ("fast", "item", "kind", "object_plan", "type")

    def __init__(self, kind: int, type_: GraphQLOutputType) -> None:
        self.kind = kind
        self.type = type_
        self.item: TypePlan | None = None  # non-null's inner type, list's item type
        self.object_plan: ObjectPlan | None = None
        self.fast: type | None = None  # a leaf whose values of this Python type pass unchanged


class FieldPlan:
    """One response key of a selection set."""

    __slots__ = (
        "args",
        "arguments",
        "attr",
        "dynamic_args",
        "field_def",
        "function",
        "info_name",
        "is_async",
        "key",
        "kind",
        "leaf",
        "name",
        "node",
        "nodes",
        "parent_name",
        "parent_type",
        "resolve",
        "return_plan",
        "self_arg",
        "shape",
        "source_names",
        "strawberry_field",
        "variable_args",
    )

    def __init__(self, key: str, name: str, parent_type: GraphQLObjectType, nodes: list[FieldNode]) -> None:
        self.key = key
        self.name = name
        self.parent_type = parent_type
        self.parent_name = parent_type.name
        self.nodes = nodes
        self.node = nodes[0]
        self.kind = _GENERIC
        self.field_def: Any = None
        self.attr = ""
        self.resolve: Callable[..., Any] = default_field_resolver
        self.args: dict[str, Any] = {}
        self.dynamic_args = False
        # Arguments that are each a variable: (out name, variable name, non-null); None: graphql-core's way.
        self.variable_args: tuple[tuple[str, str, bool], ...] | None = None
        self.return_plan: TypePlan | None = None
        self.strawberry_field: StrawberryField | None = None
        self.function: Callable[..., Any] = _uncallable
        self.info_name: str | None = None
        self.source_names: tuple[str, ...] = ()
        self.self_arg = False
        self.shape = _KEYWORDS
        self.leaf = False
        # Converted fields: (GraphQL name, Python name, Strawberry type or None when the value passes unchanged).
        self.arguments: tuple[tuple[str, str, Any], ...] = ()
        self.is_async = False


def _uncallable(*_args: Any, **_kwargs: Any) -> Any:
    raise TypeError("not a direct field")


class ObjectPlan:
    """The fields of one object type's selection set, in response order.

    ``leading`` reads the plain leaf fields the selection starts with in one generated function (see
    ``_leading_reader``); ``rest`` are the fields after them; ``whole`` is ``leading`` when there are none.
    """

    __slots__ = ("fields", "leading", "rest", "type_name", "whole")

    def __init__(self, type_name: str, fields: list[FieldPlan]) -> None:
        self.type_name = type_name
        self.fields = fields
        self.leading, count = _leading_reader(fields)
        self.rest = fields[count:]
        # The selection is only such fields (``customer { id name }``): ``leading`` completes all of it.
        self.whole = self.leading if not self.rest else None


_GENERATED_BUILTINS = {"type": type, "str": str, "bool": bool, "float": float, "Exception": Exception}
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\Z")


def _leading_reader(fields: list[FieldPlan]) -> tuple[Callable[[Any], dict[str, Any] | None] | None, int]:
    """A function completing the leading attribute fields typed String, ID, Boolean or Float, and their count.

    It gives the completed dict when every value has exactly the Python type those scalars pass unchanged
    (and each float is finite, as Float's coercion requires), else None: the general path then completes
    the object field by field, errors included. The code is generated from checked identifiers only
    (Python attribute names, GraphQL response keys); for a few hundred objects per response it is about
    three times faster than the general loop.
    """
    reads: list[str] = []
    checks: list[str] = []
    entries: list[str] = []
    for index, field_plan in enumerate(fields):
        plan = field_plan.return_plan
        if field_plan.kind != _BASIC or not field_plan.leaf or plan is None:
            break
        if plan.kind == _NON_NULL:
            plan = plan.item
        assert plan is not None
        expected = float if plan.type is GraphQLFloat else plan.fast
        attr, key = field_plan.attr, field_plan.key
        if expected is None or not attr.isidentifier() or iskeyword(attr) or not _GRAPHQL_NAME.match(key):
            break
        reads.append(f"    v{index} = source.{attr}")
        checks.append(f"type(v{index}) is {expected.__name__}")
        if expected is float:
            checks.append(f"v{index} - v{index} == 0.0")
        entries.append(f"{key!r}: v{index}")
    if len(entries) < 2:
        return None, 0  # one field: the general loop is as fast
    source = "\n".join(
        [
            "def leading(source):",
            "  try:",
            *(f"  {line}" for line in reads),
            "  except Exception:",
            "    return None",
            f"  if {' and '.join(checks)}:",
            f"    return {{{', '.join(entries)}}}",
            "  return None",
        ]
    )
    namespace: dict[str, Any] = {"__builtins__": _GENERATED_BUILTINS}
    exec(compile(source, "<compiled selection>", "exec"), namespace)
    return namespace["leading"], len(entries)


@dataclass(slots=True)
class OperationPlan:
    """A compiled operation for one combination of ``@skip``/``@include`` variable values."""

    root: ObjectPlan
    root_type: GraphQLObjectType
    serial: bool


@dataclass(frozen=True, slots=True)
class ArgumentConverter:
    """What Strawberry's ``convert_argument`` needs besides the value: the schema's scalars and config."""

    scalar_registry: Any
    config: Any

    @classmethod
    def of(cls, schema: GraphQLSchema) -> ArgumentConverter | None:
        """The converter of the Strawberry schema behind ``schema``; None when it is not one Strawberry built."""
        strawberry_schema = getattr(schema, "_strawberry_schema", None)
        converter = getattr(strawberry_schema, "schema_converter", None)
        registry = getattr(converter, "scalar_registry", None)
        config = getattr(strawberry_schema, "config", None)
        if registry is None or config is None or getattr(config, "name_converter", None) is None:
            return None
        return cls(registry, config)


@dataclass(slots=True)
class CompiledDocument:
    """What a prepared document keeps for compiled execution; plans are made on first use."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    fragment_definitions: dict[str, FragmentDefinitionNode]
    fragments: dict[str, FragmentDetails]
    directive_variables: tuple[str, ...]
    info_class: type
    converter: ArgumentConverter | None = None
    # Each variable's signature, whether it has a default, whether its values may nest (a list or an input
    # object) and its plain values' coercer; None: coerce with graphql-core's own function.
    variable_signatures: tuple[tuple[GraphQLVariableSignature, bool, bool, Coercer], ...] | None = None
    plans: dict[tuple[Any, ...], OperationPlan | None] = field(default_factory=dict)


class _DirectiveScan(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.variables: list[str] = []
        self.unsupported = False

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
        if node.name.value not in _SKIP_INCLUDE:
            self.unsupported = True
            return
        for argument in node.arguments or ():
            if isinstance(argument.value, VariableNode) and argument.value.name.value not in self.variables:
                self.variables.append(argument.value.name.value)


def compile_document(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, info_class: type
) -> CompiledDocument | None:
    """The document's compile-time facts, or None when it must run on graphql-core."""
    if operation.operation == OperationType.SUBSCRIPTION:
        return None
    fragment_definitions: dict[str, FragmentDefinitionNode] = {}
    fragments: dict[str, FragmentDetails] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None
            fragment_definitions[definition.name.value] = definition
            fragments[definition.name.value] = FragmentDetails(definition, None)
    scan = _DirectiveScan()
    visit(document, scan)
    if scan.unsupported:
        return None
    return CompiledDocument(
        schema,
        document,
        operation,
        fragment_definitions,
        fragments,
        tuple(scan.variables),
        info_class,
        ArgumentConverter.of(schema),
        _variable_signatures(schema, operation),
    )


def _variable_signatures(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> tuple[tuple[GraphQLVariableSignature, bool, bool, Coercer], ...] | None:
    """What ``coerce_variable_values`` works out from the document on every request, worked out once."""
    signatures = []
    for node in operation.variable_definitions or ():
        signature = get_variable_signature(schema, node)
        if isinstance(signature, GraphQLError):
            return None
        type_ = signature.type.of_type if is_non_null_type(signature.type) else signature.type
        nests = is_list_type(type_) or is_input_object_type(type_)
        signatures.append((signature, node.default_value is not None, nests, plain_coercer(signature.type)))
    return tuple(signatures)


def _coerced_variables(compiled: CompiledDocument, inputs: dict[str, Any]) -> VariableValues | None:
    """graphql-core's ``coerce_variable_values`` over the remembered signatures, for values that coerce.

    None for anything else (a missing required value, a default to apply, a value that does not coerce,
    one nested too deeply): graphql-core's ``get_variable_values`` then does it all, errors included.
    """
    signatures = compiled.variable_signatures
    if signatures is None:
        return None
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    try:
        for signature, has_default, nests, coerce in signatures:
            name = signature.name
            value = inputs.get(name, Undefined)
            if value is Undefined:
                if has_default or is_non_null_type(signature.type):
                    return None
                sources[name] = VariableValueSource(signature)  # nullable and not provided: left out
                continue
            sources[name] = _new_tuple(VariableValueSource, (signature, value))
            coerced_value = coerce(value)  # a plain value without graphql-core's dispatch at every level
            if coerced_value is NOT_PLAIN:
                if nests and input_is_nested_too_deeply(value, signature.type):  # a leaf's value never nests
                    return None
                coerced_value = coerce_input_value(value, signature.type)
                if coerced_value is Undefined:
                    return None
            coerced[name] = coerced_value
    except (GraphQLError, RecursionError):
        return None
    return VariableValues(sources, coerced)


def _plan_for(compiled: CompiledDocument, variables: VariableValues) -> OperationPlan | None:
    directive_variables = compiled.directive_variables
    if directive_variables:
        coerced = variables.coerced
        key = tuple(coerced.get(name) for name in directive_variables)
    else:
        key = ()  # one plan for every request, as most documents have
    try:
        return compiled.plans[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable directive argument: compile for this request only
        key = None  # type: ignore[assignment]
    plan: OperationPlan | None
    try:
        plan = _compile_operation(compiled, variables)
    except Unsupported:
        plan = None
    if key is not None and len(compiled.plans) < _MAX_PLANS_PER_DOCUMENT:
        compiled.plans[key] = plan
    return plan


def _compile_operation(compiled: CompiledDocument, variables: VariableValues) -> OperationPlan:
    schema = compiled.schema
    operation = compiled.operation
    root_type = schema.get_root_type(operation.operation)
    if root_type is None:
        raise Unsupported("no root type")
    collected = collect_fields(schema, compiled.fragments, variables, root_type, operation)
    if collected.new_defer_usages:
        raise Unsupported("@defer")
    root = _compile_object(compiled, variables, root_type, collected.grouped_field_set)
    return OperationPlan(root, root_type, operation.operation == OperationType.MUTATION)


def _compile_object(
    compiled: CompiledDocument,
    variables: VariableValues,
    parent_type: GraphQLObjectType,
    grouped: dict[str, list[FieldDetails]],
) -> ObjectPlan:
    schema = compiled.schema
    fields: list[FieldPlan] = []
    for key, details in grouped.items():
        for detail in details:
            if detail.defer_usage is not None or detail.fragment_variable_values is not None:
                raise Unsupported("@defer or fragment variables")
        nodes = [detail.node for detail in details]
        name = nodes[0].name.value
        if name in ("__schema", "__type"):
            raise Unsupported("introspection")
        field_def = schema.get_field(parent_type, name)
        if field_def is None:
            continue  # graphql-core leaves unknown fields out too (validation rejects them first)
        plan = FieldPlan(key, name, parent_type, nodes)
        plan.field_def = field_def
        if name == "__typename":
            plan.kind = _TYPENAME
            fields.append(plan)
            continue
        _choose_resolution(plan, field_def, variables, compiled.converter)
        plan.return_plan = _compile_type(compiled, variables, field_def.type, details)
        plan.leaf = _is_leaf_plan(plan.return_plan)
        fields.append(plan)
    return ObjectPlan(parent_type.name, fields)


def _is_leaf_plan(plan: TypePlan) -> bool:
    while plan.kind == _NON_NULL:
        assert plan.item is not None
        plan = plan.item
    return plan.kind == _LEAF


def _choose_resolution(
    plan: FieldPlan, field_def: Any, variables: VariableValues, converter: ArgumentConverter | None
) -> None:
    node = plan.node
    if field_def.args or node.arguments:
        if any(_has_variable(argument.value) for argument in node.arguments or ()):
            plan.dynamic_args = True
            plan.variable_args = _variable_arguments(field_def, node)
        else:
            try:
                plan.args = get_argument_values(field_def, node, variables)
            except GraphQLError:
                plan.dynamic_args = True  # raise it where graphql-core would: when the field runs
    resolve = field_def.resolve
    strawberry_field = field_def.extensions.get("strawberry-definition") if field_def.extensions else None
    plan.resolve = resolve or default_field_resolver
    if not isinstance(strawberry_field, StrawberryField) or resolve is None:
        return
    resolver_name = getattr(resolve, "__name__", "")
    if resolver_name == "_get_basic_result" and strawberry_field.is_basic_field:
        if strawberry_field.default_resolver is getattr:
            plan.kind = _BASIC
            plan.attr = strawberry_field.python_name
        return
    base = strawberry_field.base_resolver
    if (
        resolver_name == "_resolver"
        and base is not None
        and not base.is_async
        and not strawberry_field.arguments
        and not strawberry_field.extensions
        and not plan.dynamic_args
        and not plan.args
        and _without_exception_handlers(resolve)
        and callable(base.wrapped_func)
    ):
        plan.kind = _DIRECT
        plan.strawberry_field = strawberry_field
        plan.function = cast("Callable[..., Any]", base.wrapped_func)  # what StrawberryResolver.__call__ calls
        plan.self_arg = base.self_parameter is not None
        names = [parameter.name for parameter in (base.parent_parameter, base.root_parameter) if parameter]
        plan.source_names = tuple(dict.fromkeys(names))
        plan.info_name = base.info_parameter.name if base.info_parameter else None
        plan.shape = _call_shape(plan)
        return
    if (
        resolver_name in ("_resolver", "_async_resolver")
        and converter is not None
        and base is not None
        and base.is_async == (resolver_name == "_async_resolver")
        and not strawberry_field.extensions
        and _without_exception_handlers(resolve)
        and callable(base.wrapped_func)
    ):
        arguments = _argument_plans(strawberry_field.arguments, converter)
        if arguments is None:
            return
        plan.kind = _CONVERTED
        plan.strawberry_field = strawberry_field
        plan.function = cast("Callable[..., Any]", base.wrapped_func)
        plan.self_arg = base.self_parameter is not None
        names = [parameter.name for parameter in (base.parent_parameter, base.root_parameter) if parameter]
        plan.source_names = tuple(dict.fromkeys(names))
        plan.info_name = base.info_parameter.name if base.info_parameter else None
        plan.arguments = arguments
        plan.is_async = base.is_async


def _variable_arguments(field_def: Any, node: FieldNode) -> tuple[tuple[str, str, bool], ...] | None:
    """Each argument's out name, variable and whether it is non-null, when every argument is given a variable."""
    given = {argument.name.value: argument.value for argument in node.arguments or ()}  # as graphql-core maps them
    arguments = []
    for name, argument in field_def.args.items():
        value = given.get(name)
        if not isinstance(value, VariableNode):
            return None
        arguments.append((argument.out_name or name, value.name.value, is_non_null_type(argument.type)))
    return tuple(arguments)


def _argument_values(plan: FieldPlan, variables: VariableValues) -> dict[str, Any]:
    """``get_argument_values`` for a field whose arguments are all variables given a value it may take; anything
    else (a variable left out, a null for a non-null argument) through graphql-core, its errors included."""
    arguments = plan.variable_args
    if arguments is not None:
        coerced = variables.coerced
        values: dict[str, Any] = {}
        for out_name, variable, non_null in arguments:
            value = coerced.get(variable, Undefined)
            if value is Undefined or (value is None and non_null):
                break
            values[out_name] = value  # a variable's value is coerced already: graphql-core takes it as it is
        else:
            return values
    return get_argument_values(plan.field_def, plan.node, variables)


def _argument_plans(
    arguments: list[StrawberryArgument], converter: ArgumentConverter
) -> tuple[tuple[str, str, Any], ...] | None:
    """Per argument: its GraphQL name (as ``convert_arguments`` computes it), Python name and the type to convert
    to (None: the value passes unchanged); None when an argument has no Python name."""
    plans = []
    name_converter = converter.config.name_converter
    for argument in arguments:
        if not argument.python_name:
            return None
        argument_type: Any = argument.type
        inner = argument_type.of_type if type(argument_type) is StrawberryOptional else argument_type
        if _is_plain_scalar(inner):
            argument_type = None
        elif _builds_itself(argument_type, converter):
            argument_type = _BuiltInput(argument_type)
        plans.append((name_converter.from_argument(argument), argument.python_name, argument_type))
    return tuple(plans)


class _BuiltInput:
    """An input type with a ``from_input`` hook: what ``convert_argument`` calls for its values, called directly."""

    __slots__ = ("cls", "from_input")

    def __init__(self, cls: Any) -> None:
        self.cls = cls
        self.from_input = cls.__strawberry_definition__.from_input


def _builds_itself(type_: Any, converter: ArgumentConverter) -> bool:
    """Whether ``convert_argument`` takes any value of ``type_`` but None and UNSET straight to its ``from_input``
    hook: a class with an input definition and a hook that is no scalar (scalars are checked first there)."""
    if not isinstance(type_, type) or not has_object_definition(type_):
        return False
    definition = type_.__strawberry_definition__
    return definition.is_input and definition.from_input is not None and not is_scalar(type_, converter.scalar_registry)


def _is_plain_scalar(type_: Any) -> bool:
    try:
        return type_ in _UNCHANGED_ARGUMENTS
    except TypeError:  # an unhashable type annotation
        return False


def _call_shape(plan: FieldPlan) -> int:
    """``_SOURCE_INFO`` etc. when the resolver takes exactly those, positionally; else ``_KEYWORDS``."""
    try:
        parameters = list(inspect_signature(plan.function).parameters.values())
    except (TypeError, ValueError):
        return _KEYWORDS
    order: list[str] = []
    for index, parameter in enumerate(parameters):
        if parameter.kind not in (Parameter.POSITIONAL_ONLY, Parameter.POSITIONAL_OR_KEYWORD):
            return _KEYWORDS
        if (plan.self_arg and index == 0) or parameter.name in plan.source_names:
            order.append("source")
        elif parameter.name == plan.info_name:
            order.append("info")
        else:
            return _KEYWORDS
    expected = len(plan.source_names) + (plan.info_name is not None) + (1 if plan.self_arg else 0)
    if len(order) != expected:
        return _KEYWORDS  # a parameter passed by keyword twice, or one not passed at all
    return _SHAPES.get(tuple(order), _KEYWORDS)


def _without_exception_handlers(resolve: Callable[..., Any]) -> bool:
    # Strawberry's wrapper closes over the handlers that apply to the field; without any it calls the
    # resolver chain directly, which is what a direct call reproduces.
    names = resolve.__code__.co_freevars
    closure = resolve.__closure__ or ()
    cells = dict(zip(names, closure, strict=False))
    handlers = cells.get("field_exception_handlers")
    return handlers is not None and handlers.cell_contents == ()


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(entry.value) for entry in value.fields)
    return False


def _compile_type(
    compiled: CompiledDocument, variables: VariableValues, type_: GraphQLOutputType, details: list[FieldDetails]
) -> TypePlan:
    if is_non_null_type(type_):
        assert isinstance(type_, GraphQLNonNull)
        plan = TypePlan(_NON_NULL, type_)
        plan.item = _compile_type(compiled, variables, type_.of_type, details)
        return plan
    if is_list_type(type_):
        assert isinstance(type_, GraphQLList)
        plan = TypePlan(_LIST, type_)
        plan.item = _compile_type(compiled, variables, type_.of_type, details)
        return plan
    if is_leaf_type(type_):
        plan = TypePlan(_LEAF, type_)
        if type_ is GraphQLString or type_ is GraphQLID:
            plan.fast = str
        elif type_ is GraphQLBoolean:
            plan.fast = bool
        return plan
    if is_object_type(type_):
        assert isinstance(type_, GraphQLObjectType)
        if type_.is_type_of is not None:
            raise Unsupported("is_type_of")
        plan = TypePlan(_OBJECT, type_)
        collected = collect_subfields(
            compiled.schema, compiled.fragments, variables, compiled.operation, type_, details
        )
        if collected.new_defer_usages:
            raise Unsupported("@defer")
        plan.object_plan = _compile_object(compiled, variables, type_, collected.grouped_field_set)
        return plan
    raise Unsupported("abstract type")


# ---------------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------------


class _LazyInfo(Info):
    """Strawberry's ``Info`` for a direct field, whose graphql-core resolve info is made only if it is read.

    Resolvers here mostly read ``info.context``; building the full resolve info for each of them is what
    the lazy property saves. Anything else reads the real one, built on first use.
    """

    def __init__(self, run: _Run, plan: FieldPlan, path: Path) -> None:  # not the dataclass __init__
        self._run = run
        self._plan = plan
        self._path = path
        self._field = plan.strawberry_field  # type: ignore[assignment]

    @property
    def context(self) -> Any:
        return self._run.context

    @cached_property
    def _raw_info(self) -> Any:  # type: ignore[override]
        return self._run.info(self._plan, self._path)


Anchor = tuple[Any, Any, Path] | None
"""The nearest nullable position above: ``(container, key, path)``, or None for the whole ``data``."""


class _Run:
    """The state of one execution.

    Values that must be awaited are completed into their place (a dict entry or list item) when they
    settle; ``pending`` counts those still out. A non-null position that fails nulls its anchor, the nearest
    nullable position above it, as graphql-core's error propagation would.
    """

    __slots__ = (
        "context",
        "converter",
        "data_nulled",
        "errors",
        "failure",
        "fragment_definitions",
        "held",
        "info_class",
        "lazy_info",
        "nullings",
        "operation",
        "pending",
        "schema",
        "serial",
        "tracked",
        "variables",
        "waiter",
    )

    def __init__(self, compiled: CompiledDocument, variables: VariableValues, context: Any) -> None:
        self.schema = compiled.schema
        self.operation = compiled.operation
        self.fragment_definitions = compiled.fragment_definitions
        self.info_class = compiled.info_class
        self.lazy_info = compiled.info_class is Info  # resolvers get a ``_LazyInfo`` (see ``_info_for``)
        self.converter = compiled.converter
        self.variables = variables
        self.context = context
        self.errors: CollectedErrors | None = None  # made by the first error: most runs have none
        self.tracked: list[asyncio.Future[Any]] = []
        self.pending = 0
        self.waiter: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None
        self.data_nulled = False
        self.nullings: list[tuple[Anchor, GraphQLError]] = []
        # A mutation's root field that must be awaited, handed to ``_execute_serially`` to await in place.
        self.serial = False  # root fields one at a time (a mutation)
        self.held: tuple[_Slot, Any] | None = None

    def info(self, plan: FieldPlan, path: Path) -> Any:
        return ResolveInfo(
            plan.name,
            plan.nodes,
            plan.field_def.type,
            plan.parent_type,
            path,
            self.schema,
            self.fragment_definitions,
            None,
            self.operation,
            self.variables.coerced,
            self.context,
            optimized_is_awaitable,
            None,
            None,
            None,  # type: ignore[arg-type]  # operation extensions: none, as on the graphql-core path
        )

    def field_error(
        self, raw: BaseException, return_type: GraphQLOutputType, nodes: list[FieldNode], path: Path
    ) -> None:
        """graphql-core's ``handle_field_error``: raise for non-null types, else record (the value is null)."""
        if not isinstance(raw, Exception):
            raise raw
        error = located_error(raw, nodes, path.as_list())
        if is_non_null_type(return_type):
            raise error
        self.add_error(error, path)

    def add_error(self, error: GraphQLError, path: Path | None) -> None:
        """``CollectedErrors.add``: the error, unless a position above ``path`` was nulled already."""
        errors = self.errors
        if errors is None:
            errors = self.errors = CollectedErrors()
        errors.add(error, path)

    def null_anchor(self, anchor: Anchor, error: GraphQLError) -> None:
        """A non-null position failed after the fact: its nearest nullable ancestor becomes null.

        Applied once everything has settled (``apply_nullings``), so the errors of its nullable siblings
        that failed for the same reason are all reported, as graphql-core reports them, instead of
        depending on which of them the event loop happened to settle first.
        """
        self.nullings.append((anchor, error))

    def apply_nullings(self) -> None:
        for anchor, error in self.nullings:
            if anchor is None:
                self.data_nulled = True
                self.add_error(error, None)
                continue
            container, key, path = anchor
            container[key] = None
            self.add_error(error, path)
        self.nullings.clear()

    def settled(self) -> None:
        self.pending -= 1
        if self.pending == 0 and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def abort(self, failure: BaseException) -> None:
        """Something that is not a field error (a cancellation): the execution stops with it."""
        if self.failure is None:
            self.failure = failure
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(failure)

    async def wait(self) -> None:
        """Until every deferred value has been completed into its place."""
        while self.pending:
            if self.failure is not None:
                raise self.failure
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        if self.failure is not None:
            raise self.failure


class _Slot:
    """The done-callback of one awaited value: complete it into its place, or handle its error there."""

    __slots__ = ("anchor", "container", "field_plan", "key", "path", "run", "type_plan")

    def __init__(
        self,
        run: _Run,
        container: Any,
        key: Any,
        field_plan: FieldPlan,
        type_plan: TypePlan,
        path: Path,
        anchor: Anchor,
    ) -> None:
        self.run = run
        self.container = container
        self.key = key
        self.field_plan = field_plan
        self.type_plan = type_plan
        self.path = path
        self.anchor = anchor

    def wait_for(self, awaitable: Any) -> None:
        """Complete what ``awaitable`` gives into this place once it settles (a coroutine starts now)."""
        run = self.run
        # A loader's future is tracked as it is (what ``ensure_future`` gives for it, without its checks).
        future = awaitable if type(awaitable) is asyncio.Future else asyncio.ensure_future(awaitable)
        run.tracked.append(future)
        run.pending += 1
        future.add_done_callback(self)

    async def settle_here(self, awaitable: Any) -> None:
        """``wait_for`` in the caller's own task: for a root field run alone (a mutation's), whose task would
        only have been waited for. Cancelling the caller cancels it as it cancels what ``wait_for`` tracks."""
        outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            outcome.set_result(await awaitable)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            outcome.set_exception(error)
        self.run.pending += 1
        self(outcome)

    def __call__(self, future: asyncio.Future[Any]) -> None:
        run = self.run
        try:
            if future.cancelled():
                run.abort(asyncio.CancelledError())
                return
            type_plan = self.type_plan
            container, key, path = self.container, self.key, self.path
            inner = (container, key, path) if type_plan.kind != _NON_NULL else self.anchor
            try:
                # ``result()`` raises a failure and has the future let go of its traceback (``exception()``
                # keeps it): a loader's future stays cached for the request, and the traceback holds the loader.
                container[key] = _complete(run, self.field_plan, type_plan, future.result(), path, inner)
            except Exception as raw:
                container[key] = None
                try:
                    run.field_error(raw, type_plan.type, self.field_plan.nodes, path)
                except GraphQLError as propagated:
                    run.null_anchor(self.anchor, propagated)
        except BaseException as failure:
            run.abort(failure)
        finally:
            run.settled()


async def execute_compiled(
    compiled: CompiledDocument, raw_variables: dict[str, Any] | None, context: Any, hide_suggestions: bool = False
) -> ExecutionResult | None:
    """Execute a compiled document; None (before any resolver ran) hands it to graphql-core."""
    inputs = raw_variables or {}
    variables = _coerced_variables(compiled, inputs)
    if variables is None:
        coerced_or_errors = get_variable_values(
            compiled.schema,
            compiled.operation.variable_definitions or (),
            inputs,
            max_errors=50,
            hide_suggestions=hide_suggestions,
        )
        if isinstance(coerced_or_errors, list):
            return ExecutionResult(None, coerced_or_errors)
        variables = coerced_or_errors
    plan = _plan_for(compiled, variables)
    if plan is None:
        return None
    run = _Run(compiled, variables, context)
    run.serial = plan.serial
    data: Any
    try:
        if plan.serial:
            data = await _execute_serially(run, plan.root)
        else:
            data = _execute_fields(run, plan.root, None, None, None)
            if run.pending:
                await run.wait()
                run.apply_nullings()
            if run.data_nulled:
                data = None
    except GraphQLError as error:
        run.add_error(error, None)
        data = None
    except asyncio.CancelledError:
        for future in run.tracked:
            future.cancel()
        raise
    finally:
        # A task that failed keeps its traceback (asyncio holds it beside the exception), whose frames hold
        # the resolver's ``Info`` and so this run: forgetting the tasks leaves no cycle for the collector.
        run.tracked.clear()
    errors = run.errors
    return ExecutionResult(data, (list(errors.errors) or None) if errors is not None else None)


async def _execute_serially(run: _Run, plan: ObjectPlan) -> dict[str, Any] | None:
    results: dict[str, Any] = {}
    for field_plan in plan.fields:
        if field_plan.kind == _TYPENAME:
            results[field_plan.key] = plan.type_name
            continue
        results[field_plan.key] = _execute_field(run, field_plan, None, None, results, None)
        held = run.held
        if held is not None:  # as if waited for below: it was pending until now
            run.held = None
            await held[0].settle_here(held[1])
            if run.pending:
                await run.wait()
            run.apply_nullings()
        elif run.pending:
            await run.wait()
            run.apply_nullings()
        if run.data_nulled:
            return None  # a non-null root field failed: like graphql-core, the mutations after it do not run
    return results


def _execute_fields(run: _Run, plan: ObjectPlan, source: Any, path: Path | None, anchor: Anchor) -> dict[str, Any]:
    leading = plan.leading
    results = leading(source) if leading is not None else None
    if results is None:
        return _execute_each(run, plan, plan.fields, {}, source, path, anchor)
    return _execute_each(run, plan, plan.rest, results, source, path, anchor)


def _execute_each(
    run: _Run,
    plan: ObjectPlan,
    fields: list[FieldPlan],
    results: dict[str, Any],
    source: Any,
    path: Path | None,
    anchor: Anchor,
) -> dict[str, Any]:
    """``fields`` of ``plan`` completed into ``results`` one by one (the general path)."""
    for field_plan in fields:
        kind = field_plan.kind
        if kind == _BASIC and field_plan.leaf:
            # The common case, inlined: an attribute completed as a leaf.
            try:
                value = getattr(source, field_plan.attr)
                return_plan = field_plan.return_plan
                if value is None or value is Undefined:
                    if return_plan.kind == _NON_NULL:  # type: ignore[union-attr]
                        raise TypeError(
                            f"Cannot return null for non-nullable field {field_plan.parent_name}.{field_plan.name}."
                        )
                    results[field_plan.key] = None
                    continue
                if return_plan.kind == _NON_NULL:  # type: ignore[union-attr]
                    return_plan = return_plan.item  # type: ignore[union-attr]
                if type(value) is return_plan.fast:  # type: ignore[union-attr]
                    results[field_plan.key] = value
                    continue
                if _is_awaitable(value):
                    raise _NotPlain
                if isinstance(value, Exception):
                    raise value
                results[field_plan.key] = _complete_leaf(return_plan, value)  # type: ignore[arg-type]
                continue
            except _NotPlain:
                pass
            except Exception as raw:
                field_path = _new_tuple(Path, (path, field_plan.key, plan.type_name))
                run.field_error(raw, field_plan.field_def.type, field_plan.nodes, field_path)
                results[field_plan.key] = None
                continue
        if kind == _TYPENAME:
            results[field_plan.key] = plan.type_name
            continue
        results[field_plan.key] = _execute_field(run, field_plan, source, path, results, anchor)
    return results


class _NotPlain(Exception):
    pass


def _execute_field(
    run: _Run, plan: FieldPlan, source: Any, parent_path: Path | None, results: dict[str, Any], anchor: Anchor
) -> Any:
    """The field's completed value; None when it failed at a nullable position or will be completed later."""
    path = _new_tuple(Path, (parent_path, plan.key, plan.parent_name))
    return_plan = plan.return_plan
    assert return_plan is not None
    try:
        kind = plan.kind
        if kind == _BASIC:
            value = getattr(source, plan.attr)
        elif kind == _DIRECT:
            shape = plan.shape
            if shape == _SOURCE_INFO:
                info = _LazyInfo(run, plan, path) if run.lazy_info else _info_for(run, plan, path)
                value = plan.function(source, info)
            elif shape == _SOURCE:
                value = plan.function(source)
            elif shape == _INFO:
                value = plan.function(_info_for(run, plan, path))
            elif shape == _NOTHING:
                value = plan.function()
            else:
                kwargs: dict[str, Any] = {}
                for name in plan.source_names:
                    kwargs[name] = source
                if plan.info_name is not None:
                    kwargs[plan.info_name] = _info_for(run, plan, path)
                function = plan.function
                value = function(source, **kwargs) if plan.self_arg else function(**kwargs)
        elif kind == _CONVERTED:
            value = _call_converted(run, plan, source, path)
        else:
            args = _argument_values(plan, run.variables) if plan.dynamic_args else plan.args
            value = plan.resolve(source, run.info(plan, path), **args)
        if type(value) not in _SYNC_TYPES and _is_awaitable(value):
            slot = _Slot(run, results, plan.key, plan, return_plan, path, anchor)
            if parent_path is None and run.serial:
                run.held = (slot, value)  # awaited by ``_execute_serially`` in its own task
            else:
                slot.wait_for(value)
            return None
        if return_plan.kind != _NON_NULL and not plan.leaf:
            anchor = (results, plan.key, path)
        return _complete(run, plan, return_plan, value, path, anchor)
    except Exception as raw:
        run.field_error(raw, return_plan.type, plan.nodes, path)
        return None


def _call_converted(run: _Run, plan: FieldPlan, source: Any, path: Path) -> Any:
    """What Strawberry's resolver wrapper gives for a field without extensions: converted arguments, one call."""
    # graphql-core coerces the arguments before it calls the wrapper: its errors are raised now.
    raw = _argument_values(plan, run.variables) if plan.dynamic_args else plan.args
    info = _info_for(run, plan, path)
    try:
        kwargs: dict[str, Any] = {}
        converter = run.converter
        for graphql_name, python_name, argument_type in plan.arguments:
            if graphql_name in raw:
                value = raw[graphql_name]
                if type(argument_type) is _BuiltInput:
                    if value is not None and value is not UNSET:
                        context = InputContext(
                            info=info,
                            config=converter.config,  # type: ignore[union-attr]
                            scalar_registry=converter.scalar_registry,  # type: ignore[union-attr]
                            path=(graphql_name,),
                        )
                        value = argument_type.from_input(argument_type.cls, value, context)
                elif argument_type is not None:
                    value = convert_argument(
                        value,
                        argument_type,
                        converter.scalar_registry,  # type: ignore[union-attr]
                        converter.config,  # type: ignore[union-attr]
                        info,
                        path=(graphql_name,),
                    )
                kwargs[python_name] = value
        for name in plan.source_names:
            kwargs[name] = source
        if plan.info_name is not None:
            kwargs[plan.info_name] = info
        function = plan.function
        return function(source, **kwargs) if plan.self_arg else function(**kwargs)
    except Exception as error:
        if plan.is_async:
            return _raising(error)  # Strawberry's async wrapper raises it when awaited
        raise


async def _raising(error: Exception) -> Any:
    raise error


def _info_for(run: _Run, plan: FieldPlan, path: Path) -> Info:
    if run.lazy_info:
        return _LazyInfo(run, plan, path)
    return run.info_class(_raw_info=run.info(plan, path), _field=plan.strawberry_field)


def _complete(run: _Run, field_plan: FieldPlan, plan: TypePlan, value: Any, path: Path, anchor: Anchor) -> Any:
    """A value completed for ``plan`` (``anchor``: where a non-null failure further down nulls to)."""
    if isinstance(value, Exception):
        raise value
    kind = plan.kind
    if kind == _NON_NULL:
        plan = plan.item  # type: ignore[assignment]
        kind = plan.kind
        if value is None or value is Undefined:
            raise TypeError(f"Cannot return null for non-nullable field {field_plan.parent_name}.{field_plan.name}.")
    elif value is None or value is Undefined:
        return None
    if kind == _OBJECT:
        object_plan: ObjectPlan = plan.object_plan  # type: ignore[assignment]
        whole = object_plan.whole
        if whole is not None:
            completed = whole(value)
            if completed is not None:
                return completed
            return _execute_each(run, object_plan, object_plan.fields, {}, value, path, anchor)
        return _execute_fields(run, object_plan, value, path, anchor)
    if kind == _LEAF:
        if type(value) is plan.fast:
            return value
        return _complete_leaf(plan, value)
    return _complete_list(run, field_plan, plan, value, path, anchor)


def _complete_leaf(plan: TypePlan, value: Any) -> Any:
    kind = type(value)
    if kind is float:
        if plan.type is GraphQLFloat and value - value == 0.0:  # finite: what Float's coercion checks
            return value
    elif kind is int and plan.type is GraphQLInt and _MIN_INT <= value <= _MAX_INT:
        return value
    coerced = plan.type.coerce_output_value(value)  # type: ignore[union-attr]
    if coerced is Undefined or coerced is None:
        raise TypeError(
            f"Expected `{inspect(plan.type)}.coerce_output_value({inspect(value)})` to return non-nullable value,"
            f" returned: {inspect(coerced)}"
        )
    return coerced


def _complete_list(
    run: _Run, field_plan: FieldPlan, plan: TypePlan, value: Any, path: Path, anchor: Anchor
) -> list[Any]:
    if type(value) is not list and not is_iterable(value):
        raise GraphQLError(
            f"Expected Iterable, but did not find one for field '{field_plan.parent_name}.{field_plan.name}'."
        )
    item_plan = plan.item
    assert item_plan is not None
    item_type = item_plan.type
    item_nullable = item_plan.kind != _NON_NULL
    results: list[Any] = []
    fast = item_plan.fast if item_plan.kind == _LEAF else None
    object_type = item_plan.item if item_nullable is False else item_plan
    object_plan = object_type.object_plan if object_type is not None and object_type.kind == _OBJECT else None
    whole = object_plan.whole if object_plan is not None else None
    object_fields = object_plan.fields if object_plan is not None else []
    for index, item in enumerate(value):
        if fast is not None and type(item) is fast:
            results.append(item)
            continue
        if whole is not None and type(item) in _PLAIN_OBJECTS:
            # A plain object whose selection reads whole: no path or anchor is made unless something fails.
            # (Any: a leaf or list is completed into it too; compiled, app/native.py, the declared type is checked.)
            completed: Any = whole(item)
            if completed is not None:
                results.append(completed)
                continue
        item_path = _new_tuple(Path, (path, index, None))
        inner = (results, index, item_path) if item_nullable else anchor
        completed = None
        try:
            if whole is not None and type(item) in _PLAIN_OBJECTS:
                # Read whole above and refused: field by field, without reading the fields again first.
                completed = _execute_each(run, object_plan, object_fields, {}, item, item_path, inner)  # type: ignore[arg-type]
            elif object_plan is not None and type(item) in _PLAIN_OBJECTS:
                # What ``_complete`` would do for an object that is neither None, an error nor awaitable.
                completed = _execute_fields(run, object_plan, item, item_path, inner)
            elif type(item) not in _SYNC_TYPES and _is_awaitable(item):
                _Slot(run, results, index, field_plan, item_plan, item_path, anchor).wait_for(item)
            else:
                completed = _complete(run, field_plan, item_plan, item, item_path, inner)
                kind = type(item)
                if object_plan is not None and item is not None and kind in _SYNC_TYPES:
                    if not issubclass(kind, BaseException):  # and never awaitable, as _SYNC_TYPES says
                        _PLAIN_OBJECTS.add(kind)
        except Exception as raw:
            run.field_error(raw, item_type, field_plan.nodes, item_path)
        results.append(completed)
    return results
