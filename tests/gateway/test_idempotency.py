"""Idempotency-Key on mutations, in-process store: replays, refusals, waiting, and retries after a lost answer.

The upstream is the embedded server behind ``LossyUpstream`` (tests/gateway/lossy.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.bifrost import BifrostClient
from app.bifrost.wire import HttpxWire
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import V1_5
from app.schema.read_back import existing_customer
from app.settings import Settings
from app.shared_state import Answer, ClaimState, InProcessIdempotencyStore
from app.web import create_app
from tests.gateway.conftest import Gateway
from tests.gateway.guarded import ADMIN_KEY, AUTH, BFF_KEY, SERVICE
from tests.gateway.lossy import LossyUpstream

CREATE_CUSTOMER = """
mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id name } userErrors { field code } }
}
"""
CREATE_TEAM = """
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) { team { id name } userErrors { field code } }
}
"""
CREATE_KEY = """
mutation CreateKey($input: CreateVirtualKeyInput!) {
  createVirtualKey(input: $input) { virtualKey { id name } userErrors { field code } }
}
"""
DELETE_TEAM = """
mutation DeleteTeam($id: ID!) { deleteTeam(input: {id: $id}) { deletedId userErrors { code } } }
"""
TEAM_NAMES = "query Teams { teams(first: 100) { edges { node { name } } } }"
LOGIN = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) { success } }"


@pytest.fixture
async def lossy() -> AsyncIterator[tuple[Gateway, LossyUpstream]]:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    wire = LossyUpstream(upstream)
    app = create_app(Settings(bifrost_url="http://bifrost.internal:8080", idempotency_wait=5), transport=wire)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    yield Gateway(app=app, http=http, upstream=upstream, generation=V1_5), wire
    await http.aclose()


async def post(gw: Gateway, query: str, variables: dict[str, Any], key: str | None, **headers: str) -> httpx.Response:
    if key is not None:
        headers["idempotency-key"] = key
    return await gw.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def posts(gw: Gateway, path: str) -> int:
    return len(gw.upstream_calls("POST", path))


async def stored(gw: Gateway, collection: str, name: str) -> int:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.upstream), base_url="http://b") as rest:
        body = (await rest.get(f"/api/governance/{collection}", params={"search": name, "limit": 100})).json()
    return sum(item["name"] == name for item in body[collection.replace("-", "_")])


# Replays ----------------------------------------------------------------------------------------------------


async def test_retry_with_the_same_key_replays_the_first_answer(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    first = await post(gw, CREATE_CUSTOMER, {"input": {"name": "acme"}}, "order-1")
    again = await post(gw, CREATE_CUSTOMER, {"input": {"name": "acme"}}, "order-1")
    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["createCustomer"]["customer"]["name"] == "acme"
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert posts(gw, "/api/governance/customers") == 1
    assert await stored(gw, "customers", "acme") == 1


async def test_without_a_key_a_retry_writes_again(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    for _ in range(2):
        assert (await post(gw, CREATE_CUSTOMER, {"input": {"name": "twice"}}, None)).status_code == 200
    assert await stored(gw, "customers", "twice") == 2  # Bifrost keeps duplicate customer names


async def test_variables_in_another_key_order_are_the_same_request(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    budget = {"maxLimit": 10, "resetDuration": "1d"}
    await post(gw, CREATE_CUSTOMER, {"input": {"name": "ordered", "budget": budget}}, "k")
    again = await post(
        gw, CREATE_CUSTOMER, {"input": {"budget": dict(reversed(budget.items())), "name": "ordered"}}, "k"
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert posts(gw, "/api/governance/customers") == 1


async def test_a_user_error_is_the_answer_and_is_replayed(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    await post(gw, CREATE_TEAM, {"input": {"name": "taken"}}, None)
    first = await post(gw, CREATE_TEAM, {"input": {"name": "taken"}}, "dup")
    assert first.json()["data"]["createTeam"]["userErrors"][0]["code"] == "NAME_TAKEN"
    again = await post(gw, CREATE_TEAM, {"input": {"name": "taken"}}, "dup")
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert posts(gw, "/api/governance/teams") == 2


async def test_the_same_key_with_another_body_is_refused(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    await post(gw, CREATE_CUSTOMER, {"input": {"name": "first"}}, "reused")
    for variables, query in (({"input": {"name": "second"}}, CREATE_CUSTOMER), ({"input": {"name": "first"}}, None)):
        response = await post(gw, query or CREATE_CUSTOMER.replace("id name", "name id"), variables, "reused")
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert "Idempotency-Key" in error["message"]
    assert posts(gw, "/api/governance/customers") == 1


async def test_keys_belong_to_the_credentials_that_sent_them(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    variables = {"input": {"name": "scoped"}}
    alice = await post(gw, CREATE_CUSTOMER, variables, "shared-key", authorization="Bearer alice")
    bob = await post(gw, CREATE_CUSTOMER, variables, "shared-key", authorization="Bearer bob")
    cookie = await post(gw, CREATE_CUSTOMER, variables, "shared-key", cookie="token=carol")
    assert "idempotent-replayed" not in bob.headers and "idempotent-replayed" not in cookie.headers
    assert len({r.json()["data"]["createCustomer"]["customer"]["id"] for r in (alice, bob, cookie)}) == 3
    replay = await post(gw, CREATE_CUSTOMER, variables, "shared-key", authorization="Bearer alice")
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == alice.content


async def test_keys_of_different_session_cookies_never_meet(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    variables = {"input": {"name": "by-cookie"}}
    carol = await post(gw, CREATE_CUSTOMER, variables, "same-key", cookie='consent={"a":1}; token=carol')
    dave = await post(gw, CREATE_CUSTOMER, variables, "same-key", cookie="token=dave")
    anonymous = await post(gw, CREATE_CUSTOMER, variables, "same-key")
    assert all("idempotent-replayed" not in r.headers for r in (dave, anonymous))
    assert len({r.json()["data"]["createCustomer"]["customer"]["id"] for r in (carol, dave, anonymous)}) == 3
    again = await post(gw, CREATE_CUSTOMER, variables, "same-key", cookie="_ga=GA1.1.1.2; token=carol")
    assert again.headers["idempotent-replayed"] == "true" and again.content == carol.content


# Malformed keys ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [pytest.param("", id="empty"), pytest.param("k" * 256, id="256-chars"), pytest.param("tab\there", id="control")],
)
async def test_a_malformed_key_is_refused_naming_the_header(lossy: tuple[Gateway, LossyUpstream], key: str) -> None:
    gw, _ = lossy
    response = await post(gw, CREATE_CUSTOMER, {"input": {"name": "never"}}, key)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_IDEMPOTENCY_KEY"
    assert "Idempotency-Key" in error["message"]
    assert gw.upstream_calls() == []


async def test_a_non_ascii_key_or_two_keys_are_refused(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    body = {"query": CREATE_CUSTOMER, "variables": {"input": {"name": "never"}}}
    non_ascii = await gw.http.post("/graphql", json=body, headers=[("idempotency-key", "cl\xe9".encode("latin-1"))])
    two = await gw.http.post("/graphql", json=body, headers=[("idempotency-key", "a"), ("idempotency-key", "b")])
    for response in (non_ascii, two):
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_IDEMPOTENCY_KEY"
    assert gw.upstream_calls() == []


async def test_the_longest_key_and_every_printable_character_are_accepted(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    printable = "".join(chr(c) for c in range(0x21, 0x7F))
    for key in ("k" * 255, printable):
        response = await post(gw, CREATE_CUSTOMER, {"input": {"name": key[:20]}}, key)
        assert response.status_code == 200 and "errors" not in response.json(), response.text


async def test_a_query_with_a_key_runs_every_time(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    await post(gw, CREATE_TEAM, {"input": {"name": "t1"}}, None)
    first = await post(gw, TEAM_NAMES, {}, "q")
    await post(gw, CREATE_TEAM, {"input": {"name": "t2"}}, None)
    second = await post(gw, TEAM_NAMES, {}, "q")
    assert "idempotent-replayed" not in second.headers
    names = [e["node"]["name"] for e in second.json()["data"]["teams"]["edges"]]
    assert names != [e["node"]["name"] for e in first.json()["data"]["teams"]["edges"]] and "t2" in names
    bad = await post(gw, TEAM_NAMES, {}, "")
    assert bad.status_code == 400  # the header is still checked


async def test_login_ignores_the_key() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current", auth=("admin", "pw"))
    app = create_app(Settings(bifrost_url="http://bifrost.internal:8080"), transport=httpx.ASGITransport(app=upstream))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        for _ in range(2):
            response = await http.post(
                "/graphql",
                json={"query": LOGIN, "variables": {"u": "admin", "p": "wrong"}},
                headers={"idempotency-key": "login-1"},
            )
            assert response.json()["data"]["login"]["success"] is False
            assert "idempotent-replayed" not in response.headers
    assert sum(r.path == "/api/session/login" for r in upstream.state.request_log) == 2


async def test_a_request_error_is_not_remembered(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, _ = lossy
    for _ in range(2):
        response = await post(gw, CREATE_CUSTOMER, {"input": {"name": 5}}, "bad-vars")
        assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", response.text
        assert "idempotent-replayed" not in response.headers
    assert gw.upstream_calls("POST") == []


# Concurrent retries -----------------------------------------------------------------------------------------


async def test_fifty_concurrent_retries_write_once(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, wire = lossy
    wire.match, wire.hold = "/api/governance/customers", asyncio.Event()
    first = asyncio.ensure_future(post(gw, CREATE_CUSTOMER, {"input": {"name": "crowd"}}, "crowd"))
    await wire.held.wait()  # the first is inside its write; the others must wait for it
    others = [
        asyncio.ensure_future(post(gw, CREATE_CUSTOMER, {"input": {"name": "crowd"}}, "crowd")) for _ in range(49)
    ]
    await asyncio.sleep(0)
    wire.hold.set()
    responses = [await first, *await asyncio.gather(*others)]
    assert {r.status_code for r in responses} == {200}
    assert {r.content for r in responses} == {responses[0].content}
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    assert posts(gw, "/api/governance/customers") == 1
    assert await stored(gw, "customers", "crowd") == 1


async def test_a_retry_waits_no_longer_than_the_setting(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, wire = lossy
    gw_short = create_app(Settings(bifrost_url="http://bifrost.internal:8080", idempotency_wait=0.05), transport=wire)
    wire.match, wire.hold = "/api/governance/customers", asyncio.Event()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw_short), base_url="http://g") as http:
        body = {"query": CREATE_CUSTOMER, "variables": {"input": {"name": "slow"}}}
        first = asyncio.ensure_future(http.post("/graphql", json=body, headers={"idempotency-key": "slow"}))
        await wire.held.wait()
        busy = await http.post("/graphql", json=body, headers={"idempotency-key": "slow"})
        assert busy.status_code == 409, busy.text
        assert busy.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
        assert busy.headers["retry-after"] == "1"
        wire.hold.set()
        assert (await first).status_code == 200
        done = await http.post("/graphql", json=body, headers={"idempotency-key": "slow"})
        assert done.headers["idempotent-replayed"] == "true" and done.content == (await first).content
    assert posts(gw, "/api/governance/customers") == 1


# Lost answers -----------------------------------------------------------------------------------------------

CREATES = [
    pytest.param(CREATE_CUSTOMER, "customers", "createCustomer", "customer", id="customer"),
    pytest.param(CREATE_TEAM, "teams", "createTeam", "team", id="team"),
    pytest.param(CREATE_KEY, "virtual-keys", "createVirtualKey", "virtualKey", id="virtual-key"),
]


@pytest.mark.parametrize(("query", "collection", "field", "entity"), CREATES)
async def test_a_retry_after_a_lost_answer_returns_what_was_written(
    lossy: tuple[Gateway, LossyUpstream], query: str, collection: str, field: str, entity: str
) -> None:
    gw, wire = lossy
    wire.match, wire.lose_after = f"/api/governance/{collection}", 1
    variables = {"input": {"name": "lost"}}
    lost = (await post(gw, query, variables, "lost-1")).json()
    assert lost["data"] is None and lost["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN", lost
    assert "may have been applied" in lost["errors"][0]["message"]
    assert await stored(gw, collection, "lost") == 1  # it did happen

    retry = await post(gw, query, variables, "lost-1")
    assert "idempotent-replayed" not in retry.headers  # it ran again, reading back instead of writing
    found = retry.json()["data"][field]
    assert found[entity]["name"] == "lost" and found["userErrors"] == []
    assert posts(gw, f"/api/governance/{collection}") == 1
    assert await stored(gw, collection, "lost") == 1

    replay = await post(gw, query, variables, "lost-1")
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == retry.content


async def test_a_retry_after_a_write_that_never_left_writes_it(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, wire = lossy
    wire.match, wire.lose_before = "/api/governance/customers", 1
    failed = (await post(gw, CREATE_CUSTOMER, {"input": {"name": "refused"}}, "r-1")).json()
    assert failed["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    retry = (await post(gw, CREATE_CUSTOMER, {"input": {"name": "refused"}}, "r-1")).json()
    assert retry["data"]["createCustomer"]["customer"]["name"] == "refused"
    assert await stored(gw, "customers", "refused") == 1


async def test_a_lost_answer_and_a_retry_that_never_reached_bifrost_still_write_once(
    lossy: tuple[Gateway, LossyUpstream],
) -> None:
    gw, wire = lossy
    wire.match, wire.lose_before = "/api/governance/teams", 1
    # The first attempt never reached Bifrost, but its client could not know: the retry reads back, finds
    # nothing, and writes.
    await post(gw, CREATE_TEAM, {"input": {"name": "once"}}, "o-1")
    wire.lose_after = 1
    unknown = (await post(gw, CREATE_TEAM, {"input": {"name": "once"}}, "o-1")).json()
    assert unknown["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN"
    final = (await post(gw, CREATE_TEAM, {"input": {"name": "once"}}, "o-1")).json()
    assert final["data"]["createTeam"]["team"]["name"] == "once"
    assert await stored(gw, "teams", "once") == 1


async def test_a_retried_delete_whose_first_attempt_landed_succeeds(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, wire = lossy
    team = (await post(gw, CREATE_TEAM, {"input": {"name": "doomed"}}, None)).json()["data"]["createTeam"]["team"]
    wire.match, wire.lose_after = "/api/governance/teams", 1
    lost = (await post(gw, DELETE_TEAM, {"id": team["id"]}, "del-1")).json()
    assert lost["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN"
    retry = (await post(gw, DELETE_TEAM, {"id": team["id"]}, "del-1")).json()
    assert retry["data"]["deleteTeam"] == {"deletedId": team["id"], "userErrors": []}
    # Without the key, deleting what is gone is still NOT_FOUND.
    plain = (await post(gw, DELETE_TEAM, {"id": team["id"]}, None)).json()
    assert plain["data"]["deleteTeam"]["userErrors"] == [{"code": "NOT_FOUND"}]


async def test_a_customer_created_before_the_first_attempt_is_not_taken_for_it() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    client = BifrostClient(
        HttpxWire(httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://b"))
    )
    session = client.session({})
    await session.create_customer({"name": "acme"})
    try:
        assert await existing_customer(session, "acme", time.time() - 1) is not None
        assert await existing_customer(session, "acme", time.time() + 3600) is None
        assert await existing_customer(session, "acm", time.time() - 1) is None  # exact names only
    finally:
        await client.aclose()


async def test_keys_of_two_gateway_keys_do_not_meet() -> None:
    upstream = create_embedded_bifrost(database=":memory:", generation="current", auth=AUTH)
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal:8080", **SERVICE), transport=httpx.ASGITransport(app=upstream)
    )
    body = {"query": CREATE_CUSTOMER, "variables": {"input": {"name": "bff-made"}}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        ids = set()
        for gateway_key in (BFF_KEY, ADMIN_KEY, BFF_KEY):
            response = await http.post(
                "/graphql", json=body, headers={"x-gateway-key": gateway_key, "idempotency-key": "same"}
            )
            ids.add(response.json()["data"]["createCustomer"]["customer"]["id"])
        assert len(ids) == 2  # the third request replays the first
    assert sum(r.method == "POST" and r.path == "/api/governance/customers" for r in upstream.state.request_log) == 2


async def test_another_body_while_the_first_runs_is_refused_at_once(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, wire = lossy
    wire.match, wire.hold = "/api/governance/customers", asyncio.Event()
    first = asyncio.ensure_future(post(gw, CREATE_CUSTOMER, {"input": {"name": "one"}}, "busy"))
    await wire.held.wait()
    other = await post(gw, CREATE_CUSTOMER, {"input": {"name": "another"}}, "busy")
    assert other.status_code == 422 and other.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    wire.hold.set()
    assert (await first).status_code == 200
    assert posts(gw, "/api/governance/customers") == 1


async def test_the_in_process_store_forgets_the_oldest_keys_past_its_bound() -> None:
    store = InProcessIdempotencyStore(ttl=60, lease=60, max_records=3)
    for number in range(5):
        claim = await store.claim(f"key-{number}", "fp")
        await store.finish(f"key-{number}", claim, Answer(200, "application/json", b"{}"))
    assert len(store) == 3
    assert (await store.claim("key-4", "fp")).state is ClaimState.DONE
    assert (await store.claim("key-0", "fp")).state is ClaimState.NEW  # forgotten: it runs again


async def test_the_in_process_store_never_forgets_a_running_key() -> None:
    store = InProcessIdempotencyStore(ttl=60, lease=60, max_records=2)
    running = [await store.claim(f"running-{n}", "fp") for n in range(3)]
    assert len(store) == 3  # over the bound rather than forget a write in progress
    assert all([(await store.claim(f"running-{n}", "fp")).state is ClaimState.RUNNING for n in range(3)])
    await store.finish("running-0", running[0], Answer(200, "application/json", b"{}"))
    await store.claim("new", "fp")
    assert (await store.claim("running-0", "fp")).state is ClaimState.NEW  # the settled one went first


UPDATE_TEAM = """
mutation UpdateTeam($input: UpdateTeamInput!) { updateTeam(input: $input) { team { id name } userErrors { code } } }
"""


async def test_a_retried_update_after_a_lost_answer_is_sent_again(lossy: tuple[Gateway, LossyUpstream]) -> None:
    gw, wire = lossy
    team = (await post(gw, CREATE_TEAM, {"input": {"name": "old"}}, None)).json()["data"]["createTeam"]["team"]
    wire.match, wire.lose_after = "/api/governance/teams", 1
    variables = {"input": {"id": team["id"], "name": "new"}}
    lost = (await post(gw, UPDATE_TEAM, variables, "upd-1")).json()
    assert lost["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN"
    retry = (await post(gw, UPDATE_TEAM, variables, "upd-1")).json()
    assert retry["data"]["updateTeam"] == {"team": {"id": team["id"], "name": "new"}, "userErrors": []}
    assert len(gw.upstream_calls("PUT")) == 2  # the same PUT again: it sets what the first set


async def test_concurrent_retries_of_a_lost_answer_read_back_once_and_share_it(
    lossy: tuple[Gateway, LossyUpstream],
) -> None:
    gw, wire = lossy
    wire.match, wire.lose_after, wire.hold = "/api/governance/customers", 1, asyncio.Event()
    first = asyncio.ensure_future(post(gw, CREATE_CUSTOMER, {"input": {"name": "lost-crowd"}}, "lc"))
    await wire.held.wait()
    others = [
        asyncio.ensure_future(post(gw, CREATE_CUSTOMER, {"input": {"name": "lost-crowd"}}, "lc")) for _ in range(9)
    ]
    await asyncio.sleep(0)
    wire.hold.set()
    unknown, *retries = [await first, *await asyncio.gather(*others)]
    assert unknown.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_OUTCOME_UNKNOWN"
    assert len({r.content for r in retries}) == 1  # one retry read back, the rest replay its answer
    assert retries[0].json()["data"]["createCustomer"]["customer"]["name"] == "lost-crowd"
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in retries) == 8
    assert posts(gw, "/api/governance/customers") == 1
    assert await stored(gw, "customers", "lost-crowd") == 1
