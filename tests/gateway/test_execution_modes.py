"""Compiled execution can be turned off, turns itself off outside the tested library versions, and never
skips a Strawberry extension without a word.

``GATEWAY_COMPILED_EXECUTION=false`` runs every document on graphql-core's executor (CI runs the gateway tests
in that mode too); the library ranges in ``pyproject.toml`` are the ones ``app.schema.compiled_support`` checks
at start; schema extensions and operation directives, which neither path would run, stop the executor from
being built; field extensions (permissions included) run on both paths.
"""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import strawberry
from strawberry.directive import DirectiveLocation
from strawberry.extensions import FieldExtension, MaskErrors, QueryDepthLimiter
from strawberry.permission import BasePermission
from strawberry.schema_directive import Location

from app.schema import compiled_support
from app.schema.compiled_support import TESTED_RANGES, compiled_execution_refusal
from app.schema.executor import Executor, SchemaExtensionsNotRun
from app.schema.limits import Limits
from app.schema.schema import GatewaySchema
from app.settings import SettingsError, load_settings
from tests.gateway.arrange import upstream_post
from tests.gateway.conftest import Gateway, make_gateway

ROOT = Path(__file__).resolve().parents[2]
TEAMS = "{ teams(first: 3) { totalCount nodes { name customer { name } __typename } } }"


async def gateway_with_teams(**settings: Any) -> Gateway:
    gw = await make_gateway("v2", **settings)
    for name in ("alpha", "beta"):
        await upstream_post(gw, "teams", {"name": name})
    return gw


def declared_ranges() -> dict[str, str]:
    """Distribution name -> version range, as ``pyproject.toml`` declares the project's dependencies."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ranges = {}
    for requirement in dependencies:
        name, spec = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*([^;]*)", requirement.split(";")[0]).groups()
        ranges[name.lower()] = spec.replace(" ", "")
    return ranges


# The ranges -------------------------------------------------------------------------------------


def test_pyproject_declares_the_ranges_compiled_execution_checks() -> None:
    declared = declared_ranges()
    for name, tested in TESTED_RANGES.items():
        assert declared.get(name) == tested, name
        assert "<" in tested, f"{name} needs an upper bound below the first version not tested"


def test_the_installed_libraries_are_inside_the_tested_ranges() -> None:
    assert compiled_execution_refusal() is None


@pytest.mark.parametrize(
    ("versions", "named"),
    [
        ({"strawberry-graphql": "0.342.0", "graphql-core": "3.3.2"}, "strawberry-graphql 0.342.0"),
        ({"strawberry-graphql": "0.341.1", "graphql-core": "3.3.2"}, "strawberry-graphql 0.341.1"),
        ({"strawberry-graphql": "0.341.2", "graphql-core": "3.4.0"}, "graphql-core 3.4.0"),
        ({"strawberry-graphql": "0.341.2", "graphql-core": "3.2.14"}, "graphql-core 3.2.14"),
        ({"strawberry-graphql": "0.341.2", "graphql-core": "4.0.0a1"}, "graphql-core 4.0.0a1"),
        ({"strawberry-graphql": "0.341.2"}, "graphql-core (not installed)"),
        ({"strawberry-graphql": "not a version", "graphql-core": "3.3.2"}, "strawberry-graphql not a version"),
    ],
)
def test_versions_outside_the_tested_ranges_are_refused_by_name(versions: dict[str, str], named: str) -> None:
    refusal = compiled_execution_refusal(versions)
    assert refusal is not None and refusal.startswith(named)
    assert "outside the range compiled execution was tested on" in refusal


def test_versions_inside_the_ranges_are_accepted() -> None:
    for versions in (
        {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"},
        {"strawberry-graphql": "0.341.9", "graphql-core": "3.3.17"},
    ):
        assert compiled_execution_refusal(versions) is None


def test_missing_private_names_refuse_compiled_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build inside the range whose private names moved: refused, with the import's own reason."""

    def gone(name: str) -> Any:
        raise ImportError("cannot import name '_OperationContextAwareGraphQLResolveInfo'", name=name)

    monkeypatch.setattr(compiled_support, "import_module", gone)
    refusal = compiled_execution_refusal({"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"})
    assert refusal is not None and "_OperationContextAwareGraphQLResolveInfo" in refusal


# The switch -------------------------------------------------------------------------------------


def test_compiled_execution_is_on_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_COMPILED_EXECUTION", raising=False)
    assert load_settings().gateway_compiled_execution is True
    for value, expected in (("false", False), ("0", False), ("off", False), ("TRUE", True), ("1", True)):
        monkeypatch.setenv("GATEWAY_COMPILED_EXECUTION", value)
        assert load_settings().gateway_compiled_execution is expected


@pytest.mark.parametrize("value", ["maybe", "", "2", "falsey"])
def test_a_bad_execution_switch_names_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("GATEWAY_COMPILED_EXECUTION", value)
    with pytest.raises(SettingsError, match="GATEWAY_COMPILED_EXECUTION"):
        load_settings()


