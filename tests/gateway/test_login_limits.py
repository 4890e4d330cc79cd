"""Password guessing: one ``login`` per document, and attempts limited per client address and per username."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.schema.session.limiter import address_key
from app.settings import SettingsError, load_settings
from tests.gateway.conftest import Gateway
from tests.gateway.guarded import AUTH, Recorder, policy_gateway

LOGIN = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { success userErrors { code } } }"
FIFTEEN_LOGINS = (
    "mutation {"
    + " ".join(f'a{i}: login(username: "admin", password: "guess{i}") {{ success }}' for i in range(15))
    + " }"
)
GRAPHQL_RESPONSE = "application/graphql-response+json"


def from_address(gw: Gateway, address: str) -> httpx.AsyncClient:
    """A client of the same gateway that connects from ``address``."""
    transport = httpx.ASGITransport(app=gw.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def attempt(client: httpx.AsyncClient, username: str, password: str = "wrong") -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": LOGIN, "variables": {"u": username, "p": password}})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def refused(body: dict[str, Any]) -> bool:
    codes = [error["extensions"]["code"] for error in body.get("errors", [])]
    if codes == ["RATE_LIMITED"]:
        assert isinstance(body["errors"][0]["extensions"]["retryAfter"], int)
        assert 1 <= body["errors"][0]["extensions"]["retryAfter"] <= 60
        return True
    assert codes == [], body
    return False


def logins(recorder: Recorder) -> int:
    return recorder.paths().count("/api/session/login")


# One login per document ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(FIFTEEN_LOGINS, id="fifteen-aliases"),
        pytest.param(
            'mutation { a: login(username: "admin", password: "x") { success } '
            'b: login(username: "admin", password: "y") { success } }',
            id="two-aliases",
        ),
        pytest.param(
            'mutation { login(username: "admin", password: "x") { success } '
            'login(username: "admin", password: "x") { success } }',
            id="same-field-twice",
        ),
        pytest.param(
            'mutation { ...A ...B } fragment A on Mutation { a: login(username: "admin", password: "x") { success } }'
            ' fragment B on Mutation { b: login(username: "admin", password: "y") { success } }',
            id="named-fragments",
        ),
        pytest.param(
            'mutation { ... on Mutation { a: login(username: "admin", password: "x") { success } } '
            '... on Mutation { b: login(username: "admin", password: "y") { success } } }',
            id="inline-fragments",
        ),
        pytest.param(
            'mutation A { login(username: "admin", password: "x") { success } } '
            'mutation B { login(username: "admin", password: "y") { success } }',
            id="two-operations",
        ),
    ],
)
async def test_more_than_one_login_per_document_is_refused_before_anything_runs(document: str) -> None:
    gw, recorder, _ = await policy_gateway()
    response = await gw.http.post(
        "/graphql", json={"query": document, "operationName": "A"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400
    assert "TOO_MANY_LOGINS" in [error["extensions"]["code"] for error in response.json()["errors"]]
    assert recorder.seen == []


async def test_fifteen_logins_are_refused_for_legacy_clients_too() -> None:
    gw, recorder, _ = await policy_gateway()
    body = (await gw.http.post("/graphql", json={"query": FIFTEEN_LOGINS})).json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["TOO_MANY_LOGINS"]
    assert recorder.seen == []


async def test_one_login_beside_other_fields_runs() -> None:
    gw, recorder, _ = await policy_gateway()
    document = (
        'mutation { login(username: "admin", password: "s3cret") { success } '
        'createTeam(input: {name: "x"}) { userErrors { code } } }'
    )
    body = (await gw.http.post("/graphql", json={"query": document})).json()
    assert body["data"]["login"] == {"success": True}
    assert logins(recorder) == 1


# Attempts per address and per username -------------------------------------------------------------


async def test_attempts_are_limited_per_client_address() -> None:
    gw, recorder, _ = await policy_gateway(login_rate_limit_per_address="3/minute")
    guesser, neighbour = from_address(gw, "203.0.113.7"), from_address(gw, "203.0.113.8")
    for i in range(3):
        body = await attempt(guesser, f"user{i}")
        assert body["data"]["login"]["userErrors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert logins(recorder) == 3
    assert refused(await attempt(guesser, "someone-else"))
    assert refused(await attempt(guesser, *AUTH)), "even the right password waits"
    assert logins(recorder) == 3, "refused attempts send nothing upstream"
    assert not refused(await attempt(neighbour, *AUTH))
    assert logins(recorder) == 4


async def test_simultaneous_attempts_cannot_slip_past_the_limit_together() -> None:
    gw, recorder, _ = await policy_gateway(login_rate_limit_per_address="3/minute")
    guesser = from_address(gw, "203.0.113.50")
    answers = await asyncio.gather(*(attempt(guesser, f"user{i}") for i in range(20)))
    assert sum(not refused(body) for body in answers) == 3
    assert logins(recorder) == 3


async def test_attempts_are_limited_per_username_across_addresses() -> None:
    gw, recorder, _ = await policy_gateway(
        login_rate_limit_per_address="100/minute", login_rate_limit_per_username="2/minute"
    )
    for address in ("198.51.100.1", "198.51.100.2"):
        assert not refused(await attempt(from_address(gw, address), "admin"))
    third = from_address(gw, "198.51.100.3")
    assert refused(await attempt(third, "admin"))
    assert refused(await attempt(third, " ADMIN ")), "case and spaces do not make another username"
    assert not refused(await attempt(third, "operator"))
    assert logins(recorder) == 3


async def test_ipv6_clients_are_counted_by_their_64_network() -> None:
    gw, recorder, _ = await policy_gateway(login_rate_limit_per_address="2/minute")
    for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"):
        assert not refused(await attempt(from_address(gw, address), "admin"))
    assert refused(await attempt(from_address(gw, "2001:db8:1:2:1234::9"), "admin2"))
    assert not refused(await attempt(from_address(gw, "2001:db8:1:3::1"), "admin3")), "the next /64 is another client"
    assert logins(recorder) == 3


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:DB8:0:0:1::1", "2001:db8::/64"),
        (None, "unknown"),
        ("", "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_address_key(address: str | None, key: str) -> None:
    assert address_key(address) == key


async def test_huge_and_odd_usernames_are_counted_not_crashed_on() -> None:
    gw, recorder, _ = await policy_gateway(
        login_rate_limit_per_address="100/minute", login_rate_limit_per_username="1/minute"
    )
    client = from_address(gw, "192.0.2.1")
    for username in ("x" * 200_000, "\u0000\ud7ff\U0001f600", "admin\u212a"):
        assert not refused(await attempt(client, username))
        assert refused(await attempt(client, username))
    assert logins(recorder) == 3


async def test_empty_credentials_are_answered_without_counting_or_calling_upstream() -> None:
    gw, recorder, _ = await policy_gateway(login_rate_limit_per_address="1/minute")
    client = from_address(gw, "192.0.2.9")
    for _ in range(3):
        body = await attempt(client, "", "")
        assert body["data"]["login"]["userErrors"] == [{"code": "INVALID_INPUT"}]
    assert not refused(await attempt(client, *AUTH))
    assert logins(recorder) == 1


def test_rate_limit_settings_are_checked() -> None:
    for name in ("login_rate_limit_per_address", "login_rate_limit_per_username"):
        with pytest.raises(SettingsError, match=name.upper()):
            load_settings(**{name: "lots"})
    assert load_settings(login_rate_limit_per_username="5/minute;20/hour").login_rate_limit_per_username
