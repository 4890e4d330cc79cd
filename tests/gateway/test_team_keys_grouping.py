"""A page's teams get their keys from one full key list, grouped by team once per list the memo hands out.

The grouping is kept beside the last list it was made from and reused while the parse memo answers with that
very list; any other list (new keys, a key moved to another team, another upstream) is grouped again.
"""

from __future__ import annotations

from typing import Any

from tests.gateway.conftest import Gateway, make_gateway, upstream_http

PAGE = "{ teams(first: 50) { edges { node { name virtualKeys { name } } } } }"
SEARCHED = '{ teams(first: 50, search: "team") { edges { node { name virtualKeys { name } } } } }'


async def arrange(gw: Gateway, teams: int, prefix: str) -> tuple[list[str], list[str]]:
    """``teams`` teams (``team-0`` ...) with a key each but the last; a customer-scoped key beside them."""
    async with upstream_http(gw) as up:
        customer = (await up.post("/api/governance/customers", json={"name": f"{prefix}-customer"})).json()
        team_ids, key_ids = [], []
        for t in range(teams):
            team = (await up.post("/api/governance/teams", json={"name": f"team-{t}"})).json()["team"]
            team_ids.append(team["id"])
            if t < teams - 1:
                key = {"name": f"{prefix}-key-{t}", "team_id": team["id"]}
                key_ids.append((await up.post("/api/governance/virtual-keys", json=key)).json()["virtual_key"]["id"])
        body = {"name": f"{prefix}-customer-key", "customer_id": customer["customer"]["id"]}
        assert (await up.post("/api/governance/virtual-keys", json=body)).status_code == 200
    return team_ids, key_ids


def keys_by_team(answer: dict[str, Any]) -> dict[str, list[str]]:
    assert "errors" not in answer, answer
    edges = answer["data"]["teams"]["edges"]
    return {edge["node"]["name"]: [key["name"] for key in edge["node"]["virtualKeys"]] for edge in edges}


async def test_two_upstreams_each_get_their_own_teams_keys() -> None:
    first, second = await make_gateway("current"), await make_gateway("current")
    await arrange(first, 6, "first")
    await arrange(second, 6, "second")
    for _ in range(2):  # alternately: the grouping of one list never answers for the other
        for gw, prefix in ((first, "first"), (second, "second")):
            for document in (PAGE, SEARCHED):
                grouped = keys_by_team(await gw.graphql(document))
                assert grouped == {f"team-{t}": [f"{prefix}-key-{t}"] for t in range(5)} | {"team-5": []}
    await first.http.aclose()
    await second.http.aclose()


async def test_keys_added_or_moved_upstream_show_on_the_next_page() -> None:
    gw = await make_gateway("current")
    team_ids, key_ids = await arrange(gw, 6, "k")
    for document in (PAGE, SEARCHED):
        assert keys_by_team(await gw.graphql(document))["team-0"] == ["k-key-0"]
    assert keys_by_team(await gw.graphql(PAGE)) == keys_by_team(await gw.graphql(PAGE))  # unchanged: the same
    async with upstream_http(gw) as up:
        moved = await up.put(f"/api/governance/virtual-keys/{key_ids[0]}", json={"team_id": team_ids[5]})
        assert moved.status_code == 200, moved.text
        added = await up.post("/api/governance/virtual-keys", json={"name": "k-extra", "team_id": team_ids[1]})
        assert added.status_code == 200, added.text
    for document in (PAGE, SEARCHED):
        grouped = keys_by_team(await gw.graphql(document))
        assert grouped["team-0"] == []
        assert grouped["team-5"] == ["k-key-0"]
        assert grouped["team-1"] == ["k-key-1", "k-extra"]
        assert grouped["team-2"] == ["k-key-2"]
    await gw.http.aclose()
