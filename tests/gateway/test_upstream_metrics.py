"""Every upstream call is counted once per route template and outcome, however often the route recurs."""

from __future__ import annotations

from tests.gateway.conftest import make_gateway

LOOKUP = "query Lookup($id: ID!) { team(id: $id) { id } }"
CREATE = "mutation Create($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }"
TEAM_ROUTE = 'route="GET /api/governance/teams/{id}"'


def sample(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


async def test_upstream_calls_counted_per_route_and_status_every_time() -> None:
    gateway = await make_gateway("current")
    try:
        created = await gateway.graphql(CREATE, {"input": {"name": "metrics-team"}})
        team_id = created["data"]["createTeam"]["team"]["id"]
        before = (await gateway.http.get("/metrics")).text
        for _ in range(3):  # the same route, three separate calls (one at a time: nothing shared)
            assert (await gateway.graphql(LOOKUP, {"id": team_id}))["data"]["team"]["id"] == team_id
        missing = await gateway.graphql(LOOKUP, {"id": "00000000-0000-4000-8000-000000000000"})
        assert missing["data"]["team"] is None
        after = (await gateway.http.get("/metrics")).text
    finally:
        await gateway.http.aclose()

    def moved(prefix: str) -> float:
        return sample(after, prefix) - sample(before, prefix)

    assert moved(f'gateway_upstream_requests_total{{{TEAM_ROUTE},status="200"}}') == 3
    assert moved(f'gateway_upstream_requests_total{{{TEAM_ROUTE},status="404"}}') == 1
    assert moved(f"gateway_upstream_request_duration_seconds_count{{{TEAM_ROUTE}}}") == 4