async def test_the_switch_chooses_the_execution_path_and_the_answer_is_the_same() -> None:
    answers = []
    for mode in (True, False):
        gw = await gateway_with_teams(gateway_compiled_execution=mode)
        executor: Executor = gw.app.state.executor
        assert executor.compiled is mode
        answers.append(await gw.graphql(TEAMS))
        # The prepared document carries a compiled plan only when compiled execution is on.
        assert (executor.prepare(TEAMS, None).compiled is not None) is mode
        await gw.http.aclose()
    assert answers[0] == answers[1]
    assert "errors" not in answers[0] and answers[0]["data"]["teams"]["nodes"]


async def test_libraries_outside_the_range_run_on_graphql_core_and_say_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reason = "strawberry-graphql 0.399.0 is outside the range compiled execution was tested on (>=0.341.2,<0.342)"
    monkeypatch.setattr("app.schema.executor.compiled_execution_refusal", lambda: reason)
    with caplog.at_level(logging.WARNING, logger="app.schema"):
        gw = await gateway_with_teams(gateway_compiled_execution=True)
    try:
        assert gw.app.state.executor.compiled is False
        assert [r.getMessage() for r in caplog.records] == [f"{reason}: every document runs on graphql-core's executor"]
        body = await gw.graphql(TEAMS)
        assert "errors" not in body and body["data"]["teams"]["nodes"]
        assert gw.app.state.executor.prepare(TEAMS, None).compiled is None
    finally:
        await gw.http.aclose()


# Strawberry extensions ----------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field
    def greeting(self) -> str:
        return "hello"


@strawberry.schema_directive(locations=[Location.OBJECT])
class Marked:
    reason: str


@strawberry.type(directives=[Marked(reason="x")])
class Annotated:
    greeting: str = "hello"


@strawberry.type
class AnnotatedQuery:
    @strawberry.field
    def annotated(self) -> Annotated:
        return Annotated()


@strawberry.directive(locations=[DirectiveLocation.FIELD])
def shout(value: str) -> str:
    return value.upper()


@pytest.mark.parametrize(
    ("extensions", "named"),
    [
        ([MaskErrors], "extension MaskErrors"),
        ([MaskErrors, QueryDepthLimiter], "extension MaskErrors, extension QueryDepthLimiter"),
    ],
)
def test_schema_extensions_are_refused_when_the_executor_is_built(extensions: list[Any], named: str) -> None:
    schema = GatewaySchema(query=Query, extensions=extensions)
    for compiled in (True, False):
        with pytest.raises(SchemaExtensionsNotRun) as refused:
            Executor(schema, Limits(), hide_suggestions=False, compiled=compiled)
        assert named in str(refused.value)
        assert "would never run them" in str(refused.value)


def test_operation_directives_are_refused_when_the_executor_is_built() -> None:
    schema = GatewaySchema(query=Query, directives=[shout])
    with pytest.raises(SchemaExtensionsNotRun, match="directive @shout"):
        Executor(schema, Limits(), hide_suggestions=False)


def test_schema_directives_in_the_sdl_are_not_refused() -> None:
    """Schema directives only annotate the SDL (federation uses them): nothing is skipped at run time."""
    Executor(GatewaySchema(query=AnnotatedQuery), Limits(), hide_suggestions=False)


class Exclaim(FieldExtension):
    """Appends "!" to the field's value (the compiled path must run it, as graphql-core's does)."""

    calls = 0

    def resolve(self, next_: Any, source: Any, info: Any, **kwargs: Any) -> Any:
        Exclaim.calls += 1
        return f"{next_(source, info, **kwargs)}!"


class OnlyAdmins(BasePermission):
    message = "admins only"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return bool(info.context.get("admin"))


@strawberry.type
class Guarded:
    name: str = strawberry.field(extensions=[Exclaim()])
    secret: str | None = strawberry.field(default="s3cret", permission_classes=[OnlyAdmins])

    @strawberry.field(extensions=[Exclaim()])
    def computed(self) -> str:
        return self.name.lower()


@strawberry.type
class GuardedQuery:
    @strawberry.field
    def guarded(self) -> list[Guarded]:
        return [Guarded(name="A"), Guarded(name="B")]


@pytest.mark.parametrize("admin", [True, False])
async def test_field_extensions_and_permissions_run_on_both_paths(admin: bool) -> None:
    schema = GatewaySchema(query=GuardedQuery)
    document = "{ guarded { name computed secret } }"
    answers = []
    for compiled in (True, False):
        Exclaim.calls = 0
        executor = Executor(schema, Limits(), hide_suggestions=False, compiled=compiled)
        prepared = executor.prepare(document, None)
        assert (prepared.compiled is not None) is compiled
        result = await executor.execute(prepared, variables=None, context={"admin": admin}, operation_name=None)
        assert Exclaim.calls == 4  # name and computed, for each of the two objects
        answers.append((result.data, [e.formatted for e in result.errors or ()]))
    assert answers[0] == answers[1]
    data, errors = answers[0]
    assert data is not None
    assert data["guarded"][0] == {"name": "A!", "computed": "a!", "secret": "s3cret" if admin else None}
    assert len(errors) == (0 if admin else 2)
