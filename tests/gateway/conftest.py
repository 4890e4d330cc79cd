"""Fixtures: the real gateway over the embedded Bifrost-compatible server, each API generation.

The gateway reaches the embedded server through ``httpx.ASGITransport`` (no socket), and tests reach
the gateway the same way; the embedded server's request log shows exactly what went upstream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import Generation, generation_named
from app.keys import entry_for
from app.settings import Settings
from app.web import create_app
from app.web.edge import GatewayASGI

# Every test gateway knows one gateway key that may reveal key values; tests that read them send it.
REVEAL_KEY = "gk_tests-reveal-0123456789abcdefghijklmnopqrstuvwxyz"
REVEALING = {"x-gateway-key": REVEAL_KEY}


@dataclass
class Gateway:
    """A gateway under test, its HTTP client and the embedded upstream behind it.

    ``generation`` is the upstream's: tests whose behaviour differs between generations ask its
    capabilities (``gw.generation.owners == "presence_aware"``), never its name.
    """

    app: GatewayASGI
    http: httpx.AsyncClient
    upstream: Any
    generation: Generation

    async def graphql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """POST a GraphQL document; assert HTTP 200 and return the JSON body."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables}, **kwargs)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def upstream_calls(self, method: str | None = None, prefix: str = "/api/governance") -> list[Any]:
        """Requests the upstream received, optionally filtered by method and path prefix."""
        return [
            record
            for record in self.upstream.state.request_log
            if (method is None or record.method == method) and record.path.startswith(prefix)
        ]


def upstream_http(gw: Gateway) -> httpx.AsyncClient:
    """A client straight to the embedded upstream, for arranging data and checking what it stored."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.upstream), base_url="http://bifrost")


async def make_gateway(generation: str = "current", *, auth: tuple[str, str] | None = None, **settings: Any) -> Gateway:
    upstream = create_embedded_bifrost(database=":memory:", generation=generation, auth=auth)
    settings.setdefault("gateway_api_keys", entry_for("tests", REVEAL_KEY, can_reveal=True))
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal:8080", **settings),
        transport=httpx.ASGITransport(app=upstream),
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    return Gateway(app=app, http=http, upstream=upstream, generation=generation_named(generation))


@pytest.fixture(params=["seed", "current", "v2"])
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[Gateway]:
    """The gateway in front of an embedded server of each API generation."""
    gw = await make_gateway(request.param)
    yield gw
    await gw.http.aclose()


@pytest.fixture
async def current_gateway() -> AsyncIterator[Gateway]:
    """The gateway in front of a v1.5+ (``current``) embedded server."""
    gw = await make_gateway("current")
    yield gw
    await gw.http.aclose()


@pytest.fixture
async def seed_gateway() -> AsyncIterator[Gateway]:
    """The gateway in front of a seed-generation embedded server."""
    gw = await make_gateway("seed")
    yield gw
    await gw.http.aclose()
