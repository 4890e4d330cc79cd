"""The app served by a real uvicorn on 127.0.0.1, as the standalone server and benchmarks run it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from app.embedded_bifrost import create_app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, object]]:
    app = create_app(generation="current", auth=("admin", "pw"))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools", access_log=False, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # up to 5 s for the server to bind
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_real_server_login_create_and_read(served: tuple[str, object]) -> None:
    base_url, app = served
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        assert (await client.get("/api/governance/teams")).status_code == 401
        login = await client.post("/api/session/login", json={"username": "admin", "password": "pw"})
        assert login.status_code == 200 and client.cookies.get("token")
        created = await client.post("/api/governance/teams", json={"name": "over-the-wire"})
        assert created.status_code == 200
        team_id = created.json()["team"]["id"]
        got = await client.get(f"/api/governance/teams/{team_id}")
        assert got.json()["team"]["name"] == "over-the-wire"
        assert got.headers["content-type"] == "application/json"
    paths = [record.path for record in app.state.request_log]  # type: ignore[attr-defined]
    assert paths[-1] == f"/api/governance/teams/{team_id}"
