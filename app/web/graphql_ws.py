"""GraphQL over WebSocket, the ``graphql-transport-ws`` protocol (graphql-ws's), at ``/graphql``.

The handshake:
* the browser's ``Origin``, when sent, must be one of ``CORS_ALLOW_ORIGINS`` or the gateway's own origin (a page
  elsewhere would otherwise ride the visitor's ``token`` cookie): otherwise the upgrade is refused (403);
* the client must offer the ``graphql-transport-ws`` subprotocol, else the socket closes with 4406;
* a client address with ``LIVE_MAX_CONNECTIONS_PER_CLIENT`` sockets open already is closed with 1013.

Then the protocol, with its close codes:
* ``connection_init`` must come within ``LIVE_CONNECTION_INIT_TIMEOUT`` (4408), once (4429). The caller is
  identified by the same ``CallerPolicy`` as HTTP requests, from the upgrade's headers (``Authorization``,
  ``X-Gateway-Key``, ``Cookie``, ``x-bf-vk``) and the payload's ``authorization`` or
  ``headers: {authorization, x-gateway-key, x-bf-vk}``; the holder of a virtual key may query ``myVirtualKey``
  only, as over HTTP (anything else gets an ``error`` message, ``FORBIDDEN``);
  credentials the policy refuses close the socket with 4403 (ambiguous ones, as HTTP's 400, with 4400). No
  credentials is not refused: subscriptions then get the answer queries without credentials get.
* ``subscribe`` before the ``connection_ack`` closes with 4401; a second ``subscribe`` with an id still running
  closes with 4409; beyond ``LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION`` running at once, the new one gets an
  ``error`` message (``TOO_MANY_SUBSCRIPTIONS``) and the socket stays open.
* a message that is not a JSON object with a known ``type`` and the fields it needs, or a binary frame, closes
  with 4400; a message above ``LIVE_MAX_MESSAGE_BYTES`` closes with 1009.
* ``ping`` is answered with ``pong``; the server sends a ``ping`` every ``LIVE_PING_INTERVAL`` to keep proxies
  from closing an idle socket.
* results go out as ``next``, then ``complete``; a document that does not validate gets ``error``. The client's
  ``complete`` stops its subscription (no answer); closing the socket stops them all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from contextlib import aclosing
from typing import Any

import orjson
from starlette.types import Message, Receive, Scope, Send

from app.web.callers import CallerPolicy, CallerRefused, IdentifiedCaller
from app.web.header_checks import MAX_AUTHORIZATION_BYTES, RefusedHeader, check_caller_headers
from app.web.subscriptions import LiveService, SubscriptionRefused, document_of, open_subscription

__all__ = ["PROTOCOL", "GraphQLTransportWS"]

PROTOCOL = "graphql-transport-ws"
log = logging.getLogger("app.web")
_PAYLOAD_HEADERS = ("authorization", "x-gateway-key", "x-bf-vk")
_MAX_ID_CHARS = 128


class _Close(Exception):
    """Close the socket with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class GraphQLTransportWS:
    """The ASGI app for WebSocket scopes at ``/graphql``.

    Example:
        >>> # edge = GatewayASGI(endpoint.handle, rest, websocket=GraphQLTransportWS(live, callers, ...))
    """

    def __init__(
        self,
        live: LiveService,
        callers: CallerPolicy,
        *,
        allowed_origins: list[str],
        init_timeout: float,
        ping_interval: float,
        max_message_bytes: int,
        max_subscriptions: int,
    ) -> None:
        self.live = live
        self.callers = callers
        self.allowed_origins = frozenset(origin.rstrip("/") for origin in allowed_origins)
        self.init_timeout = init_timeout
        self.ping_interval = ping_interval
        self.max_message_bytes = max_message_bytes
        self.max_subscriptions = max_subscriptions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", ())}
        if not self._origin_allowed(headers, scope):
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})  # 403 upgrade
            return
        offered = scope.get("subprotocols") or []
        if PROTOCOL not in offered:
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": 4406, "reason": "Subprotocol not acceptable"})
            return
        await send({"type": "websocket.accept", "subprotocol": PROTOCOL})
        address = scope["client"][0] if scope.get("client") else None
        if not self.live.connections.open(address):
            await send({"type": "websocket.close", "code": 1013, "reason": "too many connections from this client"})
            return
        connection = _Connection(self, scope, receive, send, address)
        started = time.perf_counter()
        try:
            await connection.run()
        finally:
            self.live.connections.close(address)
            log.info(
                "websocket",
                extra={
                    "request_id": connection.connection_id,
                    "caller": connection.caller.caller.log_name if connection.caller else None,
                    "subscriptions": connection.started,
                    "close_code": connection.close_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )

    def _origin_allowed(self, headers: Mapping[str, str], scope: Scope) -> bool:
        origin = headers.get("origin")
        if origin is None:
            return True  # not a browser: nothing rides on somebody else's cookie
        origin = origin.rstrip("/")
        if origin in self.allowed_origins or "*" in self.allowed_origins:
            return True
        host = headers.get("host")
        scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
        return host is not None and origin == f"{scheme}://{host}"


class _Connection:
    """One socket: its state, its running subscriptions and its heartbeat."""

    def __init__(self, ws: GraphQLTransportWS, scope: Scope, receive: Receive, send: Send, address: str | None):
        self.ws, self.scope, self.receive, self._send, self.address = ws, scope, receive, send, address
        self.caller: IdentifiedCaller | None = None
        self.init_received = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()
        self.closed = False
        self.close_code: int | None = None  # None: the client closed
        self.connection_id = os.urandom(8).hex()
        self.started = 0  # subscriptions started on this socket: each gets its own request id

    async def run(self) -> None:
        pinger: asyncio.Task[None] | None = None
        deadline = asyncio.get_running_loop().time() + self.ws.init_timeout
        try:
            while True:
                if self.init_received:
                    message = await self.receive()
                else:
                    remaining = deadline - asyncio.get_running_loop().time()
                    try:
                        message = await asyncio.wait_for(self.receive(), max(remaining, 0))
                    except TimeoutError:
                        raise _Close(4408, "Connection initialisation timeout") from None
                if message["type"] == "websocket.disconnect":
                    self.closed = True
                    return
                await self._handle(message)
                if self.caller is not None and pinger is None:
                    pinger = asyncio.create_task(self._ping())
        except _Close as close:
            await self.close(close.code, close.reason)
        finally:
            if pinger is not None:
                pinger.cancel()
            for task in list(self.operations.values()):
                task.cancel()
            await asyncio.gather(*self.operations.values(), return_exceptions=True)

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason[:120]})
        except Exception:  # the client left first
            return

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            if self.closed:
                raise ConnectionError("the socket is closed")
            try:
                await self._send({"type": "websocket.send", "text": orjson.dumps(message).decode()})
            except Exception as error:  # the client left (each server says so with its own exception)
                self.closed = True
                raise ConnectionError("the socket is closed") from error

    async def _handle(self, frame: Message) -> None:
        text = frame.get("text")
        if text is None:
            raise _Close(4400, "binary messages are not accepted")
        if len(text) > self.ws.max_message_bytes or len(text.encode()) > self.ws.max_message_bytes:
            raise _Close(1009, f"messages are limited to {self.ws.max_message_bytes} bytes")
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _Close(4400, "Invalid message received: not JSON") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _Close(4400, "Invalid message received: an object with a type is expected")
        kind = message["type"]
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            self._subscribe(message)
        elif kind == "complete":
            task = self.operations.pop(_id(message), None)
            if task is not None:
                task.cancel()
        else:
            raise _Close(4400, f"Invalid message received: unknown type {kind[:40]!r}")

    async def _init(self, payload: object) -> None:
        if self.init_received:
            raise _Close(4429, "Too many initialisation requests")
        self.init_received = True
        # Every upgrade header, as an HTTP request's: the policy reads the credentials and refuses misplaced keys.
        raw = list(self.scope.get("headers", ()))
        raw += _payload_headers(payload)
        try:
            for name, value in raw:
                if name == b"authorization":
                    check_caller_headers({"authorization": value.decode("latin-1")})
        except RefusedHeader as refused:
            raise _Close(4400, refused.message) from None
        try:
            self.caller = self.ws.callers.identify(_RawHeaders(raw))
        except CallerRefused as refused:
            raise _Close(4400 if refused.status == 400 else 4403, f"Forbidden: {refused.message}") from None
        await self.send({"type": "connection_ack"})

    def _subscribe(self, message: dict[str, Any]) -> None:
        if self.caller is None:
            raise _Close(4401, "Unauthorized")
        operation_id = _id(message)
        payload = message.get("payload")
        if not isinstance(payload, dict) or not _names_a_document(payload):
            raise _Close(4400, "Invalid message received: subscribe needs a payload with a query")
        if operation_id in self.operations:
            raise _Close(4409, f"Subscriber for {operation_id} already exists")
        if len(self.operations) >= self.ws.max_subscriptions:
            error = {
                "message": f"at most {self.ws.max_subscriptions} subscriptions may run on one connection",
                "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS"},
            }
            self.operations[operation_id] = asyncio.create_task(self._refuse(operation_id, [error]))
            return
        self.started += 1
        request_id = f"{self.connection_id}-{self.started}"  # the client's id is free text: not for log lines
        self.operations[operation_id] = asyncio.create_task(
            self._operate(operation_id, payload, self.caller, request_id)
        )

    async def _refuse(self, operation_id: str, errors: list[dict[str, Any]]) -> None:
        try:
            await self.send({"id": operation_id, "type": "error", "payload": errors})
        except Exception:  # the client left
            pass
        finally:
            self._forget(operation_id)

    async def _operate(
        self, operation_id: str, payload: dict[str, Any], caller: IdentifiedCaller, request_id: str
    ) -> None:
        try:
            stream = await open_subscription(
                self.ws.live,
                caller,
                document_of(self.ws.live, payload),
                payload.get("variables"),
                payload.get("operationName"),
                client_address=self.address,
                request_id=request_id,
            )
        except SubscriptionRefused as refused:
            await self._refuse(operation_id, refused.errors)
            return
        try:
            async with aclosing(stream):
                async for result in stream:
                    await self.send({"id": operation_id, "type": "next", "payload": result})
            self._forget(operation_id)  # before complete: the id may be used again once the client reads it
            await self.send({"id": operation_id, "type": "complete"})
        except ConnectionError:
            pass
        finally:
            self._forget(operation_id)

    def _forget(self, operation_id: str) -> None:
        if self.operations.get(operation_id) is asyncio.current_task():
            del self.operations[operation_id]

    async def _ping(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.ws.ping_interval)
                await self.send({"type": "ping"})
        except ConnectionError:
            return


