"""Request-log rows written straight into an embedded server's store, and a GET that must answer 200: what the
analytics and rankings tests share."""

from __future__ import annotations

from typing import Any

import httpx

from app.embedded_bifrost.app import BifrostApp
from app.embedded_bifrost.request_logs import LogRow, record

__all__ = ["get", "row", "seed"]


def seed(app: BifrostApp, *rows: LogRow) -> None:
    """Write ``rows`` into the server's request log."""
    for one in rows:
        record(app.state.store.db, one)


def row(name: str, when: int, **fields: Any) -> LogRow:
    """A successful request of ``gpt-4o-mini`` on openai unless told otherwise."""
    values: dict[str, Any] = {"provider": "openai", "model": "gpt-4o-mini", "status": "success", **fields}
    return LogRow(id=name, timestamp=when, **values)


async def get(client: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    """The JSON of a GET that must answer 200."""
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
