"""Arranging data on, and reading it back from, the embedded upstream directly (not through the gateway).

These direct requests are taken out of the upstream's request log again, so the log shows only what the
gateway sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import generation_named
from app.settings import Settings
from app.web import create_app
from tests.gateway.conftest import Gateway, upstream_http

MISSING_ID = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
WRITES = ("POST", "PUT", "DELETE")


@asynccontextmanager
async def _direct(gw: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    log = gw.upstream.state.request_log
    before = len(log)
    try:
        async with upstream_http(gw) as up:
            yield up
    finally:
        while len(log) > before:
            log.pop()


async def upstream_post(gw: Gateway, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to ``/api/governance/{collection}`` and return the created entity."""
    async with _direct(gw) as up:
        response = await up.post(f"/api/governance/{collection}", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = next(v for k, v in response.json().items() if k != "message")
    return created


async def upstream_get(gw: Gateway, collection: str, entity_id: str) -> dict[str, Any] | None:
    """GET ``/api/governance/{collection}/{id}``; None on 404."""
    async with _direct(gw) as up:
        response = await up.get(f"/api/governance/{collection}/{entity_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: dict[str, Any] = next(iter(response.json().values()))
    return found


def writes(gw: Gateway) -> list[Any]:
    """Write requests the upstream received."""
    return [record for record in gw.upstream_calls() if record.method in WRITES]


def result_of(body: dict[str, Any], mutation: str) -> dict[str, Any]:
    """The mutation's payload, asserting there were no GraphQL errors."""
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][mutation]
    return payload


def codes(payload: dict[str, Any]) -> list[tuple[list[str] | None, str]]:
    """(field, code) of each userError."""
    return [(error["field"], error["code"]) for error in payload["userErrors"]]


def upstream_error(status: int, message: str) -> httpx.Response:
    """An answer in Bifrost's error envelope."""
    body = {"is_bifrost_error": False, "status_code": status, "error": {"message": message}, "extra_fields": {}}
    return httpx.Response(status, json=body)


Failure = Callable[[httpx.Request], "httpx.Response | Exception | None"]


class FailingTransport(httpx.AsyncBaseTransport):
    """An ASGI app through ``httpx.ASGITransport``, except requests for which ``fail`` gives an answer or an error.

    ``fail`` returns None to let the request through, an ``httpx.Response`` to answer it instead, or an
    exception (``httpx.ConnectError``, ``httpx.ReadTimeout`` ...) to raise as the transport would.
    """

    def __init__(self, app: Any, fail: Failure | None = None) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.fail = fail

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.fail(request) if self.fail is not None else None
        if isinstance(answer, Exception):
            raise answer
        if answer is not None:
            return answer
        return await self.inner.handle_async_request(request)


async def recording_gateway(
    generation: str = "current", *, version: str | None = None
) -> tuple[Gateway, list[tuple[str, str, Any]]]:
    """A gateway over the embedded upstream that also keeps the JSON body of every write it sends upstream.

    Args:
        generation: The embedded server's API generation.
        version: What its ``GET /api/version`` answers (None: its generation's default).

    Returns:
        The gateway and its list of ``(method, path, body)``, one per write, in order.
    """
    upstream = create_embedded_bifrost(database=":memory:", generation=generation, version=version)
    sent: list[tuple[str, str, Any]] = []

    def record(request: httpx.Request) -> None:
        if request.method in WRITES:
            sent.append((request.method, request.url.path, orjson.loads(request.content) if request.content else None))

    app = create_app(Settings(bifrost_url="http://bifrost.internal:8080"), transport=FailingTransport(upstream, record))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    return Gateway(app=app, http=http, upstream=upstream, generation=generation_named(generation)), sent


def has_null(value: Any) -> bool:
    """Whether a JSON value holds a null anywhere."""
    if value is None:
        return True
    if isinstance(value, dict):
        return any(has_null(item) for item in value.values())
    if isinstance(value, list):
        return any(has_null(item) for item in value)
    return False
