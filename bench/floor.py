"""The floor: the least a Python process does to answer the bench's team lookup from the upstream.

Not a gateway. It answers ``run.py``'s lookup document (``{"variables": {"id": ...}}``) by one
``GET /api/governance/teams/{id}`` and reshapes the JSON, with what any Python gateway would run on at
least: uvloop, httptools on both sides, orjson, a task per request and pooled keep-alive upstream
connections. It has no GraphQL, validation, limits, timeouts, metrics, errors worth the name or
hardening of any kind, so it must never serve anything but a benchmark on 127.0.0.1.

What it is for: ``run.py --gateways ours,floor,tailcall`` puts it beside ours and Tailcall on the
lookup loads. Its CPU per request is what the language and the event loop cost. Two of our layers can
be put on it, one at a time or both, to price them served (``run.py`` gateways ``floor-server``,
``floor-client``, ``floor-both``):

- ``--our-server``: the same work as an ASGI app under our HTTP server (uvicorn with the gateway's own
  protocol, ``app.http_limits.server_options``, answers written by ``respond_directly``);
- ``--our-client``: the read through our Bifrost client (``BifrostClient.session().get_team``: the
  wire, the call slots, the breaker, pydantic's parse), the answer made from the parsed team.

- ``--our-execution`` (with both: ``floor-all``): the lookup document run by our executor over our client
  (compiled execution, loaders), the answer serialised as the endpoint does.

What ours spends above ``floor-all`` is the GraphQL endpoint's pipeline: the caller, the document's
checks, coalescing, metrics, the request id, the log line, the response.

    BIFROST_URL=http://127.0.0.1:8081 python bench/floor.py 8090 [--our-server] [--our-client]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httptools
import orjson
import uvloop

_TYPENAME = orjson.dumps({"data": {"__typename": "Query"}})
_NOT_FOUND = orjson.dumps({"data": {"team": None}})


class Upstream(asyncio.Protocol):
    """One keep-alive connection to the upstream; one call at a time."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body, self.body = b"".join(self.body), []
        waiter, self.waiter = self.waiter, None
        self.pool.release(self)
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.lost(self)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("upstream connection lost"))


class Pool:
    """Up to ``size`` upstream connections; callers wait their turn first come, first served."""

    def __init__(self, host: str, port: int, size: int = 8) -> None:
        self.host, self.port, self.size = host, port, size
        self.opened = 0
        self.free: list[Upstream] = []
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def get(self, path: str, authorization: bytes | None) -> tuple[int, bytes]:
        while not self.free:
            if self.opened < self.size:
                self.opened += 1
                loop = asyncio.get_running_loop()
                _, opened = await loop.create_connection(lambda: Upstream(self), self.host, self.port)
                self.free.append(opened)
                break
            turn = asyncio.get_running_loop().create_future()
            self.waiting.append(turn)
            await turn
        connection = self.free.pop()
        head = b"GET %s HTTP/1.1\r\nhost: %s:%d\r\naccept: application/json\r\n" % (
            path.encode(),
            self.host.encode(),
            self.port,
        )
        if authorization is not None:
            head += b"authorization: " + authorization + b"\r\n"
        waiter = connection.waiter = asyncio.get_running_loop().create_future()
        assert connection.transport is not None
        connection.transport.write(head + b"\r\n")
        return await waiter

    def release(self, connection: Upstream) -> None:
        self.free.append(connection)
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                break

    def lost(self, connection: Upstream) -> None:
        self.opened -= 1
        if connection in self.free:
            self.free.remove(connection)


def answer(status: int, raw: bytes) -> bytes:
    """The bench lookup's answer from the upstream's team JSON."""
    if status != 200:
        return _NOT_FOUND
    team = orjson.loads(raw)["team"]
    customer = team.get("customer")
    return orjson.dumps(
        {
            "data": {
                "team": {
                    "id": team["id"],
                    "name": team["name"],
                    "customer": {"id": customer["id"], "name": customer["name"]} if customer else None,
                    "budgets": [{"id": b["id"], "maxLimit": b["max_limit"]} for b in team.get("budgets") or []],
                }
            }
        }
    )


Fetch = Callable[[str, bytes | None], Awaitable[bytes]]
"""A lookup's answer from the team's path and the caller's Authorization header."""


def floor_fetch() -> Fetch:
    upstream = urlsplit(os.environ["BIFROST_URL"])
    pool = Pool(upstream.hostname or "127.0.0.1", upstream.port or 80)

    async def fetch(path: str, authorization: bytes | None) -> bytes:
        return answer(*await pool.get(path, authorization))

    return fetch


