"""Upstream GET bodies are parsed once while they do not change (``ParseMemo``), and never served stale.

Unit: the same bytes under the same key (even as another bytes object) give the very same models; changed
bytes are parsed again; the memo is an LRU bounded in entries and in bytes; bodies above the per-entry
limit are never kept; a body that fails to parse raises and stores nothing.

Through the gateway: a repeated dashboard is answered from remembered models (``hits`` grows) with the same
answer; changes made through the gateway or straight on the upstream show on the next read; only GETs go
through the memo, never the answers to POST, PUT or DELETE.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel, ValidationError

from app.bifrost.client import parse as parse_upstream
from app.bifrost.errors import UpstreamProtocolError
from app.bifrost.memo import ParseMemo
from app.bifrost.models import BudgetList, MessageEnvelope, TeamEnvelope
from app.web.app import bifrost_client_of
from tests.gateway.arrange import upstream_post, writes
from tests.gateway.conftest import Gateway, make_gateway

M = TypeVar("M", bound=BaseModel)
TEAM_BODY = (
    b'{"team": {"id": "t1", "name": "Platform", "created_at": "2026-01-01T00:00:00Z",'
    b' "updated_at": "2026-01-01T00:00:00Z"}}'
)


class CountingParse:
    """A parse function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, model: type[M], content: bytes) -> M:
        self.calls += 1
        return model.model_validate_json(content)


def message(text: str, width: int = 0) -> bytes:
    body = b'{"message": "' + text.encode() + b'"}'
    return body + b" " * max(0, width - len(body))


# ---------------------------------------------------------------------------------------------
# ParseMemo
# ---------------------------------------------------------------------------------------------


def test_identical_bytes_give_the_same_models_even_as_another_object() -> None:
    memo, parse = ParseMemo(), CountingParse()
    first = memo.parse(TeamEnvelope, "/teams/t1", TEAM_BODY, parse)
    again = memo.parse(TeamEnvelope, "/teams/t1", bytes(bytearray(TEAM_BODY)), parse)
    assert again is first and again.team is first.team
    assert parse.calls == 1 and memo.hits == 1
    assert first.team.name == "Platform"


def test_changed_bytes_are_parsed_again_and_only_the_last_body_is_kept() -> None:
    memo, parse = ParseMemo(), CountingParse()
    old = memo.parse(MessageEnvelope, "k", message("old"), parse)
    new = memo.parse(MessageEnvelope, "k", message("new"), parse)
    assert (old.message, new.message) == ("old", "new")
    assert memo.parse(MessageEnvelope, "k", message("new"), parse) is new
    back = memo.parse(MessageEnvelope, "k", message("old"), parse)
    assert back is not old and back.message == "old"
    assert parse.calls == 3 and memo.hits == 1


def test_the_key_and_the_model_both_select_the_entry() -> None:
    memo, parse = ParseMemo(), CountingParse()
    body = b'{"budgets": [], "message": "x"}'
    as_message = memo.parse(MessageEnvelope, "/a", body, parse)
    as_budgets = memo.parse(BudgetList, "/a", body, parse)
    elsewhere = memo.parse(MessageEnvelope, ("/b", (("limit", 1),)), body, parse)
    assert isinstance(as_budgets, BudgetList) and isinstance(as_message, MessageEnvelope)
    assert elsewhere is not as_message
    assert parse.calls == 3 and memo.hits == 0
    assert memo.parse(MessageEnvelope, ("/b", (("limit", 1),)), body, parse) is elsewhere


def test_least_recently_used_entry_goes_first_when_entries_are_full() -> None:
    memo, parse = ParseMemo(max_entries=2), CountingParse()
    a = memo.parse(MessageEnvelope, "a", message("a"), parse)
    b = memo.parse(MessageEnvelope, "b", message("b"), parse)
    assert memo.parse(MessageEnvelope, "a", message("a"), parse) is a  # a is now the most recent
    memo.parse(MessageEnvelope, "c", message("c"), parse)  # evicts b
    assert memo.parse(MessageEnvelope, "a", message("a"), parse) is a
    assert memo.parse(MessageEnvelope, "b", message("b"), parse) is not b
    assert parse.calls == 4 and memo.hits == 2


