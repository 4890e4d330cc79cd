"""The gateway composed into a supergraph with another subgraph, served by Hive Gateway, answering across both.

The gateway (``FEDERATION=true``) and a test-only ``projects`` subgraph (``tests/federation/projects.py``)
listen on 127.0.0.1; ``node/compose.mjs`` reads both SDLs from ``_service`` and composes them with
``@theguild/federation-composition``; Hive Gateway serves the supergraph; one query crosses both ways.
The node packages are installed once per session with ``npm ci`` (pinned by ``node/package-lock.json``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.federation.projects import projects_app
from tests.http_server.served import served
from tests.system_programs import require_program

NODE = Path(__file__).parent / "node"
WAIT = 120  # seconds a step may take before the test fails (npm and node start slowly on a busy machine)

CROSSING = """
{
  projects {
    name
    team { name customer { name } projects { name } }
  }
  teams(first: 10) { nodes { name projects { name } } }
}
"""


@pytest.fixture(scope="session")
def node_packages() -> Iterator[Path]:
    """``node_modules`` as ``package-lock.json`` pins it (``npm ci``, skipped when already installed from it)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    require_program(node, "nodejs", "composing and serving a supergraph")
    require_program(npm, "npm", "installing the composition and gateway packages")
    assert npm is not None
    lock = hashlib.sha256((NODE / "package-lock.json").read_bytes()).hexdigest()
    stamp = NODE / "node_modules" / ".installed-from-lock"
    if not stamp.exists() or stamp.read_text() != lock:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=NODE,
            check=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        stamp.write_text(lock)
    yield NODE / "node_modules"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def served_projects(rows: list[tuple[str, str, str]]) -> AsyncIterator[str]:
    """The projects subgraph on 127.0.0.1; yields its GraphQL URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(projects_app(rows), log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/graphql"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        sock.close()


async def run_node(*args: str) -> str:
    """Run a node script to its end (the event loop keeps serving the subgraphs meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        "node",
        *args,
        cwd=NODE,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, output.decode(errors="replace")
    return output.decode(errors="replace")


@asynccontextmanager
async def hive_gateway(supergraph: Path) -> AsyncIterator[str]:
    """Hive Gateway serving ``supergraph`` on 127.0.0.1; yields its GraphQL URL once it is ready."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(NODE / "node_modules" / ".bin" / "hive-gateway"),
        "supergraph",
        str(supergraph),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=NODE,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NODE_ENV": "production"},
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        # Ready when it says where it listens (its first lines otherwise are about the supergraph it loaded).
        while not any("Listening on" in line for line in seen[-1:]):
            line = await asyncio.wait_for(process.stdout.readline(), WAIT)
            assert line, "Hive Gateway exited:\n" + "".join(seen)
            seen.append(line.decode(errors="replace"))
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def arrange(upstream: Any) -> dict[str, str]:
    """Two teams (one under a customer) on the gateway's upstream; their ids by name."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=upstream), base_url="http://b") as up:
        customer = (await up.post("/api/governance/customers", json={"name": "acme"})).json()["customer"]
        ids = {}
        for name, customer_id in (("core", customer["id"]), ("edge", None)):
            body = {"name": name, "customer_id": customer_id}
            ids[name] = (await up.post("/api/governance/teams", json=body)).json()["team"]["id"]
    upstream.state.request_log.clear()
    return ids


async def test_hive_gateway_answers_a_query_across_the_gateway_and_another_subgraph(
    node_packages: Path, tmp_path: Path
) -> None:
    async with served(federation=True) as gateway:
        teams = await arrange(gateway.upstream)
        rows = [("p1", "Website", teams["core"]), ("p2", "Billing", teams["core"]), ("p3", "Search", teams["edge"])]
        async with served_projects(rows) as projects_url:
            supergraph = tmp_path / "supergraph.graphql"
            await run_node(
                "compose.mjs",
                str(supergraph),
                f"bifrost=http://127.0.0.1:{gateway.port}/graphql",
                f"projects={projects_url}",
            )
            assert 'join__type(graph: BIFROST, key: "id")' in supergraph.read_text()
            async with hive_gateway(supergraph) as url, httpx.AsyncClient(timeout=WAIT) as client:
                response = await client.post(url, json={"query": CROSSING})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    core = {"name": "core", "customer": {"name": "acme"}, "projects": [{"name": "Website"}, {"name": "Billing"}]}
    edge = {"name": "edge", "customer": None, "projects": [{"name": "Search"}]}
    assert body["data"]["projects"] == [
        {"name": "Website", "team": core},
        {"name": "Billing", "team": core},
        {"name": "Search", "team": edge},
    ]
    assert body["data"]["teams"]["nodes"] == [
        {"name": "core", "projects": [{"name": "Website"}, {"name": "Billing"}]},
        {"name": "edge", "projects": [{"name": "Search"}]},
    ]
    # The projects' teams came from one _entities call: two distinct teams, read by id (few references).
    team_reads = sorted(r.path for r in gateway.upstream_calls() if r.path.startswith("/api/governance/teams/"))
    assert team_reads == sorted(f"/api/governance/teams/{team_id}" for team_id in teams.values())
