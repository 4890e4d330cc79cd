"""The caller a set of credential headers names, remembered or not, is always the one those headers name.

Hostile and buggy clients: credentials that change from one request to the next on one gateway, callers that
alternate, refusals repeated (never answered from memory as anything else), headers that differ only in case,
surrounding whitespace or repetition, a hundred thousand distinct tokens (memory stays bounded), and no
credential in any log line.
"""

from __future__ import annotations

import gc
import logging
import tracemalloc

import httpx
import pytest

from app.keys import KeyRing, entry_for, parse_gateway_keys
from app.settings import Settings
from app.web import create_app
from app.web.callers import CallerPolicy, CallerRefused

TEAM_BY_ID = 'query Lookup { team(id: "0b7e4a2c-1d2f-4e5a-9b8c-7d6e5f4a3b2c") { id } }'
KEY_A = "gk_first-0123456789abcdefghijklmnopqrstuvwxyz012345"
KEY_B = "gk_second-0123456789abcdefghijklmnopqrstuvwxyz01234"
SERVICE = "service-token-0123456789"


class Upstream:
    """Records the Authorization header of every call; answers Bifrost's 404."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.authorizations.append(request.headers.get("authorization"))
        return httpx.Response(404, json={"error": {"message": "Team not found"}})


@pytest.fixture
async def gateway() -> tuple[httpx.AsyncClient, Upstream]:
    upstream = Upstream()
    settings = Settings(
        bifrost_url="http://bifrost.internal",
        bifrost_api_generation="current",
        bifrost_api_token=SERVICE,
        gateway_api_keys=f"{entry_for('a', KEY_A)},{entry_for('b', KEY_B)}",
        coalesce_queries=False,
    )
    app = create_app(settings, transport=httpx.MockTransport(upstream))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"), upstream


async def ask(http: httpx.AsyncClient, headers: list[tuple[str, str]]) -> httpx.Response:
    return await http.post("/graphql", json={"query": TEAM_BY_ID}, headers=headers)


async def test_each_request_goes_upstream_with_its_own_credentials(gateway: tuple[httpx.AsyncClient, Upstream]) -> None:
    http, upstream = gateway
    sequence = ["alice", "bob", "alice", "alice", "carol", "bob", "alice"]
    async with http:
        for who in sequence:
            response = await ask(http, [("authorization", f"Bearer {who}-token")])
            assert response.json() == {"data": {"team": None}}, response.text
        # A gateway key between them: the service credential, then the caller's own again.
        assert (await ask(http, [("x-gateway-key", KEY_A)])).status_code == 200
        assert (await ask(http, [("authorization", "Bearer alice-token")])).status_code == 200
    assert upstream.authorizations == [
        *(f"Bearer {who}-token" for who in sequence),
        f"Bearer {SERVICE}",
        "Bearer alice-token",
    ]


@pytest.mark.parametrize(
    "refused",
    [
        pytest.param([("x-gateway-key", "gk_not-a-configured-key-0123456789abcdefghij")], id="unknown-key"),
        pytest.param([("authorization", "Bearer a"), ("authorization", "Bearer a")], id="duplicate"),
        pytest.param([("x-gateway-key", KEY_A), ("X-Gateway-Key", KEY_A)], id="duplicate-in-other-case"),
        pytest.param([("x-gateway-key", KEY_A), ("x-gateway-key", KEY_B)], id="two-keys"),
        pytest.param([("authorization", "Bearer sk-bf-abc"), ("x-gateway-key", KEY_A)], id="key-and-virtual-key"),
        pytest.param([("cookie", "token=gk_misplaced-0123456789")], id="key-in-cookie"),
    ],
)
async def test_a_refusal_is_refused_every_time_and_nothing_goes_upstream(
    gateway: tuple[httpx.AsyncClient, Upstream], refused: list[tuple[str, str]]
) -> None:
    http, upstream = gateway
    async with http:
        statuses = [(await ask(http, refused)).status_code for _ in range(3)]
        # A valid set of headers right after is answered as its own.
        assert (await ask(http, [("x-gateway-key", KEY_B)])).status_code == 200
        statuses += [(await ask(http, refused)).status_code]
    assert len(set(statuses)) == 1 and statuses[0] in (400, 401), statuses
    assert upstream.authorizations == [f"Bearer {SERVICE}"]


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param([("X-Gateway-Key", KEY_A)], id="name-case"),
        pytest.param([("x-gateway-key", f"  {KEY_A}  ")], id="whitespace"),
        pytest.param([("authorization", f"Bearer {KEY_A}")], id="as-bearer"),
        pytest.param([("authorization", f"bearer {KEY_A}")], id="scheme-case"),
    ],
)
async def test_the_same_key_written_differently_is_the_same_caller_remembered_or_not(
    gateway: tuple[httpx.AsyncClient, Upstream], variant: list[tuple[str, str]]
) -> None:
    http, upstream = gateway
    async with http:
        for headers in ([("x-gateway-key", KEY_A)], variant, [("x-gateway-key", KEY_A)], variant):
            assert (await ask(http, headers)).status_code == 200
    assert upstream.authorizations == [f"Bearer {SERVICE}"] * 4


class Raw:
    """A request's raw headers, as ``identify`` reads them."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw


