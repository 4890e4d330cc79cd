"""The wires to a real Bifrost, side by side: the same requests against the same scripted server give the
same ``UpstreamResponse`` or the same exception, and the requests leave byte for byte alike.

``ReqwestWire`` (Rust's reqwest) and ``H1Wire`` (the gateway's own, on httptools) replace ``AiohttpWire``;
every hardening of the old one is proven here on all three: answer size limits (declared and streamed),
timeouts, the pool bound and keep-alive, what can have been sent when a call fails (a write is retried only
when nothing left), no redirects, proxies or cookie store, gzip and deflate decoded, a broken body refused,
and no URL in any exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from app.bifrost import BifrostClient
from app.bifrost.errors import UpstreamOutcomeUnknown, UpstreamTimeout, UpstreamUnavailable
from app.bifrost.h1wire import H1Wire
from app.bifrost.wire import (
    AiohttpWire,
    ReqwestWire,
    UpstreamResponse,
    Wire,
    WireConnectError,
    WireConnectionError,
    WireConnectTimeout,
    WireTimeout,
    WireTooLarge,
)
from tests.reliability.scripted_upstream import TRICKLED_BODY, ScriptedUpstream, blackhole_listener, closed_port

WIRES: dict[str, Callable[..., Wire]] = {"aiohttp": AiohttpWire, "reqwest": ReqwestWire, "h1": H1Wire}
LIMIT = 256 * 1024
Outcome = tuple[Any, ...]


def make_wire(kind: str, url: str, *, max_connections: int = 4, connect_timeout: float = 1.0) -> Wire:
    # A read timeout of 1 s: a silent upstream is given up on quickly, a healthy local answer never waits that long.
    return WIRES[kind](url, max_connections=max_connections, connect_timeout=connect_timeout, read_timeout=1.0)


async def outcome(wire: Wire, method: str, path: str, max_bytes: int = LIMIT) -> Outcome:
    """What one call gave: the answer's fields, or the exception's class (its message checked for URLs)."""
    try:
        response = await wire.send(method, path, {"accept": "application/json"}, b"{}", None, max_bytes)
    except Exception as error:
        assert "127.0.0.1" not in str(error) and "127.0.0.1" not in repr(error)
        return (type(error),)
    return fields(response)


def fields(response: UpstreamResponse) -> Outcome:
    return (response.status, response.content, response.set_cookies, response.retry_after, response.deprecated)


PLAIN = {route: orjson.dumps({"compressed": route, "filler": "y" * 4000}) for route in ("gzip", "deflate")}
COOKIES = [f"c{i}=v{i}; Path=/; HttpOnly" for i in (3, 1, 2)]

# path, method, max_bytes -> what every wire must give
MATRIX: dict[str, tuple[str, str, int, Outcome]] = {
    "503-retry-after": ("/status/503", "GET", LIMIT, (503, b'{"error":"x"}', [], "7", True)),
    "500": ("/status/500", "POST", LIMIT, (500, b'{"error":"x"}', [], "7", True)),
    "404": ("/nothing", "GET", LIMIT, (404, b"{}", [], None, False)),
    "redirect-not-followed": ("/redirect", "GET", LIMIT, (302, b"", [], None, False)),
    "set-cookies-in-order": ("/cookies", "GET", LIMIT, (200, b"{}", COOKIES, None, False)),
    "chunked": ("/chunked", "GET", LIMIT, (200, b"x" * 65536, [], None, False)),
    "chunked-over-limit": ("/chunked", "GET", 10_000, (WireTooLarge,)),
    "gzip": ("/gzip", "GET", LIMIT, (200, PLAIN["gzip"], [], None, False)),
    "deflate": ("/deflate", "GET", LIMIT, (200, PLAIN["deflate"], [], None, False)),
    "gzip-decoded-over-limit": ("/gzip", "GET", 2_000, (WireTooLarge,)),
    "broken-gzip": ("/broken-gzip", "GET", LIMIT, (WireConnectionError,)),
    "huge-declared-length": ("/huge-declared", "GET", LIMIT, (WireTooLarge,)),
    "endless-chunked": ("/endless", "GET", LIMIT, (WireTooLarge,)),
    "slow-first-byte": ("/slow-head", "GET", LIMIT, (200, b'{"late":true}', [], None, False)),
    "silent-read": ("/silent", "GET", LIMIT, (WireTimeout,)),
    "silent-write": ("/silent", "POST", LIMIT, (WireTimeout,)),
    "reset-before-answer-read": ("/reset-head", "GET", LIMIT, (WireConnectionError,)),
    "reset-before-answer-write": ("/reset-head", "POST", LIMIT, (WireConnectionError,)),
    "reset-mid-body": ("/reset-body", "GET", LIMIT, (WireConnectionError,)),
    # Answers that lie
    "shorter-than-declared": ("/short-body", "GET", LIMIT, (WireConnectionError,)),
    "two-content-lengths": ("/two-lengths", "GET", LIMIT, (WireConnectionError,)),
    "bad-chunk-size": ("/bad-chunk", "GET", LIMIT, (WireConnectionError,)),
    "10000-set-cookies": ("/many-cookies", "GET", LIMIT, (WireConnectionError,)),
    "answer-before-the-body-is-read": (
        "/early-answer",
        "POST",
        LIMIT,
        (413, b'{"error":"too large"}', [], None, False),
    ),
    "100-continue-skipped": ("/continue", "GET", LIMIT, (200, b'{"continued":true}', [], None, False)),
    "read-until-close": ("/until-close", "GET", LIMIT, (200, b'{"until":"close"}', [], None, False)),
    "every-read-a-byte": ("/trickle", "GET", LIMIT, (200, TRICKLED_BODY, ["a=1", "b=2"], "7", True)),
    "gzip-bomb-declared": ("/bomb", "GET", LIMIT, (WireTooLarge,)),  # 1 MiB on the wire: refused unread
    "gzip-bomb-inflated": ("/bomb", "GET", 2 * 1024 * 1024, (WireTooLarge,)),  # read, and inflated only so far
}


@pytest.fixture
async def server() -> AsyncIterator[ScriptedUpstream]:
    upstream = await ScriptedUpstream().start()
    yield upstream
    await upstream.stop()


@pytest.mark.parametrize("case", list(MATRIX))
async def test_every_wire_gives_the_same_answer_or_error(case: str, server: ScriptedUpstream) -> None:
    path, method, max_bytes, expected = MATRIX[case]
    results = {}
    for kind in WIRES:
        wire = make_wire(kind, server.url)
        try:
            results[kind] = await outcome(wire, method, path, max_bytes)
        finally:
            await wire.aclose()
    assert results == dict.fromkeys(WIRES, expected)


@pytest.mark.parametrize("kind", list(WIRES))
async def test_a_refused_connection_is_a_connect_error_for_reads_and_writes(kind: str) -> None:
    wire = make_wire(kind, f"http://127.0.0.1:{closed_port()}")
    try:
        assert await outcome(wire, "GET", "/echo") == (WireConnectError,)
        assert await outcome(wire, "POST", "/echo") == (WireConnectError,)
    finally:
        await wire.aclose()


@pytest.mark.parametrize("kind", list(WIRES))
async def test_a_connection_never_accepted_is_a_connect_timeout(kind: str) -> None:
    port, held = blackhole_listener()
    wire = make_wire(kind, f"http://127.0.0.1:{port}", connect_timeout=0.5)
    try:
        assert await outcome(wire, "POST", "/echo") == (WireConnectTimeout,)
    finally:
        await wire.aclose()
        for sock in held:
            sock.close()


@pytest.mark.parametrize("kind", ["reqwest", "h1"])
async def test_a_dns_failure_is_a_connect_error(kind: str) -> None:
    wire = make_wire(kind, "http://bifrost.invalid")
    try:
        assert await outcome(wire, "POST", "/echo") == (WireConnectError,)
    finally:
        await wire.aclose()


# Requests leave alike -------------------------------------------------------------------------------------------

SENT_HEADERS = {
    "accept": "application/json",
    "authorization": "Bearer caller-token",
    "cookie": "bf_session=abc",
    "content-type": "application/json",
    "x-request-id": "r-1 2",
}
PARAMS: dict[str, str | int] = {"search": "a b/é&x=1;?#", "limit": 5, "name": "ü+%20~*'()"}
PARAMS_SENT = {name: str(value) for name, value in PARAMS.items()}
# What each client may add on its own: never a credential.
CLIENT_HEADERS = {"host", "user-agent", "accept-encoding", "content-length"}


async def echo(wire: Wire, method: str, content: bytes | None) -> dict[str, Any]:
    response = await wire.send(method, "/echo/teams", SENT_HEADERS, content, PARAMS, LIMIT)
    assert response.status == 200
    described: dict[str, Any] = orjson.loads(response.content)
    return described


@pytest.mark.parametrize(("method", "content"), [("GET", None), ("POST", b'{"name":"t\\u00e9"}'), ("DELETE", None)])
async def test_requests_leave_with_the_same_target_headers_and_body(
    method: str, content: bytes | None, server: ScriptedUpstream
) -> None:
    seen = {}
    for kind in WIRES:
        wire = make_wire(kind, server.url)
        try:
            seen[kind] = await echo(wire, method, content)
        finally:
            await wire.aclose()
    # The same bytes, but for ``'``, which the WHATWG URL rules reqwest follows send as %27 (decoded alike).
    assert seen["reqwest"]["target"].replace("%27", "'") == seen["aiohttp"]["target"] == seen["h1"]["target"]
    assert parse_qsl(urlsplit(seen["reqwest"]["target"]).query) == list(PARAMS_SENT.items())
    assert (
        seen["reqwest"]["body"] == seen["aiohttp"]["body"] == seen["h1"]["body"] == (content or b"").decode("latin-1")
    )
    # A body's length as aiohttp gives it: a method that may carry a body says 0 when it has none.
    lengths = {
        kind: dict((n.lower(), v) for n, v in described["headers"]).get("content-length")
        for kind, described in seen.items()
    }
    assert lengths["h1"] == lengths["aiohttp"]
    for described in seen.values():
        assert described["method"] == method
        pairs = [(name.lower(), value) for name, value in described["headers"]]
        names = [name for name, _ in pairs]
        assert len(names) == len(set(names)), "no header sent twice"
        assert set(SENT_HEADERS.items()) <= set(pairs), "every header as given"
        assert set(names) - set(SENT_HEADERS) <= CLIENT_HEADERS, "nothing else added"
        encodings = {token.strip() for token in dict(pairs)["accept-encoding"].split(",")}
        assert encodings == {"gzip", "deflate"}


@pytest.mark.parametrize("kind", list(WIRES))
async def test_no_cookie_store_and_no_proxy_from_the_environment(
    kind: str, server: ScriptedUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await ScriptedUpstream().start()
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    wire = make_wire(kind, server.url)
    try:
        assert (await wire.send("GET", "/cookies", {}, None, None, LIMIT)).set_cookies == COOKIES
        described = await echo(wire, "GET", None)
    finally:
        await wire.aclose()
        await proxy.stop()
    assert dict((name.lower(), value) for name, value in described["headers"])["cookie"] == "bf_session=abc"
    assert proxy.received == []
    assert [request.target.split("?")[0] for request in server.received] == ["/cookies", "/echo/teams"]


# The pool -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(WIRES))
async def test_at_most_max_connections_and_they_are_reused(kind: str, server: ScriptedUpstream) -> None:
    wire = make_wire(kind, server.url, max_connections=2)
    server.gate_size = 2
    try:
        calls = [asyncio.create_task(outcome(wire, "GET", "/gate")) for _ in range(6)]
        await asyncio.wait_for(server.gate_filled.wait(), 10)  # two are held upstream, four wait for a connection
        server.open_gate()
        assert await asyncio.gather(*calls) == [(200, b"{}", [], None, False)] * 6
        for _ in range(5):
            assert (await outcome(wire, "GET", "/status/200"))[0] == 200
    finally:
        await wire.aclose()
    assert server.most_open <= 2
    assert server.accepted <= 2  # kept alive: the later calls went over the same connections


@pytest.mark.parametrize("kind", ["reqwest", "h1"])
async def test_no_free_connection_in_time_is_a_connect_timeout(kind: str, server: ScriptedUpstream) -> None:
    wire = make_wire(kind, server.url, max_connections=1, connect_timeout=0.3)
    try:
        held = asyncio.create_task(outcome(wire, "GET", "/gate"))
        await asyncio.wait_for(server.gate_filled.wait(), 10)
        assert await outcome(wire, "POST", "/echo") == (WireConnectTimeout,)  # nothing was sent
        server.open_gate()
        assert (await held)[0] == 200
    finally:
        await wire.aclose()
    assert [request.target for request in server.received] == ["/gate"]


@pytest.mark.parametrize("kind", list(WIRES))
async def test_an_answer_nobody_asked_for_never_reaches_the_next_call(kind: str, server: ScriptedUpstream) -> None:
    # The server sends a second answer after the first, in the same write: the next call gets its own.
    wire = make_wire(kind, server.url, max_connections=1)
    try:
        assert await outcome(wire, "GET", "/extra-answer") == (200, b'{"asked":true}', [], None, False)
        described = await echo(wire, "GET", None)
    finally:
        await wire.aclose()
    assert described["target"].startswith("/echo/teams")


@pytest.mark.parametrize("kind", list(WIRES))
async def test_an_answer_to_a_caller_that_left_never_reaches_the_next_call(kind: str, server: ScriptedUpstream) -> None:
    wire = make_wire(kind, server.url, max_connections=1)
    try:
        held = asyncio.create_task(outcome(wire, "GET", "/gate"))
        await asyncio.wait_for(server.gate_filled.wait(), 10)
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        server.open_gate()  # the answer to the call that left goes out now
        described = await echo(wire, "GET", None)
    finally:
        await wire.aclose()
    assert described["target"].startswith("/echo/teams")


@pytest.mark.parametrize("kind", list(WIRES))
async def test_aclose_closes_the_pooled_connections(kind: str, server: ScriptedUpstream) -> None:
    wire = make_wire(kind, server.url)
    assert (await outcome(wire, "GET", "/status/200"))[0] == 200
    assert server.open == 1
    await wire.aclose()
    await asyncio.wait_for(server.all_closed.wait(), 10)


# Through the Bifrost client: what a failure means for a write ------------------------------------------------------


def bifrost(wire: Wire, total_timeout: float = 10.0) -> BifrostClient:
    return BifrostClient(wire, total_timeout=total_timeout, read_retries=0)


@pytest.mark.parametrize("kind", list(WIRES))
async def test_a_write_whose_connection_broke_after_sending_is_an_unknown_outcome(
    kind: str, server: ScriptedUpstream
) -> None:
    wire = make_wire(kind, server.url)
    try:
        with pytest.raises(UpstreamOutcomeUnknown):
            await bifrost(wire).request("POST", "/reset-head", headers={}, body={"name": "t"})
        with pytest.raises(UpstreamOutcomeUnknown):
            await bifrost(wire).request("POST", "/silent", headers={}, body={"name": "t"})
    finally:
        await wire.aclose()


@pytest.mark.parametrize("kind", list(WIRES))
async def test_a_write_that_could_not_connect_is_unavailable_not_unknown(kind: str) -> None:
    wire = make_wire(kind, f"http://127.0.0.1:{closed_port()}")
    try:
        with pytest.raises(UpstreamUnavailable) as error:
            await bifrost(wire).request("POST", "/teams", headers={}, body={"name": "t"})
        assert not isinstance(error.value, UpstreamOutcomeUnknown)
    finally:
        await wire.aclose()


@pytest.mark.parametrize("kind", list(WIRES))
async def test_the_client_total_timeout_stops_a_slow_body(kind: str) -> None:
    # One byte every 0.2 s never trips the 1 s read timeout; the client's 0.5 s total does.
    server = await ScriptedUpstream(drip=0.2).start()
    wire = make_wire(kind, server.url)
    try:
        with pytest.raises(UpstreamTimeout):
            await bifrost(wire, total_timeout=0.5).request("GET", "/drip", headers={})
        with pytest.raises(UpstreamOutcomeUnknown):
            await bifrost(wire, total_timeout=0.5).request("POST", "/drip", headers={}, body={})
        await asyncio.wait_for(server.all_closed.wait(), 10)  # the abandoned connections were dropped
    finally:
        await wire.aclose()
        await server.stop()


# Requests that cannot be sent ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(WIRES))
async def test_a_header_with_a_control_character_is_refused_before_anything_is_sent(
    kind: str, server: ScriptedUpstream
) -> None:
    wire = make_wire(kind, server.url)
    try:
        with pytest.raises(ValueError) as error:
            await wire.send("POST", "/echo", {"authorization": "Bearer s3cret\r\nx-injected: 1"}, b"{}", None, LIMIT)
    finally:
        await wire.aclose()
    assert "s3cret" not in str(error.value)
    assert server.received == []


@pytest.mark.parametrize("kind", list(WIRES))
async def test_a_header_value_outside_ascii_leaves_as_utf8(kind: str, server: ScriptedUpstream) -> None:
    wire = make_wire(kind, server.url)
    try:
        assert (await wire.send("POST", "/echo", {"x-name": "caf\u00e9"}, b"{}", None, LIMIT)).status == 200
    finally:
        await wire.aclose()
    assert ("x-name", "caf\u00e9".encode().decode("latin-1")) in [(n.lower(), v) for n, v in server.received[0].headers]


@pytest.mark.parametrize("kind", list(WIRES))
async def test_a_set_cookie_outside_ascii_is_read_or_refused_never_a_crash(kind: str) -> None:
    # aiohttp (and h1) read the bytes as text with escapes; reqwest refuses the header: no usable answer.
    server = await ScriptedUpstream(only="cookies-latin1").start()
    wire = make_wire(kind, server.url)
    try:
        result = await outcome(wire, "GET", "/x")
    finally:
        await wire.aclose()
        await server.stop()
    expected = (WireConnectionError,) if kind == "reqwest" else (200, b"{}", ["c=caf\udce9"], None, False)
    assert result == expected


@pytest.mark.parametrize("kind", list(WIRES))
async def test_calls_abandoned_by_their_caller_give_their_connection_back(kind: str) -> None:
    # One connection: a call cancelled while waiting for the head or mid-body must free it, or the next would wait.
    server = await ScriptedUpstream(drip=0.1).start()
    wire = make_wire(kind, server.url, max_connections=1)
    try:
        for path in ("/silent", "/drip", "/silent", "/drip"):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(wire.send("GET", path, {}, None, None, LIMIT), 0.3)
        assert (await outcome(wire, "GET", "/status/200"))[0] == 200
    finally:
        await wire.aclose()
        await server.stop()
