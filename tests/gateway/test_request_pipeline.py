"""The endpoint's request pipeline answers exactly as the plain Starlette and dataclass paths it stands for.

What the endpoint works out once per caller (``IdentifiedCaller``: log name, key holder, sharing identity) and
the JSON answer it writes without ``Response.init_headers`` are checked against the objects they stand for; the
paths around them (no tracing, headers sent upstream, the disconnect watch) are checked end to end.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers
from starlette.responses import Response

from app.keys import KeyRing, entry_for, parse_gateway_keys
from app.schema.caller import ANONYMOUS, Caller, CallerKind
from app.settings import Settings
from app.web import create_app
from app.web.callers import CallerPolicy, IdentifiedCaller
from app.web.graphql_http import GRAPHQL_RESPONSE, JSON, _answer
from app.web.shared_queries import caller_identity, query_key, shared_key
from tests.gateway.conftest import make_gateway
from tests.gateway.documents import TEAM_BY_ID

BFF_KEY = "gk_bff-0123456789abcdefghijklmnopqrstuvwxyz0123456"
TEAMS = "query Teams { teams(first: 2) { edges { node { id name } } } }"
LOGIN = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { success userErrors { code } } }"
TEAM_ID = "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize("media", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize("status", [200, 400, 413])
@pytest.mark.parametrize("content", [b"", b"{}", b'{"data":{"team":null}}', b"x" * 100_000])
def test_a_json_answer_is_the_response_starlette_would_make(media: str, status: int, content: bytes) -> None:
    ours = _answer(content, status, media)
    theirs = Response(content, status_code=status, media_type=media)
    assert ours.__class__ is Response
    assert (ours.status_code, ours.body, ours.media_type, ours.background, ours.raw_headers) == (
        theirs.status_code,
        theirs.body,
        theirs.media_type,
        theirs.background,
        theirs.raw_headers,
    )
    # Headers added later (set-cookie, x-request-id) land after the same two.
    ours.headers.append("set-cookie", "token=a")
    theirs.headers.append("set-cookie", "token=a")
    assert ours.raw_headers == theirs.raw_headers


def _policy() -> CallerPolicy:
    return CallerPolicy(
        KeyRing(parse_gateway_keys(entry_for("bff", BFF_KEY, can_reveal=True))),
        {"authorization": "Bearer svc"},
        anonymous_gets_service_credentials=True,
    )


@pytest.mark.parametrize(
    "raw",
    [
        [],
        [(b"x-gateway-key", BFF_KEY.encode())],
        [(b"authorization", b"Bearer mine")],
        [(b"cookie", b"theme=dark; token=abc")],
        [(b"authorization", b"Bearer mine"), (b"cookie", b"token=abc")],
        [(b"x-bf-vk", b"sk-bf-0123456789abcdef")],
        [(b"authorization", b"Bearer sk-bf-0123456789abcdef")],
    ],
)
def test_what_a_caller_carries_is_what_its_caller_and_credentials_say(raw: list[tuple[bytes, bytes]]) -> None:
    identified = _policy().identify(Headers(raw=raw))
    assert identified.log_name == identified.caller.log_name
    assert identified.is_key_holder is identified.caller.is_key_holder
    assert identified.sharing == caller_identity(identified.caller, identified.credentials)
    # The key the endpoint makes is the one ``query_key`` makes of the caller and its credentials.
    args = (TEAMS, "Teams", {"b": 1, "a": [2]})
    assert shared_key(*args, identified.sharing, JSON, False) == query_key(
        *args, identified.caller, identified.credentials, JSON, False
    )


def test_sharing_tells_apart_exactly_what_the_caller_and_credentials_tell_apart() -> None:
    one = Caller(CallerKind.VIRTUAL_KEY, virtual_key="sk-bf-aaaaaaaaaaaaaaaa")
    two = Caller(CallerKind.VIRTUAL_KEY, virtual_key="sk-bf-bbbbbbbbbbbbbbbb")
    assert one == two, "Caller equality leaves the key out"
    assert IdentifiedCaller(one, {}, {}).sharing != IdentifiedCaller(two, {}, {}).sharing
    labelled = [Caller(CallerKind.GATEWAY_KEY, key_label=label, can_reveal=r) for label in "ab" for r in (True, False)]
    assert len({IdentifiedCaller(caller, {}, {}).sharing for caller in labelled}) == 4
    ordered = IdentifiedCaller(ANONYMOUS, {"authorization": "Bearer t", "cookie": "token=c"}, {})
    reordered = IdentifiedCaller(ANONYMOUS, {"cookie": "token=c", "authorization": "Bearer t"}, {})
    assert ordered.sharing == reordered.sharing
    assert IdentifiedCaller(ANONYMOUS, {"authorization": "Bearer t"}, {}).sharing != ordered.sharing
    # Equality and hashing of the caller itself are unchanged by what it carries.
    assert IdentifiedCaller(ANONYMOUS, {}, {}) == IdentifiedCaller(ANONYMOUS, {}, {})
    assert "sharing" not in repr(ordered) and "token=c" in repr(ordered)


async def _sent_upstream(caller_headers: dict[str, str], document: str, variables: Any) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/session/login":
            return httpx.Response(200, json={"message": "ok", "token": "t"}, headers={"set-cookie": "token=t"})
        return httpx.Response(404, json={"error": {"message": "Team not found"}})

    settings = Settings(
        bifrost_url="http://bifrost.internal",
        bifrost_api_token="svc-token",
        gateway_api_keys=entry_for("bff", BFF_KEY),
    )
    app = create_app(settings, transport=httpx.MockTransport(handler))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        response = await http.post("/graphql", json={"query": document, "variables": variables}, headers=caller_headers)
    assert response.status_code == 200, response.text
    return seen


@pytest.mark.parametrize(
    ("caller", "governance", "login"),
    [
        ({}, None, None),
        ({"x-gateway-key": BFF_KEY}, "Bearer svc-token", None),
        ({"authorization": "Bearer mine"}, "Bearer mine", "Bearer mine"),
    ],
)
async def test_each_call_goes_upstream_with_the_request_id_and_only_its_own_credentials(
    caller: dict[str, str], governance: str | None, login: str | None
) -> None:
    headers = {
        **caller,
        "x-request-id": "req-1",
        "traceparent": PARENT,
    }
    for document, variables, expected in [
        (TEAM_BY_ID, {"id": TEAM_ID}, governance),
        (LOGIN, {"u": "admin", "p": "pw"}, login),
    ]:
        (sent,) = await _sent_upstream(headers, document, variables)
        assert sent.headers.get("authorization") == expected
        assert sent.headers["x-request-id"] == "req-1"
        assert sent.headers["traceparent"] == PARENT
        assert "x-gateway-key" not in sent.headers


async def test_without_tracing_each_request_still_gets_its_log_line_and_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gw = await make_gateway("current")
    try:
        with caplog.at_level(logging.INFO, logger="app.request"):
            refused = await gw.http.post(
                "/graphql", json={"query": TEAMS}, headers={"x-gateway-key": BFF_KEY, "x-request-id": "req-7"}
            )
            answered = await gw.http.post(
                "/graphql", json={"query": TEAMS, "operationName": "Teams"}, headers={"x-request-id": "req-8"}
            )
    finally:
        await gw.http.aclose()
    assert refused.status_code == 401  # not a key of this gateway
    assert answered.status_code == 200 and "errors" not in answered.json()
    assert [refused.headers["x-request-id"], answered.headers["x-request-id"]] == ["req-7", "req-8"]
    assert answered.headers["content-type"] == "application/json"
    assert int(answered.headers["content-length"]) == len(answered.content)
    lines = [vars(record) for record in caplog.records if record.getMessage() == "request"]
    assert [(line["request_id"], line["status"], line["outcome"], line["caller"]) for line in lines] == [
        ("req-7", 401, "UNAUTHENTICATED", None),
        ("req-8", 200, "ok", "anonymous"),
    ]
    assert (lines[1]["operation"], lines[1]["operation_type"], lines[1]["shared"]) == ("Teams", "query", False)