def our_fetch(execution: bool = False) -> Fetch:
    """The read through our Bifrost client, as the gateway builds it from its settings; with ``execution``, the
    lookup document run by our executor over it (loaders, compiled execution, errors made safe)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from app.bifrost.errors import BifrostNotFound
    from app.schema.context import GatewayContext
    from app.schema.loaders import Loaders
    from app.settings import load_settings
    from app.web.app import bifrost_client_of, build_executor, create_app

    settings = load_settings()
    client = bifrost_client_of(create_app(settings))
    # As the gateway's workers do (app/web/asgi.py): start-up objects frozen, young collections every 200k objects.
    gc.collect()
    gc.freeze()
    gc.set_threshold(200_000, 10, 10)
    if execution:
        executor = build_executor(settings)
        prepared = executor.prepare(
            "query Team($id: ID!) { team(id: $id) { id name customer { id name } budgets { id maxLimit } } }", None
        )

        async def execute(path: str, authorization: bytes | None) -> bytes:
            session = client.session({"authorization": authorization.decode()} if authorization is not None else {})
            context = GatewayContext(bifrost=session, loaders=Loaders(session, settings.dataloader_concurrency))
            variables = {"id": path.rsplit("/", 1)[1]}
            try:
                result = await executor.execute(prepared, variables=variables, context=context, operation_name=None)
            finally:
                context.loaders.close()
            return orjson.dumps({"data": result.data})

        return execute

    async def fetch(path: str, authorization: bytes | None) -> bytes:
        session = client.session({"authorization": authorization.decode()} if authorization is not None else {})
        try:
            team = await session.get_team(path.rsplit("/", 1)[1])
        except BifrostNotFound:
            return _NOT_FOUND
        customer = team.customer
        return orjson.dumps(
            {
                "data": {
                    "team": {
                        "id": team.id,
                        "name": team.name,
                        "customer": {"id": customer.id, "name": customer.name} if customer else None,
                        "budgets": [{"id": b.id, "maxLimit": b.max_limit} for b in team.budgets or []],
                    }
                }
            }
        )

    return fetch


class Client(asyncio.Protocol):
    """One client connection: requests answered in order, one at a time (wrk does not pipeline)."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.body: list[bytes] = []
        self.authorization: bytes | None = None
        self.task: asyncio.Future[None] | None = None  # the lookup in flight (kept: the loop holds tasks weakly)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_message_begin(self) -> None:
        self.body, self.authorization = [], None

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"authorization":
            self.authorization = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        variables: Any = orjson.loads(b"".join(self.body)).get("variables") or {}
        team_id = variables.get("id")
        if not isinstance(team_id, str):  # the readiness probe's { __typename }
            self.reply(_TYPENAME)
            return
        self.task = asyncio.ensure_future(self.lookup("/api/governance/teams/" + team_id, self.authorization))

    async def lookup(self, path: str, authorization: bytes | None) -> None:
        self.reply(await self.fetch(path, authorization))

    def reply(self, body: bytes) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )


async def serve(port: int, fetch: Fetch) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Client(fetch), "127.0.0.1", port, backlog=1024)
    await server.serve_forever()


def serve_under_our_server(port: int, fetch: Fetch) -> None:
    """The same work as an ASGI app, under uvicorn with the gateway's own HTTP protocol and settings."""
    import uvicorn

    from app.http_limits import direct_cycle, respond_directly, server_options
    from app.settings import load_settings

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        authorization = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        team_id = (orjson.loads(body).get("variables") or {}).get("id")
        out = (
            _TYPENAME
            if not isinstance(team_id, str)
            else await fetch("/api/governance/teams/" + team_id, authorization)
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(out))]
        cycle = direct_cycle(scope, receive)
        if cycle is not None and respond_directly(cycle, 200, headers, out):
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})

    options = server_options(load_settings())
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", access_log=False, log_level="warning", **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--our-server", action="store_true", help="serve through our HTTP server (uvicorn)")
    parser.add_argument("--our-client", action="store_true", help="read through our Bifrost client")
    parser.add_argument("--our-execution", action="store_true", help="run the document by our executor (and client)")
    args = parser.parse_args()
    ours = args.our_client or args.our_execution
    if args.our_server:  # uvicorn makes its own loop: the client is made inside it, on first use
        made: list[Fetch] = []

        async def fetch(path: str, authorization: bytes | None) -> bytes:
            if not made:
                made.append(our_fetch(args.our_execution) if ours else floor_fetch())
            return await made[0](path, authorization)

        serve_under_our_server(args.port, fetch)
        return
    uvloop.run(serve(args.port, our_fetch(args.our_execution) if ours else floor_fetch()))


if __name__ == "__main__":
    main()