def test_entries_are_evicted_to_stay_within_max_bytes() -> None:
    memo, parse = ParseMemo(max_entries=100, max_bytes=100, max_entry_bytes=100), CountingParse()
    a = memo.parse(MessageEnvelope, "a", message("a", 40), parse)
    b = memo.parse(MessageEnvelope, "b", message("b", 40), parse)
    c = memo.parse(MessageEnvelope, "c", message("c", 40), parse)  # 120 bytes: a goes
    assert memo.parse(MessageEnvelope, "c", message("c", 40), parse) is c
    assert memo.parse(MessageEnvelope, "b", message("b", 40), parse) is b
    assert memo.parse(MessageEnvelope, "a", message("a", 40), parse) is not a  # back in: c goes (b was used)
    assert memo.parse(MessageEnvelope, "b", message("b", 40), parse) is b
    assert parse.calls == 4


def test_a_replaced_body_frees_its_bytes() -> None:
    memo, parse = ParseMemo(max_entries=100, max_bytes=100, max_entry_bytes=100), CountingParse()
    a = memo.parse(MessageEnvelope, "a", message("a", 30), parse)
    for width in (60, 50, 40):  # the same key answered three times: only the last body counts
        memo.parse(MessageEnvelope, "b", message(f"b{width}", width), parse)
    assert memo.parse(MessageEnvelope, "a", message("a", 30), parse) is a  # 30 + 40 <= 100: a was kept
    assert parse.calls == 4


def test_a_key_answered_anew_becomes_the_most_recent() -> None:
    memo, parse = ParseMemo(max_entries=2), CountingParse()
    memo.parse(MessageEnvelope, "a", message("a1"), parse)
    b = memo.parse(MessageEnvelope, "b", message("b"), parse)
    a = memo.parse(MessageEnvelope, "a", message("a2"), parse)  # a's new body, in place of its last
    memo.parse(MessageEnvelope, "c", message("c"), parse)  # evicts b, the least recently used, not a
    assert memo.parse(MessageEnvelope, "a", message("a2"), parse) is a
    assert memo.parse(MessageEnvelope, "b", message("b"), parse) is not b
    assert parse.calls == 5 and memo.hits == 1


def test_a_key_answered_anew_above_max_entry_bytes_forgets_its_last_body() -> None:
    memo, parse = ParseMemo(max_entries=10, max_bytes=1000, max_entry_bytes=50), CountingParse()
    first = memo.parse(MessageEnvelope, "k", message("k", 50), parse)
    memo.parse(MessageEnvelope, "k", message("big", 51), parse)
    assert memo.parse(MessageEnvelope, "k", message("k", 50), parse) is not first  # the old body is gone too
    assert parse.calls == 3 and memo.hits == 0


def test_bodies_above_max_entry_bytes_are_never_kept() -> None:
    memo, parse = ParseMemo(max_entries=10, max_bytes=1000, max_entry_bytes=50), CountingParse()
    small = memo.parse(MessageEnvelope, "small", message("s", 50), parse)
    big = memo.parse(MessageEnvelope, "big", message("b", 51), parse)
    again = memo.parse(MessageEnvelope, "big", message("b", 51), parse)
    assert again is not big and again == big
    assert memo.parse(MessageEnvelope, "small", message("s", 50), parse) is small  # not pushed out either
    assert parse.calls == 3 and memo.hits == 1


