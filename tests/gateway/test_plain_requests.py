"""A request that carries none of the rare headers takes a lane of its own through the endpoint, and answers
exactly as the checks it skips would have let it.

Trace context, ``Idempotency-Key`` and ``X-Query-Cost`` are looked for in one go (``RequestHeaders.lacks``); a
request without them forwards only its request id, has no key to check and reports no cost. The differential
below drives the same requests through the endpoint twice, once as served and once with every request sent down
the general path (``lacks`` answering False), over every combination of those headers, Accept, the caller, a
query and a mutation: statuses, answer headers and bodies, log lines and the headers of every upstream call are
the same. The other shortcuts (an empty Accept, an exact ``application/json`` Content-Type, an ``Authorization``
within bounds) are held to the checks they skip in the same way.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import httpx
import orjson
import pytest

from app.keys import entry_for
from app.settings import Settings
from app.web import create_app
from app.web.graphql_http import GRAPHQL_RESPONSE, JSON, _framing, _media
from app.web.header_checks import MAX_AUTHORIZATION_BYTES, RefusedHeader, check_caller_headers
from app.web.request_headers import RequestHeaders
from tests.gateway.raw_asgi import graphql_scope

BFF_KEY = "gk_bff-0123456789abcdefghijklmnopqrstuvwxyz0123456"
LOOKUP = "query Team($id: ID!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }"
CREATE = "mutation CreateTeam($input: CreateTeamInput!) { createTeam(input: $input) { team { id name } } }"
TEAM_ID = "67a235df-ee93-401d-bf2b-8b6ffa601958"
_STAMP = '"2026-11-30T04:50:03.235996994Z"'
TEAM = (
    '{"team":{"id":"' + TEAM_ID + '","name":"plain-team","customer_id":null,"customer":null,"budgets":[],'
    '"profile":null,"config":null,"claims":null,"config_hash":"","created_at":'
    + _STAMP
    + ',"updated_at":'
    + _STAMP
    + ',"virtual_key_count":0}}'
).encode()
PARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

TRACE_CONTEXTS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"traceparent", PARENT)],
    [(b"traceparent", PARENT), (b"tracestate", b"vendor=1")],
    [(b"traceparent", b"junk"), (b"tracestate", b"vendor=1")],
]
IDEMPOTENCY_KEYS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"idempotency-key", b"key-1")],
    [(b"idempotency-key", b"k" * 300)],  # too long: refused
    [(b"idempotency-key", b"key-2"), (b"idempotency-key", b"key-3")],  # sent twice: refused
]
COSTS: list[list[tuple[bytes, bytes]]] = [[], [(b"x-query-cost", b"1")], [(b"X-Query-Cost", b"1")]]
ACCEPTS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"accept", b"")],
    [(b"accept", JSON.encode())],
    [(b"accept", GRAPHQL_RESPONSE.encode())],
]
CALLERS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"authorization", b"Bearer mine")],
    [(b"x-gateway-key", BFF_KEY.encode())],
]
BODIES = [
    {"query": LOOKUP, "variables": {"id": TEAM_ID}},
    {"query": CREATE, "variables": {"input": {"name": "plain-team"}}},
]


class Recorded:
    """A gateway over an upstream that answers every call with one team; what it was sent and what it answered."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, list[tuple[str, str]]]] = []

        def answer(request: httpx.Request) -> httpx.Response:
            headers = sorted((name, value) for name, value in request.headers.items() if name != "content-length")
            self.sent.append((request.method, request.url.path, headers))
            return httpx.Response(200, content=TEAM, headers={"content-type": "application/json"})

        settings = Settings(
            bifrost_url="http://bifrost.internal",
            bifrost_api_token="svc-token",
            bifrost_api_generation="v2",
            gateway_api_keys=entry_for("bff", BFF_KEY),
        )
        self.app = create_app(settings, transport=httpx.MockTransport(answer))

    async def post(self, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, list[Any], bytes]:
        scope = graphql_scope()
        if not any(name == b"content-type" for name, _ in headers):
            headers = [(b"content-type", b"application/json"), *headers]
        scope["headers"] = headers
        sent: list[dict[str, Any]] = []
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()  # the client stays until answered
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asyncio.wait_for(self.app(scope, receive, send), 10)
        return sent[0]["status"], sent[0]["headers"], bytes(sent[1]["body"]) if len(sent) > 1 else b""


def _requests() -> list[tuple[list[tuple[bytes, bytes]], bytes]]:
    requests = []
    combinations = itertools.product(TRACE_CONTEXTS, IDEMPOTENCY_KEYS, COSTS, ACCEPTS, CALLERS, BODIES)
    for n, (trace, key, cost, accept, caller, body) in enumerate(combinations):
        headers = [
            (b"content-type", b"application/json"),
            (b"x-request-id", f"req-{n}".encode()),
            *caller,
            *accept,
            *trace,
            *key,
            *cost,
        ]
        requests.append((headers, orjson.dumps(body)))
    return requests


async def _served(requests: list[tuple[list[tuple[bytes, bytes]], bytes]]) -> list[Any]:
    gateway = Recorded()
    outcomes = []
    for headers, body in requests:
        for _ in range(2):  # again: a mutation with a key is answered from what the first one left
            answer = await gateway.post(list(headers), body)
            outcomes.append((answer, gateway.sent[:]))
            gateway.sent.clear()
    return outcomes


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = [dict(vars(record)) for record in caplog.records if record.getMessage() == "request"]
    for line in lines:
        for varying in ("duration_ms", "created", "msecs", "relativeCreated", "thread", "process", "taskName"):
            line.pop(varying, None)
    return lines