class _RawHeaders:
    """Headers as ``CallerPolicy.identify`` reads them."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw


def _names_a_document(payload: dict[str, Any]) -> bool:
    extensions = payload.get("extensions")
    return (
        isinstance(payload.get("query"), str)
        or "documentId" in payload
        or (isinstance(extensions, dict) and "persistedQuery" in extensions)
    )


def _id(message: dict[str, Any]) -> str:
    operation_id = message.get("id")
    if not isinstance(operation_id, str) or not 0 < len(operation_id) <= _MAX_ID_CHARS:
        raise _Close(4400, f"Invalid message received: id must be a string of 1 to {_MAX_ID_CHARS} characters")
    return operation_id


def _payload_headers(payload: object) -> list[tuple[bytes, bytes]]:
    """The credential headers a ``connection_init`` payload carries: ``authorization`` at its top or in ``headers``."""
    if payload is None:
        return []
    if not isinstance(payload, dict):
        raise _Close(4400, "Invalid message received: the connection_init payload must be an object")
    given: list[tuple[str, object]] = []
    if "authorization" in payload:
        given.append(("authorization", payload["authorization"]))
    headers = payload.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            raise _Close(4400, "Invalid message received: connection_init payload.headers must be an object")
        given += [(name.lower(), value) for name, value in headers.items() if name.lower() in _PAYLOAD_HEADERS]
    raw = []
    for name, value in given:
        if not isinstance(value, str) or not value.isascii() or not value.isprintable():
            raise _Close(4400, f"connection_init payload: {name} must be a printable ASCII string")
        if len(value) > MAX_AUTHORIZATION_BYTES:
            raise _Close(4400, f"connection_init payload: {name} is longer than {MAX_AUTHORIZATION_BYTES} bytes")
        raw.append((name.encode(), value.encode()))
    return raw