@pytest.mark.parametrize(
    ("parse", "error"),
    [
        pytest.param(CountingParse(), ValidationError, id="model-validate"),
        pytest.param(parse_upstream, UpstreamProtocolError, id="client-parse"),
    ],
)
def test_a_body_that_fails_to_parse_raises_and_stores_nothing(
    parse: Callable[[type[Any], bytes], Any], error: type[Exception]
) -> None:
    memo = ParseMemo()
    kept = memo.parse(MessageEnvelope, "k", message("kept"), parse)
    for _ in range(2):  # parsed (and failing) every time: a failure is never remembered
        with pytest.raises(error):
            memo.parse(TeamEnvelope, "k", b'{"team": {"id": 1}}', parse)
        with pytest.raises(error):
            memo.parse(MessageEnvelope, "k", b"{not json", parse)
    assert memo.parse(MessageEnvelope, "k", message("kept"), parse) is kept
    assert memo.hits == 1


def test_a_failing_body_does_not_replace_the_last_good_one() -> None:
    memo, parse = ParseMemo(), CountingParse()
    good = memo.parse(MessageEnvelope, "k", message("good"), parse)
    with pytest.raises(ValidationError):
        memo.parse(MessageEnvelope, "k", b'{"message": 1}', parse)
    assert memo.parse(MessageEnvelope, "k", message("good"), parse) is good


# ---------------------------------------------------------------------------------------------
# Through the Bifrost client and the gateway
# ---------------------------------------------------------------------------------------------

DASHBOARD = """
query Dashboard {
  teams(first: 100) { totalCount edges { node {
    id name customer { id name } budgets { id maxLimit currentUsage } virtualKeys { id name isActive }
  } } }
}
"""
UPDATE_TEAM = "mutation U($input: UpdateTeamInput!) { updateTeam(input: $input) { team { name } userErrors { code } } }"
DELETE_TEAM = "mutation D($input: DeleteTeamInput!) { deleteTeam(input: $input) { deletedId userErrors { code } } }"
CREATE_TEAM = "mutation C($input: CreateTeamInput!) { createTeam(input: $input) { team { id } userErrors { code } } }"
UPDATE_KEY = """
mutation K($input: UpdateVirtualKeyInput!) {
  updateVirtualKey(input: $input) { virtualKey { isActive } userErrors { code } }
}
"""


@pytest.fixture
async def gw() -> Any:
    gw = await make_gateway("current", bifrost_api_generation="current")
    customer = await upstream_post(gw, "customers", {"name": "Acme"})
    for t in range(6):
        body: dict[str, Any] = {"name": f"team-{t}", "budgets": [{"max_limit": 10 + t, "reset_duration": "1d"}]}
        if t % 2:
            body["customer_id"] = customer["id"]
        team = await upstream_post(gw, "teams", body)
        await upstream_post(gw, "virtual-keys", {"name": f"key-{t}", "team_id": team["id"]})
    yield gw
    await gw.http.aclose()


class MemoCalls:
    """Records the keys the client asks its parse memo for."""

    def __init__(self, memo: ParseMemo) -> None:
        self.keys: list[Hashable] = []
        original = memo.parse

        def parse(model: type[M], key: Hashable, content: bytes, function: Callable[[type[M], bytes], M]) -> M:
            self.keys.append(key)
            return original(model, key, content, function)

        memo.parse = parse  # type: ignore[method-assign]

    def paths(self) -> list[str]:
        return sorted(key[0] for key in self.keys)  # type: ignore[index]


def get_paths(gw: Gateway, since: int) -> list[str]:
    return sorted(record.path for record in list(gw.upstream.state.request_log)[since:] if record.method == "GET")


async def test_the_same_get_body_gives_the_same_models(gw: Gateway) -> None:
    session = bifrost_client_of(gw.app).session({})
    key = (await session.list_virtual_keys()).virtual_keys[0]
    budgets = await session.list_budgets()
    assert await session.list_budgets() is budgets
    assert await session.get_virtual_key(key.id) is await session.get_virtual_key(key.id)
    page = await session.list_virtual_keys({"limit": 2, "offset": 0})
    assert await session.list_virtual_keys({"offset": 0, "limit": 2}) is page  # parameters in any order
    assert await session.list_virtual_keys({"limit": 3, "offset": 0}) is not page


