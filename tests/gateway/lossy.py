"""An httpx transport over the embedded server that can hold a write until the test lets it go, or lose its
answer (after the write happened, or before it reached Bifrost)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

__all__ = ["LossyUpstream"]


class LossyUpstream(httpx.AsyncBaseTransport):
    """The embedded server over ASGI, with faults for the next write whose path starts with ``match``."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.match = ""
        self.lose_after = 0  # answers to lose after the write happened
        self.lose_before = 0  # writes to fail before they reach Bifrost (connection refused)
        self.hold: asyncio.Event | None = None  # writes wait for this
        self.held = asyncio.Event()  # set once a write is waiting

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" and request.url.path.startswith(self.match):
            if self.lose_before:
                self.lose_before -= 1
                raise httpx.ConnectError("refused")
            if self.hold is not None:
                self.held.set()
                await self.hold.wait()
            if self.lose_after:
                self.lose_after -= 1
                response = await self.inner.handle_async_request(request)
                await response.aread()
                raise httpx.ReadError("connection reset by peer")
        return await self.inner.handle_async_request(request)