@pytest.mark.interpreted  # replaces a name inside a compiled module (tests/conftest.py)
async def test_a_plain_request_answers_logs_and_calls_upstream_as_the_general_path(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests = _requests()
    looked: list[bool] = []
    lacks = RequestHeaders.lacks

    def recorded_lacks(headers: RequestHeaders, names: Any) -> bool:
        looked.append(lacks(headers, names))
        return looked[-1]

    monkeypatch.setattr(RequestHeaders, "lacks", recorded_lacks)
    with caplog.at_level(logging.INFO, logger="app.request"):
        lane = await _served(requests)
    lane_lines = _lines(caplog)
    caplog.clear()
    monkeypatch.setattr(RequestHeaders, "lacks", lambda headers, names: False)
    with caplog.at_level(logging.INFO, logger="app.request"):
        general = await _served(requests)
    general_lines = _lines(caplog)

    assert True in looked and False in looked, "both ways were taken"
    assert len(lane) == len(general) == 2 * len(requests)
    for n, (mine, theirs) in enumerate(zip(lane, general, strict=True)):
        assert mine == theirs, requests[n // 2]
    assert lane_lines == general_lines
    # What the combinations cover: answers of each kind, replays and forwarded trace context among them.
    statuses = {answer[0] for answer, _ in lane}
    assert {200, 400} <= statuses
    assert any((b"idempotent-replayed", b"true") in answer[1] for answer, _ in lane)
    assert any(("traceparent", PARENT.decode()) in calls[0][2] for _, calls in lane if calls)
    assert any(b'"extensions"' in answer[2] for answer, _ in lane)


@pytest.mark.parametrize(
    ("headers", "forwarded", "cost"),
    [
        ([], {"x-request-id": "r"}, False),
        ([(b"traceparent", PARENT)], {"x-request-id": "r", "traceparent": PARENT.decode()}, False),
        ([(b"traceparent", b"junk")], {"x-request-id": "r"}, False),
        ([(b"x-query-cost", b"")], {"x-request-id": "r"}, True),  # present, even empty, asks for the cost
        ([(b"X-Query-Cost", b"1")], {"x-request-id": "r"}, False),  # a name not lower-cased is nobody's
    ],
)
async def test_what_goes_upstream_and_the_cost_extension_follow_the_rare_headers(
    headers: list[tuple[bytes, bytes]], forwarded: dict[str, str], cost: bool
) -> None:
    gateway = Recorded()
    body = orjson.dumps({"query": LOOKUP, "variables": {"id": TEAM_ID}})
    status, _, content = await gateway.post([(b"x-request-id", b"r"), *headers], body)
    assert status == 200
    assert ("extensions" in orjson.loads(content)) is cost
    ((_, _, sent),) = gateway.sent
    assert {name: value for name, value in sent if name in ("x-request-id", "traceparent", "tracestate")} == forwarded


@pytest.mark.parametrize(
    "content_type",
    [
        b"application/json",
        b"application/json; charset=utf-8",
        b"Application/JSON",
        b"application/json ;charset=utf-8",
        b"application/json5",
        b"application/jsonx; charset=utf-8",
        b"text/plain",
        b"",
        b"application/graphql-response+json",
    ],
)
async def test_only_a_json_content_type_is_read_with_or_without_parameters(content_type: bytes) -> None:
    gateway = Recorded()
    body = orjson.dumps({"query": LOOKUP, "variables": {"id": TEAM_ID}})
    status, _, content = await gateway.post([(b"content-type", content_type)], body)
    media = content_type.decode().split(";")[0].strip().lower()
    if media == JSON:
        assert status == 200 and "errors" not in orjson.loads(content)
    else:
        assert status == 415 and orjson.loads(content)["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert gateway.sent == []


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer t",
        "Bearer " + "x" * (MAX_AUTHORIZATION_BYTES - 7),  # exactly the bound
        "Bearer " + "x" * (MAX_AUTHORIZATION_BYTES - 6),  # one over
        "Bearer " + "x" * 100_000,
        "Bearer t\x7f",
        "Bearer t\x01",
        "Bearer caf\xe9",
        "Bearer t\tu",
    ],
)
async def test_an_authorization_within_bounds_goes_on_and_any_other_is_refused_as_the_check_says(
    authorization: str,
) -> None:
    try:
        check_caller_headers({"authorization": authorization})
        expected: tuple[int, str | None] = (200, None)
    except RefusedHeader as refused:
        expected = (refused.status, refused.code)
    gateway = Recorded()
    body = orjson.dumps({"query": LOOKUP, "variables": {"id": TEAM_ID}})
    status, _, content = await gateway.post([(b"authorization", authorization.encode("latin-1"))], body)
    answer = orjson.loads(content)
    code = answer["errors"][0]["extensions"]["code"] if status != 200 else None
    assert (status, code) == expected
    assert (gateway.sent == []) is (status != 200)


@pytest.mark.parametrize("accept", ["", "application/json", GRAPHQL_RESPONSE, "*/*", "text/event-stream", "image/png"])
async def test_an_empty_accept_is_answered_as_the_general_parsing_answers_it(accept: str) -> None:
    # The lane takes an empty (or absent) Accept as plain JSON without parsing: what the parsing says of it.
    if accept == "":
        assert (_framing(accept), _media(accept)) == (None, JSON)
    gateway = Recorded()
    body = orjson.dumps({"query": LOOKUP, "variables": {"id": TEAM_ID}})
    absent, _, _ = await gateway.post([], body)
    given, head, _ = await gateway.post([(b"accept", accept.encode())], body)
    if accept in ("", "application/json", "*/*"):
        assert absent == given == 200 and (b"content-type", JSON.encode()) in head
    elif accept == GRAPHQL_RESPONSE:
        assert given == 200 and (b"content-type", GRAPHQL_RESPONSE.encode()) in head
    else:
        assert given == 406
