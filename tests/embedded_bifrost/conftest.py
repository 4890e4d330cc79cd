"""Fixtures: the embedded server reached in-process through ``httpx.ASGITransport``."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from bifrost_helpers import client_for

from app.embedded_bifrost import create_app


@pytest.fixture
async def current() -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh server speaking the current (v1.5+) generation."""
    async with client_for(create_app(generation="current")) as client:
        yield client


@pytest.fixture
async def seed() -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh server speaking the seed (January 2026) generation."""
    async with client_for(create_app(generation="seed")) as client:
        yield client


@pytest.fixture(params=["seed", "current"])
async def any_generation(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh server, once per generation."""
    async with client_for(create_app(generation=request.param)) as client:
        yield client


@pytest.fixture
def budget_body() -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """Wrap one budget in the generation's request shape (``budget`` or ``budgets``)."""

    def wrap(generation: str, budget: dict[str, Any]) -> dict[str, Any]:
        return {"budget": budget} if generation == "seed" else {"budgets": [budget]}

    return wrap


@pytest.fixture
async def v2() -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh server speaking Bifrost v2."""
    async with client_for(create_app(generation="v2")) as client:
        yield client


@pytest.fixture
async def v2_app_db(v2: httpx.AsyncClient) -> sqlite3.Connection:
    """The database behind the ``v2`` client (to set usage, which only inference changes in Bifrost)."""
    transport = v2._transport
    assert isinstance(transport, httpx.ASGITransport)
    db: sqlite3.Connection = transport.app.state.store.db  # type: ignore[attr-defined]
    return db
