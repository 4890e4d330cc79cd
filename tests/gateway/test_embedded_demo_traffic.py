"""The gateway over its own embedded server: demo traffic with EMBEDDED_BIFROST_DEMO_TRAFFIC, usage in the graph."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.embedded_bifrost.demo_traffic import DemoTraffic
from app.settings import Settings
from app.web import create_app
from app.web.upstream import EmbeddedBifrostTransport, embedded_transport

KEY_USAGE = """
query {
  virtualKeys(search: "platform-prod") { nodes { name budgets { currentUsage } rateLimit { requestCurrentUsage } } }
}
"""


def test_demo_traffic_is_off_unless_asked() -> None:
    assert Settings().embedded_bifrost_demo_traffic is False
    assert embedded_transport(Settings()).embedded.background == []


def test_demo_traffic_needs_a_generation_with_inference() -> None:
    transport = embedded_transport(Settings(embedded_bifrost_demo_traffic=True, embedded_bifrost_generation="v1.5"))
    assert transport.embedded.background == []


async def test_gateway_lifespan_runs_the_demo_traffic_of_its_embedded_server() -> None:
    app = create_app(Settings(embedded_bifrost_demo_traffic=True))
    transport = app.rest.state.bifrost.wire.client._transport
    assert isinstance(transport, EmbeddedBifrostTransport)
    [traffic] = transport.embedded.background
    assert isinstance(traffic, DemoTraffic) and not traffic.running
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    answered = asyncio.Event()
    sent: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        answered.set()

    serving = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send))
    inbox.put_nowait({"type": "lifespan.startup"})
    await answered.wait()
    assert sent == ["lifespan.startup.complete"] and traffic.running
    inbox.put_nowait({"type": "lifespan.shutdown"})
    await serving
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"] and not traffic.running


async def test_demo_spending_shows_in_the_graph() -> None:
    upstream = create_embedded_bifrost(generation="v2", demo=True)
    gateway = create_app(Settings(bifrost_url="http://bifrost.internal:8080"), transport=httpx.ASGITransport(upstream))
    traffic = DemoTraffic(upstream)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(gateway), base_url="http://gateway") as http:
        before = (await http.post("/graphql", json={"query": KEY_USAGE})).json()["data"]["virtualKeys"]["nodes"][0]
        for _ in range(7):  # one cycle of the schedule: platform-prod twice
            assert traffic.tick() == 200
        after = (await http.post("/graphql", json={"query": KEY_USAGE})).json()["data"]["virtualKeys"]["nodes"][0]
    assert before["budgets"][0]["currentUsage"] == 0 and before["rateLimit"]["requestCurrentUsage"] == "0"  # Int64
    spent = upstream.context.store.db.execute(
        "SELECT sum(cost), count(*) FROM logs WHERE virtual_key_name = 'platform-prod'"
    ).fetchone()
    assert after["budgets"][0]["currentUsage"] == spent[0] > 0
    assert int(after["rateLimit"]["requestCurrentUsage"]) == spent[1] == 2