async def test_a_repeated_dashboard_is_answered_from_remembered_models(gw: Gateway) -> None:
    memo = bifrost_client_of(gw.app).parse_memo
    first = await gw.graphql(DASHBOARD)
    assert "errors" not in first and first["data"]["teams"]["totalCount"] == 6
    after_first = memo.hits
    second = await gw.graphql(DASHBOARD)
    after_second = memo.hits
    third = await gw.graphql(DASHBOARD)
    assert second == first and third == first
    # Every GET of a repeat answers the same bytes: each repeat is served from the memo alike.
    assert memo.hits - after_second == after_second - after_first > 0


async def test_a_change_through_the_gateway_shows_on_the_next_dashboard(gw: Gateway) -> None:
    before = await gw.graphql(DASHBOARD)
    node = before["data"]["teams"]["edges"][0]["node"]
    renamed = await gw.graphql(UPDATE_TEAM, {"input": {"id": node["id"], "name": "renamed"}})
    assert renamed["data"]["updateTeam"] == {"team": {"name": "renamed"}, "userErrors": []}
    after = await gw.graphql(DASHBOARD)
    assert after["data"]["teams"]["edges"][0]["node"]["name"] == "renamed"
    assert [e["node"]["name"] for e in after["data"]["teams"]["edges"][1:]] == [
        e["node"]["name"] for e in before["data"]["teams"]["edges"][1:]
    ]
    key = node["virtualKeys"][0]
    await gw.graphql(UPDATE_KEY, {"input": {"id": key["id"], "isActive": False}})
    deleted = before["data"]["teams"]["edges"][1]["node"]["id"]
    assert (await gw.graphql(DELETE_TEAM, {"input": {"id": deleted}}))["data"]["deleteTeam"]["deletedId"] == deleted
    latest = await gw.graphql(DASHBOARD)
    nodes = [edge["node"] for edge in latest["data"]["teams"]["edges"]]
    assert latest["data"]["teams"]["totalCount"] == 5 and deleted not in [n["id"] for n in nodes]
    assert nodes[0]["virtualKeys"][0] == {**key, "isActive": False}


async def test_a_change_made_upstream_shows_on_the_next_dashboard(gw: Gateway) -> None:
    before = await gw.graphql(DASHBOARD)
    assert await gw.graphql(DASHBOARD) == before  # remembered now
    await upstream_post(gw, "teams", {"name": "made-upstream"})
    after = await gw.graphql(DASHBOARD)
    assert after["data"]["teams"]["totalCount"] == 7
    assert "made-upstream" in [edge["node"]["name"] for edge in after["data"]["teams"]["edges"]]


@pytest.mark.interpreted  # replaces a name inside a compiled module (tests/conftest.py)
async def test_only_gets_go_through_the_memo(gw: Gateway) -> None:
    calls = MemoCalls(bifrost_client_of(gw.app).parse_memo)
    since = len(gw.upstream.state.request_log)
    await gw.graphql(DASHBOARD)
    created = await gw.graphql(CREATE_TEAM, {"input": {"name": "fresh", "budgets": []}})
    team_id = created["data"]["createTeam"]["team"]["id"]
    again = await gw.graphql(CREATE_TEAM, {"input": {"name": "fresh"}})  # name taken: POST, then a GET
    assert again["data"]["createTeam"]["userErrors"] == [{"code": "NAME_TAKEN"}]
    await gw.graphql(UPDATE_TEAM, {"input": {"id": team_id, "name": "fresh-2"}})
    await gw.graphql(UPDATE_TEAM, {"input": {"id": team_id, "name": "fresh-2"}})
    await gw.graphql(DELETE_TEAM, {"input": {"id": team_id}})
    await gw.graphql(DASHBOARD)
    assert [record.method for record in writes(gw)] == ["POST", "POST", "PUT", "PUT", "DELETE"]
    assert calls.paths() == get_paths(gw, since)
    assert len(calls.keys) == len(get_paths(gw, since)) > 0
