"""The endpoint reads each request's headers once (``RequestHeaders``) and its body from the ASGI messages:
the answers are Starlette's, for odd headers and bodies as much as for plain ones."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from starlette.datastructures import Headers

from app.keys import KeyRing, entry_for, parse_gateway_keys
from app.settings import Settings
from app.web import create_app
from app.web.callers import CallerPolicy
from app.web.graphql_http import _framing
from app.web.request_headers import RequestHeaders
from app.web.stream_framing import framing_for
from tests.gateway.conftest import REVEAL_KEY
from tests.gateway.documents import TEAM_BY_ID
from tests.gateway.raw_asgi import graphql_scope

ODD_HEADER_LISTS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")],  # repeated: the first, both in getlist
    [(b"Authorization", b"Bearer upper"), (b"authorization", b"Bearer lower")],  # a name not lower-cased
    [(b"X-Request-Id", b"upper-only")],
    [(b"x-request-id", b"caf\xe9"), (b"accept", b"\xff\xfe")],  # latin-1 bytes
    [(b"x-query-cost", b""), (b"idempotency-key", b""), (b"cookie", b"")],  # empty values
    [(b"authorization", b"Bearer " + b"x" * 100_000), (b"cookie", b"token=" + b"y" * 50_000)],  # huge values
    [(b"idempotency-key", b"k1"), (b"content-type", b"application/json"), (b"idempotency-key", b"k2")],
    [(b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), (b"tracestate", b"a=1")] * 3,
]
ASKED = [
    "authorization",
    "Authorization",
    "AUTHORIZATION",
    "x-request-id",
    "X-Request-Id",
    "accept",
    "x-query-cost",
    "idempotency-key",
    "cookie",
    "content-type",
    "traceparent",
    "tracestate",
    "missing",
]


@pytest.mark.parametrize("raw", ODD_HEADER_LISTS)
def test_request_headers_answer_as_starlettes_headers(raw: list[tuple[bytes, bytes]]) -> None:
    ours, theirs = RequestHeaders({"headers": list(raw)}), Headers(scope={"headers": list(raw)})
    for name in ASKED:
        assert ours.get(name) == theirs.get(name), name
        assert ours.get(name, "default") == theirs.get(name, "default"), name
        assert (name in ours) == (name in theirs), name
        assert ours.getlist(name) == theirs.getlist(name), name
        if name in theirs:
            assert ours[name] == theirs[name]
        else:
            with pytest.raises(KeyError):
                ours[name]
    lower = [name for name in ASKED if name == name.lower()]
    for names in [set(), *({name} for name in lower), {"traceparent", "idempotency-key", "x-query-cost"}, set(lower)]:
        assert ours.lacks(frozenset(names)) is all(name not in theirs for name in names), names
    assert ours.raw == theirs.raw
    assert ours.items() == theirs.items()
    assert len(ours) == len(theirs)
    assert ours == theirs


class Upstream:
    """A gateway over a recording upstream that knows no team: what it was sent, and the gateway's ASGI app."""

    def __init__(self, **settings: Any) -> None:
        self.seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            self.seen.append(request)
            return httpx.Response(404, json={"error": {"message": "Team not found"}})

        self.app = create_app(
            Settings(bifrost_url="http://bifrost.internal", **settings), transport=httpx.MockTransport(answer)
        )

    async def post(
        self, headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]], **scope_changes: Any
    ) -> dict[str, Any]:
        """Drive one POST /graphql through the ASGI interface; the status, headers and JSON body of the answer."""
        scope = graphql_scope()
        scope["headers"] = headers
        scope.update(scope_changes)
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()  # the client stays until answered
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asyncio.wait_for(self.app(scope, receive, send), 10)
        head = [(name.decode(), value.decode("latin-1")) for name, value in sent[0]["headers"]]
        return {"status": sent[0]["status"], "headers": head, "body": orjson.loads(sent[1]["body"])}


def _whole(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "http.request", "body": orjson.dumps(body), "more_body": False}]


JSON = (b"content-type", b"application/json")
LOOKUP = {"query": TEAM_BY_ID, "variables": {"id": "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c"}}
ANSWERED = {"team": None}


@pytest.fixture
def gw() -> Upstream:
    return Upstream()


async def test_a_name_not_lower_cased_is_not_read_as_the_credential(gw: Upstream) -> None:
    # ASGI servers lower-case names; one that arrives otherwise is nobody's credential, as before.
    answer = await gw.post([JSON, (b"Authorization", b"Bearer sk-bf-not-read")], _whole(LOOKUP))
    assert answer["status"] == 200, answer
    assert answer["body"]["data"] == ANSWERED
    assert len(gw.seen) == 1
    assert "authorization" not in gw.seen[0].headers


@pytest.mark.parametrize("client", [None, ["10.0.0.7", 4000], ("10.0.0.7", 4000)])
async def test_a_request_whose_server_names_no_client_or_names_it_in_a_list_is_served(
    gw: Upstream, client: Any
) -> None:
    answer = await gw.post([JSON], _whole(LOOKUP), client=client)
    assert answer["status"] == 200
    assert answer["body"]["data"] == ANSWERED


async def test_two_authorization_headers_are_refused_before_anything_goes_upstream(gw: Upstream) -> None:
    headers = [JSON, (b"authorization", b"Bearer one"), (b"authorization", b"Bearer two")]
    answer = await gw.post(headers, _whole(LOOKUP))
    assert answer["status"] == 400
    assert answer["body"]["errors"][0]["message"] == "send at most one authorization header"
    assert gw.seen == []


async def test_a_huge_authorization_is_refused_by_its_name(gw: Upstream) -> None:
    answer = await gw.post([JSON, (b"authorization", b"Bearer " + b"x" * 100_000)], _whole(LOOKUP))
    assert answer["status"] == 431
    assert answer["body"]["errors"][0]["extensions"]["code"] == "HEADER_TOO_LARGE"
    assert gw.seen == []


