"""A push shared by several subscribers is run once, but its errors are made safe for each of them: the log line of
an upstream failure carries each subscriber's own request id, so each can find it by the ``x-request-id`` it got.

The executor is the gateway's, over a small schema whose subscription yields one shared object (as the hub hands
every subscriber of a watched set the same snapshot), with a field that fails as Bifrost would.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry

from app.bifrost import BifrostServerError
from app.schema.executor import Executor
from app.schema.limits import Limits
from app.schema.schema import GatewaySchema

SECRET_TEXT = "failed at http://bifrost.internal:8080/api with sk-bf-leaked"


@strawberry.type
class Push:
    calls: strawberry.Private[list[int]]

    @strawberry.field
    def label(self) -> str:
        return "shared"

    @strawberry.field
    def total(self) -> int | None:
        self.calls.append(1)
        raise BifrostServerError(502, SECRET_TEXT)

    @strawberry.field
    async def total_later(self) -> int | None:
        self.calls.append(1)
        raise BifrostServerError(502, SECRET_TEXT)


SHARED = Push(calls=[])


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "hi"


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def pushes(self) -> AsyncGenerator[Push, None]:
        yield SHARED


@dataclass
class Context:
    request_id: str


@pytest.mark.parametrize("field", ["total", "totalLater"])  # totalLater: the push's result is awaited
@pytest.mark.parametrize("compiled", [True, False])
async def test_each_subscriber_of_a_shared_push_gets_its_own_request_id_in_the_log(
    caplog: pytest.LogCaptureFixture, compiled: bool, field: str
) -> None:
    executor = Executor(
        GatewaySchema(query=Query, subscription=Subscription), Limits(), hide_suggestions=False, compiled=compiled
    )
    SHARED.calls.clear()
    prepared = executor.prepare(f"subscription {{ pushes {{ label total: {field} }} }}", None)
    results: list[Any] = []
    with caplog.at_level(logging.WARNING, logger="app.errors"):
        for request_id in ("first-subscriber", "second-subscriber"):
            stream = await executor.subscribe(
                prepared, variables=None, context=Context(request_id), operation_name=None
            )
            assert isinstance(stream, AsyncGenerator)
            results.append(await anext(stream))
            await stream.aclose()
    assert SHARED.calls == [1], "the push ran once for both"
    for result in results:
        assert result.data == {"pushes": {"label": "shared", "total": None}}
        (error,) = result.errors
        assert error.extensions["code"] == "UPSTREAM_ERROR" and SECRET_TEXT not in error.message
    logged = [record for record in caplog.records if record.getMessage() == "Bifrost failed to complete the request"]
    assert [getattr(record, "request_id", None) for record in logged] == ["first-subscriber", "second-subscriber"]
    assert all(SECRET_TEXT not in str(getattr(record, "upstream_message", "")) for record in logged)
