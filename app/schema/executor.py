"""Running GraphQL documents: parse and validate once per distinct document, then execute.

Strawberry's ``Schema.execute`` runs its extension hooks on every request; here the work that depends
only on the document text (parsing with the token limit, validation with the limit rules, finding the
operation, compiling it: ``app.schema.compiled``) is done once and kept in a bounded LRU, and each request
only runs the compiled plan (or graphql-core's execution on the Strawberry-built schema, for what the
compiler leaves to it, and when ``compiled=False``). Error masking happens on the result (``safe_errors``).
With ``hide_suggestions`` (the production profile) validation and variable errors carry no suggestion
and name nothing the client did not send (``concealment``).

Compiled execution is on unless ``compiled=False`` (``GATEWAY_COMPILED_EXECUTION=false``) or the installed
libraries are outside the versions it was tested on (``app.schema.compiled_support``); either way the
answers are the same. Strawberry schema extensions and custom operation directives are refused when the
executor is built: Strawberry runs them from its own ``Schema.execute``, which neither path calls, so they
would be skipped without a word. Field extensions run on both paths (they live in the field's resolver).

Each operation is also priced when prepared (``app.schema.cost``); a request whose price is above
``Limits.max_cost`` is refused before anything runs, and an accepted one carries its price in the result's
``extensions.cost`` (Shopify's shape: ``requestedQueryCost``, ``maxQueryCost``). Expensive operations
then take turns through the cost gate (``app.schema.cost_gate``); cheap ones go straight through.

Subscriptions (``subscribe``) run on graphql-core's subscribe on the same schema, priced and refused the same
way; they do not hold the cost gate (a stream lives for minutes; what it costs upstream is bounded by the hub's
one poll per interval). An error the event stream raises (an upstream 401 after a logout, a subscriber dropped
for being slow) ends the stream with one last result carrying it, as safe as any other error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from contextlib import aclosing
from dataclasses import dataclass
from functools import lru_cache, partial
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, cast

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    execute,
    get_operation_ast,
    located_error,
    parse,
    specified_rules,
    validate,
)
from graphql import Executor as GraphQLExecutor
from graphql.execution import create_source_event_stream, map_source_to_response_event
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from app.live import SharedResults
from app.schema.compiled_support import compiled_execution_refusal
from app.schema.concealment import conceal, names_in, names_in_variables
from app.schema.cost import OperationCost
from app.schema.cost_gate import CostGate
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.limits import Limits, limit_rules, too_complex
from app.schema.safe_errors import safe_errors
from app.schema.schema import GatewaySchema
from app.schema.self_service import key_holder_refusal

if TYPE_CHECKING:
    from app.schema.compiled import CompiledDocument

__all__ = ["Executor", "PreparedDocument", "SchemaExtensionsNotRun", "refuse_schema_extensions"]

log = logging.getLogger("app.schema")


class SchemaExtensionsNotRun(ValueError):
    """The schema carries Strawberry extensions or operation directives, which the executor would not run."""


def refuse_schema_extensions(schema: GatewaySchema) -> None:
    """Raise ``SchemaExtensionsNotRun`` naming what the schema carries that no execution path would run."""
    extensions = [getattr(e, "__name__", type(e).__name__) for e in schema.extensions]
    directives = [f"@{d.graphql_name or d.python_name}" for d in schema.directives]
    if not extensions and not directives:
        return
    carried = ", ".join([*(f"extension {name}" for name in extensions), *(f"directive {d}" for d in directives)])
    raise SchemaExtensionsNotRun(
        f"the schema carries {carried}: the gateway prepares and executes documents itself (compiled or on "
        "graphql-core's executor) and would never run them. Remove them from the schema: limits, error masking "
        "and tracing are the gateway's own (app.schema.limits, app.schema.safe_errors, app.tracing), and a "
        "field extension (strawberry.field(extensions=...)) runs on both paths."
    )


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A parsed and validated document, or the errors that stop it."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operation_type: str | None
    operation_name: str | None
    compiled: CompiledDocument | None = None
    cost: OperationCost | None = None


class Executor:
    """Prepares documents (cached) and executes them.

    Example:
        >>> # prepared = executor.prepare("{ team(id: \\"x\\") { id } }", None)
        >>> # result = await executor.execute(prepared, variables=None, context=ctx, operation_name=None)
    """

    def __init__(
        self,
        schema: GatewaySchema,
        limits: Limits,
        *,
        hide_suggestions: bool,
        cache_size: int = 512,
        compiled: bool = True,
        gate: CostGate | None = None,
    ):
        refuse_schema_extensions(schema)
        self.schema = schema
        self.limits = limits
        self.hide_suggestions = hide_suggestions
        self._rules = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule, *limit_rules(limits))
        self._graphql_schema = schema._schema
        if compiled and (refusal := compiled_execution_refusal()) is not None:
            log.warning("%s: every document runs on graphql-core's executor", refusal)
            compiled = False
        self.compiled = compiled
        """True when documents run compiled (``app.schema.compiled``), False when on graphql-core's executor."""
        if compiled:
            from app.schema import compiled as plans  # imported only once its private names are known good

            self._compile = plans.compile_document
            self._execute_compiled = plans.execute_compiled
        self.gate = gate
        self.prepare = lru_cache(maxsize=cache_size)(self._prepare)
        self._events: SharedResults[Any] = SharedResults()  # subscription events' results, shared by subscribers

    def _prepare(self, query: str, operation_name: str | None) -> PreparedDocument:
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as syntax_error:
            return PreparedDocument(None, (syntax_error,), None, None)
        errors = validate(self._graphql_schema, document, self._rules, hide_suggestions=self.hide_suggestions)
        if errors:
            if self.hide_suggestions:
                errors = conceal(errors, names_in(query))
            return PreparedDocument(None, tuple(errors), None, None)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f"Unknown operation named '{operation_name}'."
                if operation_name
                else "Must provide operation name if query contains multiple operations."
            )
            return PreparedDocument(None, (GraphQLError(message),), None, None)
        compiled = None
        if self.compiled:
            compiled = self._compile(self._graphql_schema, document, operation, self.schema.config.info_class)
        return PreparedDocument(
            document,
            (),
            operation.operation.value,
            operation.name.value if operation.name else None,
            compiled,
            OperationCost.of(self._graphql_schema, document, operation),
        )

    async def execute(
        self, prepared: PreparedDocument, *, variables: dict[str, Any] | None, context: Any, operation_name: str | None
    ) -> ExecutionResult:
        """Execute a valid prepared document; errors in the result are already safe for clients.

        An operation priced above the cost limit is not run: the result is a request error carrying the
        price, and nothing goes upstream. Nor is anything but ``myVirtualKey`` run for the holder of a
        virtual key (``FORBIDDEN``).
        """
        assert prepared.document is not None
        caller = getattr(context, "caller", None)
        if caller is not None and caller.is_key_holder:
            # The web edge refuses these first; whatever transport runs a document, a key holder gets no further.
            refusal = key_holder_refusal(prepared.document, operation_name)
            if refusal is not None:
                return ExecutionResult(None, [GatewayError(refusal, GatewayErrorCode.FORBIDDEN)])
        cost = prepared.cost.for_variables(variables) if prepared.cost is not None else 0
        max_cost = self.limits.max_cost
        priced = {"cost": {"requestedQueryCost": cost, "maxQueryCost": max_cost}}
        if cost > max_cost:
            return ExecutionResult(None, [too_complex(cost, max_cost)], priced)
        gate = self.gate
        if gate is None or cost <= gate.queue_above:
            # Cheap operations go straight through (as ``admit`` lets them), without its context manager, and
            # without a coroutine of ``_run``'s around the execution.
            result: ExecutionResult | None = None
            if prepared.compiled is not None:
                result = await self._execute_compiled(prepared.compiled, variables, context, self.hide_suggestions)
            if result is None:
                result = await self._execute_on_graphql_core(prepared, variables, context, operation_name)
        else:
            async with gate.admit(cost):
                result = await self._run(prepared, variables, context, operation_name)
        if result.errors and self.hide_suggestions and any(error.path is None for error in result.errors):
            result.errors = self._concealed(prepared, variables, result.errors)
        if result.errors:
            result.errors = safe_errors(result.errors, getattr(context, "request_id", None))
        result.extensions = priced
        return result

    async def subscribe(
        self, prepared: PreparedDocument, *, variables: dict[str, Any] | None, context: Any, operation_name: str | None
    ) -> AsyncGenerator[ExecutionResult, None] | ExecutionResult:
        """Start a valid prepared subscription: its stream of results, or one result with the errors that stop it.

        The stream must be closed by the caller (``aclose``) when it stops reading.
        """
        assert prepared.document is not None and prepared.operation_type == "subscription"
        caller = getattr(context, "caller", None)
        if caller is not None and caller.is_key_holder:
            refusal = key_holder_refusal(prepared.document, operation_name)
            if refusal is not None:  # always, today: a key holder may run queries of myVirtualKey only
                return ExecutionResult(None, [GatewayError(refusal, GatewayErrorCode.FORBIDDEN)])
        cost = prepared.cost.for_variables(variables) if prepared.cost is not None else 0
        max_cost = self.limits.max_cost
        if cost > max_cost:
            return ExecutionResult(None, [too_complex(cost, max_cost)])
        executor_class = self.schema.execution_context_class or ExecutorThrowingOnIncremental
        built = executor_class.build(
            self._graphql_schema,
            prepared.document,
            None,
            context,
            variables,
            operation_name,
            hide_suggestions=self.hide_suggestions,
        )
        if isinstance(built, list):  # variables that do not fit the operation
            return self._safe(prepared, variables, context, ExecutionResult(None, built))
        events = create_source_event_stream(built)
        if isawaitable(events):
            events = await events
        if isinstance(events, ExecutionResult):
            return self._safe(prepared, variables, context, events)
        variables_key = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""

        def run_event(event: GraphQLExecutor) -> Any:
            # Every subscriber of a watched set gets the same event objects, and a push's result depends on the
            # event and the document alone (subscription types read nothing from the context): run it once. Its
            # errors are made safe for each subscriber, so each one's log lines carry its own request id.
            payload = event.root_value
            shared = self._events.get((prepared, payload), (variables_key,), partial(self._run_event, event))
            if isinstance(shared, asyncio.Future):
                return self._safe_later(prepared, variables, context, shared)
            return self._safe_copy(prepared, variables, context, shared)

        return self._safe_stream(prepared, variables, context, map_source_to_response_event(built, events, run_event))

    def _run_event(self, event: GraphQLExecutor) -> ExecutionResult | asyncio.Future[ExecutionResult]:
        """One push's result as every subscriber of it may share it (a future when awaited: any of them may)."""
        result = event.execute_operation(False)  # False: no incremental delivery in a subscription event
        if isawaitable(result):
            return asyncio.ensure_future(cast(Awaitable[ExecutionResult], result))
        return cast(ExecutionResult, result)

    async def _safe_later(
        self, prepared: PreparedDocument, variables: dict[str, Any] | None, context: Any, result: Awaitable[Any]
    ) -> ExecutionResult:
        return self._safe_copy(prepared, variables, context, await result)

    def _safe_copy(
        self, prepared: PreparedDocument, variables: dict[str, Any] | None, context: Any, shared: ExecutionResult
    ) -> ExecutionResult:
        """``shared`` made safe for one subscriber: the same object without errors, else a copy of its own."""
        if not shared.errors:
            return shared
        own = ExecutionResult(shared.data, list(shared.errors), shared.extensions)
        return self._safe(prepared, variables, context, own)

    async def _safe_stream(
        self,
        prepared: PreparedDocument,
        variables: dict[str, Any] | None,
        context: Any,
        results: AsyncIterator[ExecutionResult],
    ) -> AsyncGenerator[ExecutionResult, None]:
        async with aclosing(results) as stream:  # type: ignore[type-var]
            try:
                async for result in stream:
                    yield result  # made safe once, when it was run
            except Exception as error:  # the event stream's own error: the stream ends with it
                field = _root_field(prepared)
                path: list[str | int] | None = [(field.alias or field.name).value] if field else None
                located = located_error(error, [field] if field else None, path)
                yield self._safe(prepared, variables, context, ExecutionResult(None, [located]))

    def _safe(
        self, prepared: PreparedDocument, variables: dict[str, Any] | None, context: Any, result: ExecutionResult
    ) -> ExecutionResult:
        if result.errors and self.hide_suggestions and any(error.path is None for error in result.errors):
            result.errors = self._concealed(prepared, variables, result.errors)
        if result.errors:
            result.errors = safe_errors(result.errors, getattr(context, "request_id", None))
        return result

    async def _run(
        self, prepared: PreparedDocument, variables: dict[str, Any] | None, context: Any, operation_name: str | None
    ) -> ExecutionResult:
        result: ExecutionResult | None = None
        if prepared.compiled is not None:
            result = await self._execute_compiled(prepared.compiled, variables, context, self.hide_suggestions)
        if result is None:
            result = await self._execute_on_graphql_core(prepared, variables, context, operation_name)
        return result

    @staticmethod
    def _concealed(
        prepared: PreparedDocument, variables: dict[str, Any] | None, errors: list[GraphQLError]
    ) -> list[GraphQLError]:
        # Variables that do not fit the operation: their errors may name input types the client never wrote.
        assert prepared.document is not None and prepared.document.loc is not None
        sent = names_in(prepared.document.loc.source.body) | names_in_variables(variables)
        return [conceal([error], sent)[0] if error.path is None else error for error in errors]

    async def _execute_on_graphql_core(
        self, prepared: PreparedDocument, variables: dict[str, Any] | None, context: Any, operation_name: str | None
    ) -> ExecutionResult:
        assert prepared.document is not None
        result = execute(
            self._graphql_schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            executor_class=self.schema.execution_context_class,
            operation_extensions=None,
            hide_suggestions=self.hide_suggestions,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        return result


def _root_field(prepared: PreparedDocument) -> FieldNode | None:
    """The single root field of a subscription (validation allows one)."""
    assert prepared.document is not None
    operation = get_operation_ast(prepared.document, prepared.operation_name)
    if operation is None:
        return None
    selection = operation.selection_set.selections[0]
    return selection if isinstance(selection, FieldNode) else None
