"""graphql-transport-ws through uvicorn on a real socket, with a real WebSocket client (the ``websockets`` package)."""

from __future__ import annotations

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from tests.http_server.served import served

USAGE = 'subscription { budgetUsage(teamIds: ["%s"]) { initial counters { budget { maxLimit } } } }'


async def test_a_subscription_runs_over_a_real_websocket() -> None:
    async with served() as server:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server.upstream), base_url="http://bifrost"
        ) as bifrost:
            created = await bifrost.post(
                "/api/governance/teams", json={"name": "t", "budgets": [{"max_limit": 3, "reset_duration": "1d"}]}
            )
        team_id = created.json()["team"]["id"]
        async with connect(f"ws://127.0.0.1:{server.port}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            assert ws.subprotocol == "graphql-transport-ws"
            await ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(await ws.recv()) == {"type": "connection_ack"}
            subscribe = {"id": "1", "type": "subscribe", "payload": {"query": USAGE % team_id}}
            await ws.send(orjson.dumps(subscribe).decode())
            message = orjson.loads(await ws.recv())
            assert message["type"] == "next"
            assert message["payload"]["data"]["budgetUsage"]["counters"] == [{"budget": {"maxLimit": 3}}]


async def test_a_foreign_origin_is_refused_at_the_upgrade() -> None:
    async with served(cors_allow_origins=["https://dash.example"]) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                f"ws://127.0.0.1:{server.port}/graphql",
                subprotocols=["graphql-transport-ws"],
                origin="https://evil.example",
            ):
                pass
        assert refused.value.response.status_code == 403


async def test_an_oversized_frame_closes_the_socket_with_1009() -> None:
    async with served(live_max_message_bytes=4096) as server:
        async with connect(f"ws://127.0.0.1:{server.port}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send("x" * 5000)
            with pytest.raises(ConnectionClosedError) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
