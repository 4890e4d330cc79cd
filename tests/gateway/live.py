"""Helpers for live-data tests: a WebSocket client over ASGI (no socket) and a poll clock the test steps.

``AsgiWebSocket`` runs the real gateway's WebSocket handler in this event loop, the way ``httpx.ASGITransport``
runs its HTTP handler: only the wire is swapped. ``SteppedClock.sleep`` is the hub's wait between polls; it
returns when the test calls ``step()``, so a test decides when each interval ends and never sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import orjson

from app.embedded_bifrost import create_app as create_embedded_bifrost
from app.generations import generation_named
from app.keys import entry_for
from app.live import LocalHub
from app.settings import Settings
from app.web import create_app
from app.web.edge import GatewayASGI
from tests.gateway.conftest import REVEAL_KEY, Gateway

PROTOCOL = "graphql-transport-ws"


class Closed(Exception):
    """The server closed the socket."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code, self.reason = code, reason


class AsgiWebSocket:
    """One WebSocket connection to an ASGI app.

    Example:
        >>> # async with AsgiWebSocket(gw.app) as ws: await ws.send_json({"type": "connection_init"})
    """

    def __init__(
        self,
        app: GatewayASGI,
        *,
        path: str = "/graphql",
        headers: Iterable[tuple[str, str]] = (),
        subprotocols: Iterable[str] = (PROTOCOL,),
        client: tuple[str, int] = ("127.0.0.1", 50000),
    ) -> None:
        self.app = app
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(name.lower().encode(), value.encode("latin-1")) for name, value in headers],
            "client": client,
            "server": ("127.0.0.1", 8000),
            "subprotocols": list(subprotocols),
        }
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.accepted = False
        self.subprotocol: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def __aenter__(self) -> AsgiWebSocket:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        """Open the connection; afterwards ``accepted`` says whether the upgrade was accepted."""
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self.app(self.scope, self._to_app.get, self._send))
        first = await self._from_app.get()
        if first["type"] == "websocket.accept":
            self.accepted = True
            self.subprotocol = first.get("subprotocol")
        else:
            self._from_app.put_nowait(first)

    def pause(self) -> None:
        """Stop reading: the server's sends wait, as they do for a client that does not keep up."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.send":
            await self._flowing.wait()
        if message["type"] == "websocket.close":
            # As a real server: the peer answers the close, and the app's next receive says it is gone.
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": message.get("code", 1000)})
        self._from_app.put_nowait(message)

    async def send_text(self, text: str) -> None:
        self._to_app.put_nowait({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        self._to_app.put_nowait({"type": "websocket.receive", "bytes": data})

    async def send_json(self, message: Any) -> None:
        await self.send_text(orjson.dumps(message).decode())

    async def receive_json(self) -> dict[str, Any]:
        """The next message the server sent; raises Closed when it closed the socket instead."""
        message = await self._from_app.get()
        if message["type"] == "websocket.close":
            self.close_code, self.close_reason = message.get("code", 1000), message.get("reason", "")
            raise Closed(self.close_code, self.close_reason)
        result: dict[str, Any] = orjson.loads(message["text"])
        return result

    async def receive_except_pings(self) -> dict[str, Any]:
        """The next message that is not a ping from the server."""
        while True:
            message = await self.receive_json()
            if message.get("type") != "ping":
                return message

    async def closed(self) -> Closed:
        """Wait for the server to close the socket (skipping anything sent before)."""
        while True:
            try:
                await self.receive_json()
            except Closed as closed:
                return closed

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """``connection_init`` (with ``payload``) and the server's answer."""
        message: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await self.send_json(message)
        return await self.receive_except_pings()

    async def subscribe(self, operation_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await self.send_json({"id": operation_id, "type": "subscribe", "payload": payload})

    async def disconnect(self) -> None:
        """The client goes away; waits until the server has finished with the connection."""
        if self._task is None:
            return
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await self._task
        self._task = None


async def until(condition: Callable[[], bool], what: str) -> None:
    """Let the event loop run until ``condition`` holds (a bounded number of turns, no timer)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


class SteppedClock:
    """The hub's ``sleep``: each call waits until the test calls ``step()``."""

    def __init__(self) -> None:
        self._waiting: list[asyncio.Future[None]] = []
        self._changed = asyncio.Condition()

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        async with self._changed:
            self._changed.notify_all()
        await future

    @property
    def waiting(self) -> int:
        """How many pollers wait for the next interval now (cancelled ones not counted)."""
        self._waiting = [future for future in self._waiting if not future.done()]
        return len(self._waiting)

    async def until_waiting(self, count: int = 1) -> None:
        """Return once ``count`` pollers have finished a poll and wait for the next interval."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.waiting >= count)

    def step(self) -> None:
        """End the current interval: every waiting poller polls again."""
        waiting, self._waiting = self._waiting, []
        for future in waiting:
            if not future.done():
                future.set_result(None)


async def make_live_gateway(
    generation: str = "v2", *, clock: SteppedClock, auth: tuple[str, str] | None = None, **settings: Any
) -> Gateway:
    """``make_gateway``'s gateway, with a hub whose polls wait for ``clock``."""
    upstream = create_embedded_bifrost(database=":memory:", generation=generation, auth=auth)
    settings.setdefault("gateway_api_keys", entry_for("tests", REVEAL_KEY, can_reveal=True))
    hub = LocalHub(
        settings.pop("live_poll_interval", 2.0), queue_size=settings.pop("live_subscriber_queue", 8), sleep=clock.sleep
    )
    app = create_app(
        Settings(bifrost_url="http://bifrost.internal:8080", **settings),
        transport=httpx.ASGITransport(app=upstream),
        live_hub=hub,
    )
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
    return Gateway(app=app, http=http, upstream=upstream, generation=generation_named(generation))