async def test_an_authorization_with_latin1_bytes_is_refused(gw: Upstream) -> None:
    answer = await gw.post([JSON, (b"authorization", b"Bearer caf\xe9")], _whole(LOOKUP))
    assert answer["status"] == 400
    assert answer["body"]["errors"][0]["extensions"]["code"] == "INVALID_HEADER"
    assert gw.seen == []


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ([(b"x-request-id", b"first"), (b"x-request-id", b"second")], "first"),
        ([(b"x-request-id", b"")], None),
        ([(b"x-request-id", b"caf\xe9")], None),
        ([(b"x-request-id", b"r" * 129)], None),
        ([(b"X-Request-Id", b"upper")], None),
    ],
)
async def test_the_request_id_is_the_first_usable_one_or_a_fresh_one(
    gw: Upstream, sent: list[tuple[bytes, bytes]], kept: str | None
) -> None:
    answer = await gw.post([JSON, *sent], _whole(LOOKUP))
    assert answer["status"] == 200
    request_ids = [value for name, value in answer["headers"] if name == "x-request-id"]
    assert len(request_ids) == 1
    request_id = request_ids[0]
    if kept is not None:
        assert request_id == kept
    else:
        assert len(request_id) == 32 and int(request_id, 16) >= 0
    assert [call.headers["x-request-id"] for call in gw.seen] == [request_id]


async def test_two_idempotency_keys_are_refused(gw: Upstream) -> None:
    headers = [JSON, (b"idempotency-key", b"k1"), (b"idempotency-key", b"k2")]
    answer = await gw.post(headers, _whole(LOOKUP))
    assert answer["status"] == 400
    assert answer["body"]["errors"][0]["extensions"]["code"] == "BAD_IDEMPOTENCY_KEY"
    assert gw.seen == []


async def test_an_empty_cost_header_still_asks_for_the_cost(gw: Upstream) -> None:
    answer = await gw.post([JSON, (b"x-query-cost", b"")], _whole(LOOKUP))
    assert answer["body"]["data"] == ANSWERED
    assert answer["body"]["extensions"]["cost"]["requestedQueryCost"] >= 1


async def test_a_content_type_in_capitals_with_parameters_is_json(gw: Upstream) -> None:
    answer = await gw.post([(b"content-type", b"Application/JSON; charset=utf-8")], _whole(LOOKUP))
    assert answer["status"] == 200
    assert answer["body"]["data"] == ANSWERED


async def test_a_body_in_many_messages_is_read_whole(gw: Upstream) -> None:
    body = orjson.dumps(LOOKUP)
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": bytes([b]), "more_body": True} for b in body]
    messages.insert(3, {"type": "http.request", "body": b"", "more_body": True})  # an empty one on the way
    messages.insert(5, {"type": "http.request", "more_body": True})  # and one without a body at all
    messages.append({"type": "http.request", "body": b"", "more_body": False})
    answer = await gw.post([JSON], messages)
    assert answer["status"] == 200
    assert answer["body"]["data"] == ANSWERED


async def test_a_body_over_the_limit_in_a_later_message_is_refused_without_reading_on() -> None:
    gw = Upstream(max_body_bytes=2048, max_document_bytes=1024)
    chunk = {"type": "http.request", "body": b" " * 1500, "more_body": True}
    messages: list[dict[str, Any]] = [dict(chunk), dict(chunk), {"type": "http.request", "body": b"{}"}]
    answer = await gw.post([JSON], messages)
    assert answer["status"] == 413
    assert answer["body"]["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
    assert len(messages) == 1  # the third message was never asked for
    assert gw.seen == []


@pytest.mark.parametrize(
    "raw",
    [
        [],
        [(b"authorization", b"Bearer mine")],
        [(b"cookie", b"token=abc")],
        [(b"authorization", b"Basic dTpw"), (b"cookie", b"a=1; token=abc")],
        [(b"x-gateway-key", REVEAL_KEY.encode())],
        [(b"authorization", b"Bearer " + REVEAL_KEY.encode())],
        [(b"x-bf-vk", b"sk-bf-0123456789abcdef")],
    ],
)
@pytest.mark.parametrize("lend", [False, True])
def test_a_callers_credentials_are_its_upstream_and_session_headers_together(
    raw: list[tuple[bytes, bytes]], lend: bool
) -> None:
    # The shared-query key is made of them: two callers share an answer only when they send the same ones.
    policy = CallerPolicy(
        KeyRing(parse_gateway_keys(entry_for("tests", REVEAL_KEY))),
        {"authorization": "Bearer service"},
        anonymous_gets_service_credentials=lend,
    )
    identified = policy.identify(RequestHeaders({"headers": raw}))
    assert identified.credentials == {**identified.upstream, **identified.session}


@pytest.mark.parametrize(
    "accept",
    [
        "",
        "application/json",
        "application/graphql-response+json, application/json;q=0.9",
        "*/*",
        "text/event-stream",
        "TEXT/Event-Stream; charset=utf-8",
        'multipart/mixed;subscriptionSpec="1.0", application/json',
        "Multipart/Mixed; subscriptionspec=1.0; boundary=graphql",
        "multipart/mixed",
        "multipart/mixed; boundary=other; subscriptionSpec=1.0",
        "application/json, " + "x" * 2000 + ", text/event-stream",
        "text/event-stream\xe9",
        "text/html, application/xhtml+xml",
    ],
)
def test_the_stream_an_accept_header_asks_for_is_read_as_before(accept: str) -> None:
    ours, theirs = _framing(accept), framing_for(accept)
    assert type(ours) is type(theirs)
