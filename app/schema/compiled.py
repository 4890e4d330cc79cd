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
- everything else: the graphql-core resolver Strawberry built, called with a full resolve info.

Completion follows the GraphQL spec as graphql-core implements it (non-null checks and null propagation to
the nearest nullable position, list items, leaf coercion, errors located with their paths and filtered under
nulled positions by graphql-core's own ``CollectedErrors``). Values that must be awaited (loader futures,
async resolvers) are settled with callbacks instead of a coroutine per object, so every load of one level is
asked for before anything waits, and batches stay whole.

Operations this does not compile run on graphql-core unchanged: subscriptions, introspection (``__schema``,
``__type``), abstract return types, ``@defer``/``@stream``, fragment variables and unknown directives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
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
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    located_error,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_fields, collect_subfields
from graphql.execution.executor import CollectedErrors
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.language import Visitor, visit
from graphql.pyutils import Path, inspect, is_iterable
from graphql.type import GraphQLBoolean, GraphQLFloat, GraphQLID, GraphQLInt, GraphQLString
from graphql.type.scalars import GRAPHQL_MAX_INT as _MAX_INT
from graphql.type.scalars import GRAPHQL_MIN_INT as _MIN_INT
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo as ResolveInfo
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info

__all__ = ["CompiledDocument", "Unsupported", "compile_document", "execute_compiled"]

_BASIC, _DIRECT, _GENERIC, _TYPENAME = range(4)
_NON_NULL, _LIST, _LEAF, _OBJECT = range(4)
_SYNC_TYPES: set[type] = {str, int, float, bool, type(None), list, dict, tuple}


def _is_awaitable(value: Any) -> bool:
    """graphql-core's awaitable test, remembered per type for types that can never be awaited."""
    kind = type(value)
    if kind in _SYNC_TYPES:
        return False
    if optimized_is_awaitable(value):
        return True
    if not hasattr(kind, "__await__") and not issubclass(kind, GeneratorType):
        _SYNC_TYPES.add(kind)  # ``await`` looks ``__await__`` up on the type: no instance of it is awaitable
    return False


_SKIP_INCLUDE = frozenset({"skip", "include"})
_MAX_PLANS_PER_DOCUMENT = 16


class Unsupported(Exception):
    """The operation uses something the compiler leaves to graphql-core."""


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------


class TypePlan:
    """How to complete a value of one output type."""

    __slots__ = ("fast", "item", "kind", "object_plan", "type", "unguarded")

    def __init__(self, kind: int, type_: GraphQLOutputType) -> None:
        self.kind = kind
        self.type = type_
        # A non-null object or list: its deferred completion never settles as null, and its errors are
        # already located, so at this position they only pass on to the parent: no guard is needed.
        self.unguarded = False
        self.item: TypePlan | None = None  # non-null's inner type, list's item type
        self.object_plan: ObjectPlan | None = None
        self.fast: type | None = None  # a leaf whose values of this Python type pass unchanged


class FieldPlan:
    """One response key of a selection set."""

    __slots__ = (
        "args",
        "attr",
        "dynamic_args",
        "field_def",
        "function",
        "info_name",
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
        "source_names",
        "strawberry_field",
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
        self.resolve: Callable[..., Any] | None = None
        self.args: dict[str, Any] = {}
        self.dynamic_args = False
        self.return_plan: TypePlan | None = None
        self.strawberry_field: StrawberryField | None = None
        self.function: Callable[..., Any] = _uncallable
        self.info_name: str | None = None
        self.source_names: tuple[str, ...] = ()
        self.self_arg = False
        self.leaf = False


def _uncallable(*_args: Any, **_kwargs: Any) -> Any:
    raise TypeError("not a direct field")


class ObjectPlan:
    """The fields of one object type's selection set, in response order."""

    __slots__ = ("fields", "type_name")

    def __init__(self, type_name: str, fields: list[FieldPlan]) -> None:
        self.type_name = type_name
        self.fields = fields


@dataclass(slots=True)
class OperationPlan:
    """A compiled operation for one combination of ``@skip``/``@include`` variable values."""

    root: ObjectPlan
    root_type: GraphQLObjectType
    serial: bool


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
        schema, document, operation, fragment_definitions, fragments, tuple(scan.variables), info_class
    )


def _plan_for(compiled: CompiledDocument, variables: VariableValues) -> OperationPlan | None:
    coerced = variables.coerced
    key = tuple(coerced.get(name) for name in compiled.directive_variables)
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
        _choose_resolution(plan, field_def, variables)
        plan.return_plan = _compile_type(compiled, variables, field_def.type, details)
        plan.leaf = _is_leaf_plan(plan.return_plan)
        fields.append(plan)
    return ObjectPlan(parent_type.name, fields)


