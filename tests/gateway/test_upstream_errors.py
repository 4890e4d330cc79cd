"""Upstream failures become typed GraphQL errors; nothing internal leaks; the gateway keeps serving."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.observability import JsonFormatter
from app.settings import Settings
from app.web import create_app
from tests.gateway.documents import CREATE_TEAM_SHORT, TEAM_BY_ID

UPSTREAM_HOST = "bifrost.secret-host.internal"
TEAM_ID = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
TEAM_JSON = {
    "id": TEAM_ID,
    "name": "t",
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}


def envelope(status: int, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"is_bifrost_error": False, "status_code": status, "error": {"message": message}, "extra_fields": {}},
    )


class Recorder:
    """A MockTransport handler that records requests and answers with a scripted function."""

    def __init__(self, answer: Callable[[httpx.Request, int], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/version":
            return httpx.Response(200, json="v1.5.2")
        return self.answer(request, len([r for r in self.requests if r.url.path != "/api/version"]))


async def run(
    answer: Callable[[httpx.Request, int], httpx.Response], query: str, variables: dict[str, Any], **settings: Any
) -> tuple[httpx.Response, Recorder]:
    recorder = Recorder(answer)
    app = create_app(
        Settings(bifrost_url=f"http://{UPSTREAM_HOST}:8080", **settings), transport=httpx.MockTransport(recorder)
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    return response, recorder


def raise_(exc: Exception) -> Callable[[httpx.Request, int], httpx.Response]:
    def answer(request: httpx.Request, n: int) -> httpx.Response:
        raise exc

    return answer


def assert_no_leak(text: str) -> None:
    for needle in (UPSTREAM_HOST, "http://", "Traceback", 'File "', "httpx", "sk-bf-"):
        assert needle not in text, needle


UNKNOWN = "UPSTREAM_OUTCOME_UNKNOWN"
# (answer, code of a read, code of a write when it differs, upstream status)
CASES = [
    pytest.param(raise_(httpx.ConnectError("refused")), "UPSTREAM_UNAVAILABLE", None, None, id="connect-refused"),
    pytest.param(raise_(httpx.ConnectTimeout("no syn-ack")), "UPSTREAM_TIMEOUT", None, None, id="connect-timeout"),
    pytest.param(raise_(httpx.PoolTimeout("pool full")), "UPSTREAM_TIMEOUT", None, None, id="pool-timeout"),
    pytest.param(raise_(httpx.ReadTimeout("slow")), "UPSTREAM_TIMEOUT", UNKNOWN, None, id="read-timeout"),
    pytest.param(raise_(httpx.ReadError("reset")), "UPSTREAM_UNAVAILABLE", UNKNOWN, None, id="reset-after-send"),
    pytest.param(raise_(httpx.RemoteProtocolError("closed")), "UPSTREAM_UNAVAILABLE", UNKNOWN, None, id="closed"),
    pytest.param(lambda r, n: envelope(401, "Unauthorized"), "UNAUTHENTICATED", None, 401, id="401"),
    pytest.param(lambda r, n: envelope(403, "Forbidden"), "FORBIDDEN", None, 403, id="403"),
    pytest.param(lambda r, n: envelope(500, "database is locked"), "UPSTREAM_ERROR", None, 500, id="500"),
    pytest.param(lambda r, n: httpx.Response(200, content=b"{not json"), "UPSTREAM_ERROR", None, None, id="bad-json"),
    pytest.param(lambda r, n: httpx.Response(200, json={"teams": 1}), "UPSTREAM_ERROR", None, None, id="wrong-shape"),
]


@pytest.mark.parametrize(("answer", "code", "write_code", "status"), CASES)
async def test_create_team_upstream_failure_is_typed_error(
    answer: Any, code: str, write_code: str | None, status: int | None
) -> None:
    response, recorder = await run(answer, CREATE_TEAM_SHORT, {"input": {"name": "t"}})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == (write_code or code)
    assert error["path"] == ["createTeam"]
    if status is not None:
        assert error["extensions"]["upstream"]["status"] == status
    assert_no_leak(response.text)
    posts = [r for r in recorder.requests if r.method == "POST"]
    assert len(posts) == 1, "a mutation is never retried"


@pytest.mark.parametrize(("answer", "code", "write_code", "status"), CASES)
async def test_team_lookup_upstream_failure_is_typed_error(
    answer: Any, code: str, write_code: str | None, status: int | None
) -> None:
    response, _ = await run(answer, TEAM_BY_ID, {"id": TEAM_ID})
    body = response.json()
    assert body["data"] == {"team": None}
    assert body["errors"][0]["extensions"]["code"] == code
    assert_no_leak(response.text)


async def test_lookup_is_retried_on_503_and_succeeds() -> None:
    def answer(request: httpx.Request, n: int) -> httpx.Response:
        return envelope(503, "busy") if n == 1 else httpx.Response(200, json={"team": TEAM_JSON})

    response, recorder = await run(answer, TEAM_BY_ID, {"id": TEAM_ID})
    assert response.json() == {
        "data": {"team": {"id": TEAM_ID, "name": "t", "customer": None, "budget": None, "budgets": []}}
    }
    assert len(recorder.requests) == 2


async def test_mutation_is_not_retried_on_503() -> None:
    response, recorder = await run(lambda r, n: envelope(503, "busy"), CREATE_TEAM_SHORT, {"input": {"name": "t"}})
    assert response.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"
    assert len([r for r in recorder.requests if r.method == "POST"]) == 1


async def test_oversized_upstream_body_is_refused() -> None:
    huge = b'{"team": {"id": "x", "name": "' + b"a" * 3_000_000 + b'"}}'
    response, _ = await run(
        lambda r, n: httpx.Response(200, content=huge),
        TEAM_BY_ID,
        {"id": TEAM_ID},
        upstream_max_response_bytes=1024 * 1024,
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"


async def test_upstream_failure_logs_no_url_or_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await run(
        raise_(httpx.ConnectError(f"refused http://{UPSTREAM_HOST}/x?key=sk-bf-secret")),
        CREATE_TEAM_SHORT,
        {"input": {"name": "t"}},
    )
    await run(lambda r, n: envelope(500, "boom"), TEAM_BY_ID, {"id": TEAM_ID})
    for record in caplog.records:
        assert_no_leak(record.getMessage())
        assert record.exc_info is None


async def test_resolver_bug_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.schema import loaders

    async def broken(self: Any, ids: list[str]) -> list[Any]:
        raise RuntimeError(f"secret at http://{UPSTREAM_HOST}")

    monkeypatch.setattr(loaders.Loaders, "_load_teams", broken)
    response, _ = await run(lambda r, n: httpx.Response(200, json={"team": TEAM_JSON}), TEAM_BY_ID, {"id": TEAM_ID})
    body = response.json()
    assert body["errors"][0]["message"] == "Unexpected error."
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert_no_leak(response.text)


# Bifrost's 5xx text is its internals: logged redacted with the request id, never shown ----------------

INTERNAL_TEXTS = [
    "UNIQUE constraint failed: governance_virtual_keys.name",
    "failed to get MCP client: record not found",
    "failed to connect: dsn=postgres://bifrost:hunter2@db.internal:5432/bifrost sslmode=disable",
]
TWO_LOOKUPS = """
query Twice($id: ID!) { a: team(id: $id) { id } b: team(id: $id) { name } }
"""


async def post_with_headers(
    answer: Callable[[httpx.Request, int], httpx.Response],
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str],
    **settings: Any,
) -> httpx.Response:
    app = create_app(
        Settings(bifrost_url=f"http://{UPSTREAM_HOST}:8080", **settings),
        transport=httpx.MockTransport(Recorder(answer)),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        return await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def failure_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "app.errors" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("env", ["development", "production"])
@pytest.mark.parametrize("text", INTERNAL_TEXTS)
async def test_upstream_5xx_text_is_logged_redacted_and_not_shown(
    env: str, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await post_with_headers(
        lambda r, n: envelope(500, text),
        CREATE_TEAM_SHORT,
        {"input": {"name": "t"}},
        {"x-request-id": "req-5xx-1"},
        gateway_env=env,
    )
    [error] = response.json()["errors"]
    assert error["message"] == "Bifrost failed to handle the request"
    assert error["extensions"] == {"code": "UPSTREAM_ERROR", "upstream": {"status": 500}}
    for fragment in ("UNIQUE", "record not found", "hunter2", "postgres", "dsn", "governance_"):
        assert fragment not in response.text
    [record] = failure_records(caplog)
    assert record.request_id == "req-5xx-1"  # type: ignore[attr-defined]
    assert record.upstream_status == 500  # type: ignore[attr-defined]
    line = JsonFormatter().format(record)
    for fragment in ("hunter2", "postgres://", "db.internal", "5432", UPSTREAM_HOST):
        assert fragment not in line
    assert text.split(":")[0] in record.upstream_message  # type: ignore[attr-defined]


async def test_one_upstream_failure_behind_several_errors_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = await post_with_headers(
        lambda r, n: envelope(503, "database is locked"), TWO_LOOKUPS, {"id": TEAM_ID}, {"x-request-id": "req-once"}
    )
    errors = response.json()["errors"]
    assert [e["path"] for e in errors] == [["a"], ["b"]]
    assert all(e["extensions"] == {"code": "UPSTREAM_ERROR", "upstream": {"status": 503}} for e in errors)
    [record] = failure_records(caplog)
    assert record.request_id == "req-once"  # type: ignore[attr-defined]
    assert record.upstream_message == "database is locked"  # type: ignore[attr-defined]


async def test_unexpected_upstream_body_is_logged_with_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = await post_with_headers(
        lambda r, n: httpx.Response(200, json={"teams": 1}), TEAM_BY_ID, {"id": TEAM_ID}, {"x-request-id": "req-shape"}
    )
    assert response.json()["errors"][0]["extensions"] == {"code": "UPSTREAM_ERROR"}
    [record] = failure_records(caplog)
    assert record.request_id == "req-shape"  # type: ignore[attr-defined]
    assert record.error_type == "UpstreamProtocolError"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "text"),
    [
        pytest.param(400, "Invalid limit parameter: must be a number", id="400"),
        pytest.param(401, "Unauthorized", id="401"),
    ],
)
async def test_upstream_4xx_text_stays_for_the_caller(status: int, text: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response, _ = await run(lambda r, n: envelope(status, text), TEAM_BY_ID, {"id": TEAM_ID}, gateway_env="production")
    assert response.json()["errors"][0]["extensions"]["upstream"] == {"status": status, "message": text}
    assert failure_records(caplog) == []


async def test_unknown_upstream_status_is_masked_like_a_5xx() -> None:
    response, _ = await run(lambda r, n: envelope(418, "token=abc123 refused"), TEAM_BY_ID, {"id": TEAM_ID})
    assert response.json()["errors"][0]["extensions"]["upstream"] == {"status": 418}
    assert "abc123" not in response.text
