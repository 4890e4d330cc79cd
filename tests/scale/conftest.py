"""A real Redis for the scale-out tests, and gateways that share it.

``redis-server`` (the Debian package; ``.ci/run`` installs it) is started on a free port of 127.0.0.1 with
nothing written to disk, and stopped (or killed, by the tests that need Redis gone) at the end.

    test --ASGITransport--> gateway A --+                                     +--> Redis
                                        +--ASGITransport--> embedded Bifrost  |
    test --ASGITransport--> gateway B --+                                     +--> (both gateways)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.settings import Settings
from app.web import create_app
from app.web.app import bifrost_client_of
from app.web.edge import GatewayASGI
from tests.system_programs import require_program

REDIS_SERVER = shutil.which("redis-server")
# REDIS_KEY_SECRET of the gateway processes started here: the same for all, so they share what Redis holds.
SHARED_SECRET = "the-secret-these-test-replicas-share-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it and wait (at most 10 s) until it answers PING."""
        require_program(REDIS_SERVER, "redis-server", "the tests that share state through Redis")
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not answer PING"
                time.sleep(0.02)
        client.close()
        return self

    def client(self) -> redis.Redis:
        """A synchronous client, for looking at what the gateways stored."""
        return redis.Redis(port=self.port, socket_timeout=2)

    def kill(self) -> None:
        """Stop it at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """Stop it (SIGTERM), or kill it if it does not go."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh, empty Redis."""
    server = RedisServer().start()
    yield server
    server.stop()


@dataclass
class Replica:
    """One gateway app reached in-process, sharing the upstream and Redis with the others."""

    app: GatewayASGI
    http: httpx.AsyncClient

    async def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return await self.http.post("/graphql", json={"query": query, "variables": variables}, **kwargs)

    async def aclose(self) -> None:
        await self.http.aclose()
        await bifrost_client_of(self.app).aclose()
        await self.app.state.shared.aclose()


@dataclass
class Cluster:
    """Two replicas over one embedded upstream and one Redis."""

    a: Replica
    b: Replica
    upstream: Any

    def posts(self, path: str) -> int:
        return sum(r.method == "POST" and r.path == path for r in list(self.upstream.state.request_log))


def replica(upstream: Any, **settings: Any) -> Replica:
    """A gateway over ``upstream``: the embedded server's ASGI app, or any httpx transport."""
    transport = upstream if isinstance(upstream, httpx.AsyncBaseTransport) else httpx.ASGITransport(app=upstream)
    app = create_app(Settings(bifrost_url="http://bifrost.internal:8080", **settings), transport=transport)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30)
    return Replica(app, http)


@pytest.fixture
async def cluster(redis_server: RedisServer) -> AsyncIterator[Cluster]:
    upstream = create_embedded_bifrost(database=":memory:", generation="current")
    a = replica(upstream, redis_url=redis_server.url)
    b = replica(upstream, redis_url=redis_server.url)
    yield Cluster(a, b, upstream)
    await a.aclose()
    await b.aclose()
