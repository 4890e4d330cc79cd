"""GraphiQL's saved example operations run as shipped, and the page hands them over intact.

The browser tests (tests/browser/test_graphiql.py) click through them in Chromium; these run without a browser,
so that a schema change that breaks an example fails everywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import parse

from app.web.graphiql import DEFAULT_QUERY
from app.web.graphiql_examples import AUTH_COMMENT, SAVED_OPERATIONS, SavedOperation
from tests.gateway.conftest import Gateway, make_gateway, upstream_http
from tests.gateway.streaming import SSE, StreamingCall, sse_events

CONFIG = re.compile(r'<script id="graphiql-config" type="application/json">(.*?)</script>', re.S)


@pytest.fixture(params=["seed", "current"])
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    gw = await make_gateway(request.param)
    yield gw
    await gw.http.aclose()


async def page_config(gw: Gateway) -> dict[str, Any]:
    response = await gw.http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    found = CONFIG.search(response.text)
    assert found is not None, response.text
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def example(title_start: str) -> SavedOperation:
    return next(op for op in SAVED_OPERATIONS if op.title.startswith(title_start))


async def run_tab(gw: Gateway, tab: dict[str, str]) -> dict[str, Any]:
    """What GraphiQL sends for a tab: the editor's text as the query, its variables and headers parsed.

    A subscription goes as GraphiQL's SSE client sends it; its first result is the answer.
    """
    headers = json.loads(tab["headers"])
    if "\nsubscription " not in tab["query"]:
        return await gw.graphql(tab["query"], json.loads(tab["variables"]), headers=headers)
    payload = {"query": tab["query"], "variables": json.loads(tab["variables"])}
    call = StreamingCall.post(gw.app, payload, {**headers, **SSE})
    await call.start()
    body = await call.read_until(lambda body: any(event == "next" for event, _ in sse_events(body)))
    await call.leave()
    first: dict[str, Any] = next(data for event, data in sse_events(body) if event == "next")
    return first


async def test_every_saved_example_runs_without_errors(gateway: Gateway) -> None:
    config = await page_config(gateway)
    titles = [tab["title"] for tab in config["examples"]]
    assert titles == [op.title for op in SAVED_OPERATIONS]
    assert len(titles) == len(set(titles)), "titles name the examples in the sidebar: they must differ"
    for tab in config["examples"]:
        result = await run_tab(gateway, tab)
        assert "errors" not in result, (tab["title"], result)


async def test_create_team_example_creates_the_team_upstream(gateway: Gateway) -> None:
    tab = example("Create a team").as_tab()
    result = await run_tab(gateway, tab)
    payload = result["data"]["createTeam"]
    assert payload["userErrors"] == []
    assert payload["team"]["name"] == "my-first-team"
    assert payload["team"]["budget"]["maxLimit"] == 100
    assert len(gateway.upstream_calls("POST", "/api/governance/teams")) == 1


async def test_dashboard_example_pages_through_teams(gateway: Gateway) -> None:
    for name in ("dash-a", "dash-b", "dash-c"):
        created = await gateway.graphql(
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { userErrors { message } } }",
            {"i": {"name": name}},
        )
        assert created["data"]["createTeam"]["userErrors"] == []
    query = example("Dashboard").query
    first = await gateway.graphql(query, {"first": 2, "after": None})
    assert "errors" not in first, first
    page = first["data"]["teams"]
    assert page["pageInfo"]["hasNextPage"] is True
    second = await gateway.graphql(query, {"first": 2, "after": page["pageInfo"]["endCursor"]})
    assert "errors" not in second, second
    names = [team["name"] for team in page["nodes"] + second["data"]["teams"]["nodes"]]
    assert {"dash-a", "dash-b", "dash-c"} <= set(names)
    assert len(names) == len(set(names)), "the second page repeats no team of the first"


async def test_headers_start_empty_and_the_comment_shows_headers_graphiql_accepts(gateway: Gateway) -> None:
    config = await page_config(gateway)
    assert json.loads(config["defaultHeaders"]) == {}
    for tab in config["examples"]:
        assert json.loads(tab["headers"]) == {}
        assert tab["query"].startswith(AUTH_COMMENT)
        parse(tab["query"])  # the comment keeps the document valid
    assert config["defaultQuery"].startswith(AUTH_COMMENT)
    parse(DEFAULT_QUERY)
    # Each header example in the comment is what the headers editor takes: a JSON object of strings.
    shown = [json.loads(line.lstrip("# ")) for line in AUTH_COMMENT.splitlines() if line.lstrip("# ").startswith("{")]
    assert shown == [{"X-Gateway-Key": "gk_..."}, {"Authorization": "Bearer <token>"}]
    # It stays readable in the query editor, which is narrow beside the result pane.
    assert max(len(line) for line in AUTH_COMMENT.splitlines()) <= 40


async def test_page_config_cannot_close_its_script_element(gateway: Gateway) -> None:
    # The examples hold "<" (the Bearer placeholder): it must not reach the HTML as a raw "<".
    response = await gateway.http.get("/graphql", headers={"accept": "text/html"})
    found = CONFIG.search(response.text)
    assert found is not None
    assert "<" not in found.group(1) and ">" not in found.group(1)
    assert "Bearer <token>" in json.dumps(json.loads(found.group(1)))


async def test_production_serves_neither_the_page_nor_the_explorer() -> None:
    gw = await make_gateway("current", gateway_env="production")
    try:
        page = await gw.http.get("/graphql", headers={"accept": "text/html"})
        assert "text/html" not in page.headers["content-type"]
        for asset in ("graphiql-plugin-explorer.umd.js", "graphiql-plugin-explorer.css"):
            assert (await gw.http.get(f"/graphiql/static/{asset}")).status_code == 404
    finally:
        await gw.http.aclose()


async def test_development_serves_the_explorer_assets(gateway: Gateway) -> None:
    script = await gateway.http.get("/graphiql/static/graphiql-plugin-explorer.umd.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert b"GraphiQLPluginExplorer" in script.content
    style = await gateway.http.get("/graphiql/static/graphiql-plugin-explorer.css")
    assert style.status_code == 200 and "text/css" in style.headers["content-type"]


async def test_watch_budget_usage_example_pushes_the_counters_of_the_ids_filled_in(gateway: Gateway) -> None:
    budget: dict[str, Any] = {"budget": {"max_limit": 9, "reset_duration": "1d"}}
    if gateway.generation.owner_budgets == "array":
        budget = {"budgets": [budget["budget"]]}
    async with upstream_http(gateway) as bifrost:
        created = await bifrost.post("/api/governance/teams", json={"name": "watched", **budget})
    tab = example("Watch budget usage").as_tab()
    tab["variables"] = json.dumps({"teamIds": [created.json()["team"]["id"]]})
    result = await run_tab(gateway, tab)
    update = result["data"]["budgetUsage"]
    assert update["initial"] is True
    assert [(c["owner"]["name"], c["budget"]["maxLimit"]) for c in update["counters"]] == [("watched", 9)]


async def test_the_page_loads_the_subscription_client_before_the_boot_script(gateway: Gateway) -> None:
    page = (await gateway.http.get("/graphql", headers={"accept": "text/html"})).text
    scripts = re.findall(r'<script src="/graphiql/static/([^"]+)"', page)
    assert scripts.index("graphql-sse.min.js") < scripts.index("boot.js")
    client = await gateway.http.get("/graphiql/static/graphql-sse.min.js")
    assert client.status_code == 200 and b"graphqlSse" in client.content
    license_text = await gateway.http.get("/graphiql/static/LICENSE.graphql-sse")
    assert license_text.status_code == 200 and b"MIT License" in license_text.content