def _is_leaf_plan(plan: TypePlan) -> bool:
    while plan.kind == _NON_NULL:
        assert plan.item is not None
        plan = plan.item
    return plan.kind == _LEAF


def _choose_resolution(plan: FieldPlan, field_def: Any, variables: VariableValues) -> None:
    node = plan.node
    if field_def.args or node.arguments:
        if any(_has_variable(argument.value) for argument in node.arguments or ()):
            plan.dynamic_args = True
        else:
            try:
                plan.args = get_argument_values(field_def, node, variables)
            except GraphQLError:
                plan.dynamic_args = True  # raise it where graphql-core would: when the field runs
    resolve = field_def.resolve
    strawberry_field = field_def.extensions.get("strawberry-definition") if field_def.extensions else None
    plan.resolve = resolve
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
        plan.unguarded = plan.item.kind in (_OBJECT, _LIST)
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


class _Deferred:
    """A value not known yet. Callbacks run synchronously when it settles (exactly once)."""

    __slots__ = ("callbacks", "error", "settled", "value")

    def __init__(self) -> None:
        self.settled = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.callbacks: list[Callable[[_Deferred], None]] | None = []

    def resolve(self, value: Any) -> None:
        if self.settled:
            return
        self.settled = True
        self.value = value
        self._run()

    def reject(self, error: BaseException) -> None:
        if self.settled:
            return
        self.settled = True
        self.error = error
        self._run()

    def then(self, callback: Callable[[_Deferred], None]) -> None:
        if self.settled:
            callback(self)
        else:
            assert self.callbacks is not None
            self.callbacks.append(callback)

    def _run(self) -> None:
        callbacks, self.callbacks = self.callbacks, None
        for callback in callbacks or ():
            callback(self)


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


class _Run:
    """The state of one execution."""

    __slots__ = (
        "context",
        "errors",
        "fragment_definitions",
        "info_class",
        "operation",
        "schema",
        "tracked",
        "variables",
    )

    def __init__(self, compiled: CompiledDocument, variables: VariableValues, context: Any) -> None:
        self.schema = compiled.schema
        self.operation = compiled.operation
        self.fragment_definitions = compiled.fragment_definitions
        self.info_class = compiled.info_class
        self.variables = variables
        self.context = context
        self.errors = CollectedErrors()
        self.tracked: list[asyncio.Future[Any]] = []

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

    def adopt(self, awaitable: Any) -> _Deferred:
        """A deferred settled by an awaitable a resolver returned (which starts now if it is a coroutine)."""
        future = asyncio.ensure_future(awaitable)
        self.tracked.append(future)
        deferred = _Deferred()

        def settle(done: asyncio.Future[Any]) -> None:
            if done.cancelled():
                deferred.reject(asyncio.CancelledError())
                return
            error = done.exception()
            if error is not None:
                deferred.reject(error)
            else:
                deferred.resolve(done.result())

        future.add_done_callback(settle)
        return deferred

    def field_error(
        self, raw: BaseException, return_type: GraphQLOutputType, nodes: list[FieldNode], path: Path
    ) -> None:
        """graphql-core's ``handle_field_error``: raise for non-null types, else record (the value is null)."""
        if not isinstance(raw, Exception):
            raise raw
        error = located_error(raw, nodes, path.as_list())
        if is_non_null_type(return_type):
            raise error
        self.errors.add(error, path)


async def execute_compiled(
    compiled: CompiledDocument, raw_variables: dict[str, Any] | None, context: Any
) -> ExecutionResult | None:
    """Execute a compiled document; None (before any resolver ran) hands it to graphql-core."""
    variables = get_variable_values(
        compiled.schema, compiled.operation.variable_definitions or (), raw_variables or {}, max_errors=50
    )
    if isinstance(variables, list):
        return ExecutionResult(None, variables)
    plan = _plan_for(compiled, variables)
    if plan is None:
        return None
    run = _Run(compiled, variables, context)
    data: Any
    try:
        if plan.serial:
            data = await _execute_serially(run, plan.root)
        else:
            data = _execute_fields(run, plan.root, None, None)
            if type(data) is _Deferred:
                data = await _wait(data)
    except GraphQLError as error:
        run.errors.add(error, None)
        data = None
    except asyncio.CancelledError:
        for future in run.tracked:
            future.cancel()
        raise
    return ExecutionResult(data, list(run.errors.errors) or None)


