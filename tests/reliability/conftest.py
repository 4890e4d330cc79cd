"""Fixtures over real sockets: the embedded Bifrost served by uvicorn, the fault proxy, the gateway.

    test --ASGITransport--> gateway (transport=None) --TCP--> FaultProxy --TCP--> uvicorn(embedded Bifrost)

The embedded server runs in a background thread with its own event loop; the proxy and the gateway run
on the test's loop. Checks of what was stored go straight to the embedded server's REST API.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from app.bifrost.breaker import CircuitBreaker
from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.settings import Settings
from app.web import create_app
from app.web.app import bifrost_client_of
from tests.reliability.fault_proxy import FaultProxy

# Short timeouts so every fault resolves within a few seconds, yet long enough that a healthy call on a loaded
# 2-core machine (gateway, proxy and upstream share this process; CI runs two suites at once) never reaches them:
# at 0.6 s a lookup made before any fault was injected sometimes timed out under load.
FAST = {
    "bifrost_api_generation": "current",
    "upstream_connect_timeout": 1.0,
    "upstream_read_timeout": 2.0,
    "upstream_total_timeout": 4.0,
    "upstream_read_retries": 1,
    "upstream_max_response_bytes": 256 * 1024,
    "breaker_failure_threshold": 5,
    "breaker_reset_seconds": 0.2,
}


class EmbeddedServer:
    """The embedded Bifrost-compatible server under uvicorn on 127.0.0.1, in a background thread."""

    def __init__(self, *, generation: str = "current", auth: tuple[str, str] | None = None, demo: bool = False) -> None:
        self.app = create_embedded_bifrost(database=":memory:", generation=generation, auth=auth, demo=demo)
        self.auth = auth
        self.port = _free_port()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, http="httptools", access_log=False, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="embedded-bifrost", daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmbeddedServer:
        """Start serving; wait until bound."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "embedded Bifrost did not start"
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self.server.should_exit = True
        self.thread.join(10)

    def rest(self) -> httpx.AsyncClient:
        """A client straight to the REST API (not through the proxy), with the admin credentials if any."""
        return httpx.AsyncClient(base_url=self.url, auth=self.auth, trust_env=False, timeout=10)

    def posts(self, path: str) -> int:
        """How many POSTs to ``path`` the server received (its request log, kept by the server thread)."""
        return sum(record.method == "POST" and record.path == path for record in list(self.app.state.request_log))

    def received(self, method: str, path: str) -> bool:
        """Whether the server has taken a ``method`` request for ``path`` (logged as its handler starts)."""
        return any(record.method == method and record.path == path for record in list(self.app.state.request_log))

    async def teams_named(self, name: str) -> int:
        """How many teams with exactly this name the server stores."""
        async with self.rest() as rest:
            response = await rest.get("/api/governance/teams", params={"search": name, "limit": 100})
        assert response.status_code == 200, response.text
        return sum(team["name"] == name for team in response.json()["teams"])

    async def team_count(self) -> int:
        """How many teams the server stores."""
        async with self.rest() as rest:
            response = await rest.get("/api/governance/teams", params={"limit": 1})
        assert response.status_code == 200, response.text
        count: int = response.json()["total_count"]
        return count

    async def post(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create an entity directly and return it."""
        async with self.rest() as rest:
            response = await rest.post(f"/api/governance/{collection}", json=body)
        assert response.status_code == 200, response.text
        created: dict[str, Any] = next(v for k, v in response.json().items() if k != "message")
        return created


@dataclass
class RealGateway:
    """The gateway app (reached in-process) whose Bifrost client talks to ``upstream_url`` over TCP."""

    app: Starlette
    http: httpx.AsyncClient

    async def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST a GraphQL document and return the raw response."""
        return await self.http.post("/graphql", json={"query": query, "variables": variables}, **kwargs)

    async def graphql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """POST a GraphQL document; assert HTTP 200 and return the JSON body."""
        response = await self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def aclose(self) -> None:
        """Close the test client and the gateway's upstream pool (ASGITransport runs no lifespan)."""
        await self.http.aclose()
        await bifrost_client_of(self.app).aclose()


def real_gateway(upstream_url: str, **settings: Any) -> RealGateway:
    """A gateway with ``transport=None``: its own production wire to ``upstream_url``."""
    app = create_app(Settings(bifrost_url=upstream_url, **settings), transport=None)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30)
    return RealGateway(app=app, http=http)


def record_retry_sleeps(gateway: RealGateway) -> list[float]:
    """The delays the gateway's retry policy asks for from now on; each retry then goes at once."""
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    bifrost_client_of(gateway.app).sleep = sleep
    return delays


class ManualClock:
    """A clock that moves only when the test says so, for the gateway's circuit breaker.

    Example:
        >>> clock = ManualClock()
        >>> clock.advance(1.5)
        >>> clock()
        1.5
    """

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``."""
        self.now += seconds


def breaker_on_clock(gateway: RealGateway, failure_threshold: int, reset_seconds: float) -> ManualClock:
    """Give the gateway a fresh circuit breaker whose time moves only with the returned clock."""
    clock = ManualClock()
    bifrost_client_of(gateway.app).breaker = CircuitBreaker(failure_threshold, reset_seconds, clock=clock)
    return clock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


HTTP_CLIENTS = ("h1", "reqwest", "aiohttp")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test whose gateway reaches Bifrost over a real socket runs with each UPSTREAM_HTTP_CLIENT.
    if "gateway" in metafunc.fixturenames or hasattr(metafunc.module, "real_gateway"):
        metafunc.parametrize("upstream_http_client", HTTP_CLIENTS, indirect=True)


@pytest.fixture(autouse=True)
def upstream_http_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The HTTP client the gateways of this test use (``UPSTREAM_HTTP_CLIENT``); None: the default."""
    client: str | None = getattr(request, "param", None)
    if client is not None:
        monkeypatch.setenv("UPSTREAM_HTTP_CLIENT", client)
    return client


@pytest.fixture
def upstream() -> Iterator[EmbeddedServer]:
    """A fresh embedded Bifrost (current generation, auth off) on a real socket."""
    server = EmbeddedServer().start()
    yield server
    server.stop()


@pytest.fixture
async def proxy(upstream: EmbeddedServer) -> AsyncIterator[FaultProxy]:
    """The fault proxy in front of ``upstream``, passing everything through to begin with."""
    fault_proxy = await FaultProxy(upstream.url).start()
    yield fault_proxy
    await fault_proxy.stop()


@pytest.fixture
async def gateway(proxy: FaultProxy) -> AsyncIterator[RealGateway]:
    """The gateway over the proxy with short timeouts, a one-retry read policy and a quick breaker."""
    gw = real_gateway(proxy.url, **FAST)
    yield gw
    await gw.aclose()