def test_a_hundred_thousand_distinct_tokens_hold_bounded_memory() -> None:
    policy = CallerPolicy(KeyRing(parse_gateway_keys(entry_for("a", KEY_A))), {"authorization": f"Bearer {SERVICE}"})

    def token(index: int) -> Raw:
        return Raw([(b"authorization", b"Bearer " + (b"%032d" % index) * 8)])  # 263 bytes each

    for index in range(2000):  # whatever is remembered is at its bound from here on
        policy.identify(token(index))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(2000, 100_000):
            identified = policy.identify(token(index))
            assert identified.upstream["authorization"].endswith(f"{index:032d}")
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 98,000 more tokens of 263 bytes are about 26 MB: what stays is far below a tenth of that.
    assert grown < 2_000_000, grown
    # The first token is answered as its own, long after it was forgotten.
    assert policy.identify(token(0)).upstream["authorization"].endswith(f"{0:032d}")
    with pytest.raises(CallerRefused):
        policy.identify(Raw([(b"x-gateway-key", b"gk_wrong-0123456789abcdefghijklmnopqrstuv")]))


async def test_no_credential_reaches_a_log_line(
    gateway: tuple[httpx.AsyncClient, Upstream], caplog: pytest.LogCaptureFixture
) -> None:
    http, _ = gateway
    caplog.set_level(logging.DEBUG)
    async with http:
        await ask(http, [("authorization", "Bearer secret-caller-token-42")])
        await ask(http, [("x-gateway-key", KEY_A)])
        await ask(http, [("x-gateway-key", "gk_wrong-secret-0123456789abcdefghijklmnop")])
        await ask(http, [("cookie", "token=secret-cookie-token-42")])
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for secret in ("secret-caller-token-42", KEY_A, "gk_wrong-secret", "secret-cookie-token-42", SERVICE):
        assert secret not in logged


def test_distinct_large_credential_headers_do_not_pin_memory() -> None:
    """Each set of credential headers may be as large as the request head (a cookie header full of unrelated
    cookies beside the token): remembering a thousand of them would hold a thousand heads."""
    policy = CallerPolicy(KeyRing(()), {})

    def large(index: int) -> Raw:
        unrelated = b"; ".join(b"pref%d=%s" % (n, b"%060d" % index) for n in range(230))  # about 16 KiB
        return Raw([(b"cookie", b"token=session-%d; " % index + unrelated)])

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(1500):
            assert policy.identify(large(index)).upstream["cookie"] == f"token=session-{index}"
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2_000_000, grown  # remembering them all would hold about 16 MB
