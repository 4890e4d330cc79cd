"""A POST /graphql driven straight through the ASGI interface, by a client that can leave on cue."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["LeavingClient", "graphql_scope"]


def graphql_scope() -> dict[str, Any]:
    """The scope of a JSON POST to /graphql, as an HTTP server hands it over."""
    return {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("gw", 80),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
    }


class LeavingClient:
    """Sends ``body`` whole, then waits; ``leave.set()`` makes it disconnect. ``messages``: what it was sent."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.leave = asyncio.Event()
        self.messages: list[dict[str, Any]] = []
        self._sent = False

    async def receive(self) -> dict[str, Any]:
        if not self._sent:
            self._sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.leave.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