async def _wait(deferred: _Deferred) -> Any:
    future = asyncio.get_running_loop().create_future()

    def settle(done: _Deferred) -> None:
        if future.done():
            return
        if done.error is not None:
            future.set_exception(done.error)
        else:
            future.set_result(done.value)

    deferred.then(settle)
    return await future


async def _execute_serially(run: _Run, plan: ObjectPlan) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for field_plan in plan.fields:
        if field_plan.kind == _TYPENAME:
            results[field_plan.key] = plan.type_name
            continue
        value = _execute_field(run, field_plan, None, None)
        if type(value) is _Deferred:
            value = await _wait(value)
        results[field_plan.key] = value
    return results


def _execute_fields(run: _Run, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
    results: dict[str, Any] = {}
    pending: list[str] | None = None
    for field_plan in plan.fields:
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
                field_path = Path(path, field_plan.key, plan.type_name)
                run.field_error(raw, field_plan.field_def.type, field_plan.nodes, field_path)
                results[field_plan.key] = None
                continue
        if kind == _TYPENAME:
            results[field_plan.key] = plan.type_name
            continue
        value = _execute_field(run, field_plan, source, path)
        results[field_plan.key] = value
        if type(value) is _Deferred:
            if pending is None:
                pending = []
            pending.append(field_plan.key)
    if pending is None:
        return results
    return _gather_dict(results, pending)


class _NotPlain(Exception):
    pass


def _execute_field(run: _Run, plan: FieldPlan, source: Any, parent_path: Path | None) -> Any:
    path = Path(parent_path, plan.key, plan.parent_name)
    return_type = plan.field_def.type
    try:
        kind = plan.kind
        if kind == _BASIC:
            value = getattr(source, plan.attr)
        elif kind == _DIRECT:
            kwargs: dict[str, Any] = {}
            for name in plan.source_names:
                kwargs[name] = source
            if plan.info_name is not None:
                kwargs[plan.info_name] = (
                    _LazyInfo(run, plan, path)
                    if run.info_class is Info
                    else run.info_class(_raw_info=run.info(plan, path), _field=plan.strawberry_field)
                )
            function = plan.function
            value = function(source, **kwargs) if plan.self_arg else function(**kwargs)
        else:
            args = get_argument_values(plan.field_def, plan.node, run.variables) if plan.dynamic_args else plan.args
            resolve = plan.resolve
            if resolve is None:
                from graphql.execution.executor import default_field_resolver

                resolve = default_field_resolver
            value = resolve(source, run.info(plan, path), **args)
        if _is_awaitable(value):
            return _complete_later(run, plan, run.adopt(value), path)
        return_plan = plan.return_plan
        completed = _complete(run, plan, return_plan, value, path)  # type: ignore[arg-type]
        if type(completed) is _Deferred and not return_plan.unguarded:  # type: ignore[union-attr]
            return _guard(run, completed, return_type, plan, path)
        return completed
    except Exception as raw:
        run.field_error(raw, return_type, plan.nodes, path)
        return None


def _complete_later(run: _Run, plan: FieldPlan, value: _Deferred, path: Path) -> _Deferred:
    """Complete a field's value once it is known; field errors are handled like the synchronous path."""
    out = _Deferred()
    return_type = plan.field_def.type

    def settle(done: _Deferred) -> None:
        try:
            if done.error is not None:
                raise done.error
            completed = _complete(run, plan, plan.return_plan, done.value, path)  # type: ignore[arg-type]
        except Exception as raw:
            _settle_error(run, out, raw, return_type, plan.nodes, path)
            return
        except BaseException as raw:
            out.reject(raw)
            return
        if type(completed) is _Deferred:
            _guard(run, completed, return_type, plan, path, out)
        else:
            out.resolve(completed)

    value.then(settle)
    return out


def _settle_error(
    run: _Run, out: _Deferred, raw: Exception, return_type: GraphQLOutputType, nodes: list[FieldNode], path: Path
) -> None:
    try:
        run.field_error(raw, return_type, nodes, path)
    except Exception as error:
        out.reject(error)
        return
    out.resolve(None)


def _guard(
    run: _Run,
    completed: _Deferred,
    return_type: GraphQLOutputType,
    field_plan: FieldPlan,
    path: Path,
    out: _Deferred | None = None,
) -> _Deferred:
    """Settle ``out`` with a deferred completion, handling its errors at this position like graphql-core.

    A non-null position whose value settles as null is a field error here (raised to the parent), and any
    field error at a nullable position becomes null with the error recorded.
    """
    if out is None:
        out = _Deferred()
    target = out

    def settle(done: _Deferred) -> None:
        error = done.error
        if error is None:
            if done.value is not None or not is_non_null_type(return_type):
                target.resolve(done.value)
                return
            error = TypeError(f"Cannot return null for non-nullable field {field_plan.parent_name}.{field_plan.name}.")
        if isinstance(error, Exception):
            _settle_error(run, target, error, return_type, field_plan.nodes, path)
        else:
            target.reject(error)

    completed.then(settle)
    return out


def _complete(run: _Run, field_plan: FieldPlan, plan: TypePlan, value: Any, path: Path) -> Any:
    if isinstance(value, Exception):
        raise value
    kind = plan.kind
    if kind == _NON_NULL:
        plan = plan.item  # type: ignore[assignment]
        kind = plan.kind
        if value is None or value is Undefined:
            raise TypeError(f"Cannot return null for non-nullable field {field_plan.parent_name}.{field_plan.name}.")
        # Completing a non-null value gives a value or raises (a deferred one is checked when it settles).
    elif value is None or value is Undefined:
        return None
    if kind == _OBJECT:
        return _execute_fields(run, plan.object_plan, value, path)  # type: ignore[arg-type]
    if kind == _LEAF:
        if type(value) is plan.fast:
            return value
        return _complete_leaf(plan, value)
    return _complete_list(run, field_plan, plan, value, path)


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


def _complete_list(run: _Run, field_plan: FieldPlan, plan: TypePlan, value: Any, path: Path) -> Any:
    if type(value) is not list and not is_iterable(value):
        raise GraphQLError(
            f"Expected Iterable, but did not find one for field '{field_plan.parent_name}.{field_plan.name}'."
        )
    item_plan = plan.item
    assert item_plan is not None
    item_type = item_plan.type
    results: list[Any] = []
    pending: list[int] | None = None
    fast = item_plan.fast if item_plan.kind == _LEAF else None
    for index, item in enumerate(value):
        if fast is not None and type(item) is fast:
            results.append(item)
            continue
        item_path = Path(path, index, None)
        try:
            if _is_awaitable(item):
                completed: Any = _complete_item_later(run, field_plan, item_plan, run.adopt(item), item_path)
            else:
                completed = _complete(run, field_plan, item_plan, item, item_path)
                if type(completed) is _Deferred and not item_plan.unguarded:
                    completed = _guard(run, completed, item_type, field_plan, item_path)
        except Exception as raw:
            run.field_error(raw, item_type, field_plan.nodes, item_path)
            completed = None
        results.append(completed)
        if type(completed) is _Deferred:
            if pending is None:
                pending = []
            pending.append(index)
    if pending is None:
        return results
    return _gather_list(results, pending)


def _complete_item_later(run: _Run, field_plan: FieldPlan, plan: TypePlan, value: _Deferred, path: Path) -> _Deferred:
    out = _Deferred()

    def settle(done: _Deferred) -> None:
        try:
            if done.error is not None:
                raise done.error
            completed = _complete(run, field_plan, plan, done.value, path)
        except Exception as raw:
            _settle_error(run, out, raw, plan.type, field_plan.nodes, path)
            return
        except BaseException as raw:
            out.reject(raw)
            return
        if type(completed) is _Deferred:
            _guard(run, completed, plan.type, field_plan, path, out)
        else:
            out.resolve(completed)

    value.then(settle)
    return out


def _gather_dict(results: dict[str, Any], pending: list[str]) -> _Deferred:
    out = _Deferred()
    remaining = len(pending)

    def make(key: str) -> Callable[[_Deferred], None]:
        def settle(done: _Deferred) -> None:
            nonlocal remaining
            if out.settled:
                return
            if done.error is not None:
                out.reject(done.error)
                return
            results[key] = done.value
            remaining -= 1
            if remaining == 0:
                out.resolve(results)

        return settle

    for key in pending:
        results[key].then(make(key))
    return out


def _gather_list(results: list[Any], pending: list[int]) -> _Deferred:
    out = _Deferred()
    remaining = len(pending)

    def make(index: int) -> Callable[[_Deferred], None]:
        def settle(done: _Deferred) -> None:
            nonlocal remaining
            if out.settled:
                return
            if done.error is not None:
                out.reject(done.error)
                return
            results[index] = done.value
            remaining -= 1
            if remaining == 0:
                out.resolve(results)

        return settle

    for index in pending:
        results[index].then(make(index))
    return out
