"""The app served on 127.0.0.1 by each HTTP server it runs on standalone: the lean one and uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from bifrost_helpers import free_port

from app.embedded_bifrost import BifrostApp, create_app
from app.embedded_bifrost.server import start_server


@contextlib.asynccontextmanager
async def _uvicorn(app: BifrostApp) -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools", access_log=False, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # up to 5 s for the server to bind
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    try:
        yield port
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def _lean(app: BifrostApp) -> AsyncIterator[int]:
    server = await start_server(app, "127.0.0.1", 0)
    try:
        yield server.port
    finally:
        await server.close()


@pytest.fixture(params=["lean", "uvicorn"])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, BifrostApp]]:
    app = create_app(generation="current", auth=("admin", "pw"))
    serve = _lean if request.param == "lean" else _uvicorn
    async with serve(app) as port:
        yield f"http://127.0.0.1:{port}", app


async def test_real_server_login_create_and_read(served: tuple[str, BifrostApp]) -> None:
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
        assert got.json()["team"] == created.json()["team"]
        assert got.headers["content-type"] == "application/json"
        assert int(got.headers["content-length"]) == len(got.content)
        assert got.headers["date"].endswith(" GMT")
    assert app.state.request_log[-1].path == f"/api/governance/teams/{team_id}"
