#!/usr/bin/env python3
"""CPU per request of the served path without sockets: the HTTP server's protocol, uvicorn's glue and the app.

``endpoint.py`` calls the ASGI application directly; ``run.py`` serves it over real sockets, where the kernel
and the event loop's I/O share the core. This one sits between them: each request is the bytes wrk sends,
fed to the gateway's own HTTP protocol (``app/http_limits.py``, as ``python -m app`` configures uvicorn: the
same ``Config``, so uvicorn's proxy-headers middleware too) over an in-memory transport, on keep-alive
connections, with the upstream a canned wire (``endpoint.py``'s). What it adds to ``endpoint.py`` is what the
server does per request: parsing, the scope, the task, the middleware, the answer's bytes, the keep-alive timer.

    python bench/served.py                                # lookup-browsers, 3 rounds of 3,000 requests
    python bench/served.py --loads lookup,create --rounds 5
    python bench/served.py --loads lookup --profile tottime   # and a cProfile of one more round

Prints the best (minimum) of ``--rounds`` per load: microseconds of CPU per request at ``--concurrency``
connections.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import sys
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("GATEWAY_ENV", "production")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("BIFROST_URL", "http://127.0.0.1:9")  # never called: the wire is replaced below
os.environ.setdefault("BIFROST_API_GENERATION", "v2")

import uvloop
from endpoint import CannedWire, Load
from uvicorn.config import Config
from uvicorn.server import ServerState

from app.http_limits import server_options
from app.settings import load_settings
from app.web.app import bifrost_client_of, create_app


class Transport:
    """An in-memory socket: collects what the server writes and wakes the client once a whole answer is in."""

    def __init__(self, port: int) -> None:
        self.peer = ("127.0.0.1", port)
        self.buffer = bytearray()
        self.answered: asyncio.Future[bytes] | None = None
        self.closing = False

    def write(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        start = self.buffer.find(b"content-length: ", 0, end) + 16
        length = int(self.buffer[start : self.buffer.index(b"\r\n", start)])
        if len(self.buffer) >= end + 4 + length and self.answered is not None:
            answer = bytes(self.buffer)
            self.buffer.clear()
            self.answered.set_result(answer)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": self.peer}.get(name, default)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    abort = close

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False


def request_bytes(load: Load) -> bytes:
    """The next request of ``load`` as wrk writes it (``bench/wrk/graphql_load.lua``)."""
    body, headers = load.next()
    lines = [b"POST /graphql HTTP/1.1\r\n"]
    names = {b"host": b"Host", b"content-type": b"Content-Type", b"content-length": b"Content-Length"}
    for name, value in headers:
        lines.append(names.get(name, b"Authorization") + b": " + value + b"\r\n")
    return b"".join(lines) + b"\r\n" + body


async def rounds(protocols: list[tuple[Any, Transport]], load: Load, number: int) -> float:
    loop = asyncio.get_running_loop()

    async def client(protocol: Any, transport: Transport, count: int) -> None:
        for _ in range(count):
            transport.answered = loop.create_future()
            protocol.data_received(request_bytes(load))
            answer = await transport.answered
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            assert b'"errors"' not in answer, answer

    each = number // len(protocols)
    started = time.process_time()
    await asyncio.gather(*(client(protocol, transport, each) for protocol, transport in protocols))
    return (time.process_time() - started) / (each * len(protocols))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", default="lookup-browsers")
    parser.add_argument("--number", type=int, default=3000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20, help="keep-alive connections")
    parser.add_argument("--profile", metavar="SORT", help="cProfile one more round, sorted by SORT (tottime ...)")
    args = parser.parse_args()

    settings = load_settings()
    app = create_app(settings)
    wire = CannedWire()
    bifrost_client_of(app).wire = wire
    options = server_options(settings)
    config = Config(app, http=options["http"], timeout_keep_alive=options["timeout_keep_alive"], log_config=None)
    config.load()  # as uvicorn's server does: the proxy-headers middleware around the app
    state = ServerState()
    # As uvicorn's server sets them (and renews them every second): a date, then the configured ones.
    state.default_headers = [(b"date", formatdate(usegmt=True).encode()), *config.encoded_headers]
    protocols = []
    for n in range(args.concurrency):
        protocol = config.http_protocol_class(config=config, server_state=state, app_state={})
        transport = Transport(40000 + n)
        protocol.connection_made(transport)
        protocols.append((protocol, transport))
    for name in args.loads.split(","):
        load = Load(name)
        await rounds(protocols, load, 400)  # warm: documents prepared, metric series made
        gc.collect()
        gc.freeze()
        gc.set_threshold(200_000, 10, 10)  # as the served app does (app/web/asgi.py)
        best = min([await rounds(protocols, load, args.number) for _ in range(args.rounds)])
        print(f"{name:16s} {best * 1e6:7.1f} us CPU per request (best of {args.rounds})")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            await rounds(protocols, load, args.number)
            profile.disable()
            pstats.Stats(profile).sort_stats(args.profile).print_stats(int(os.environ.get("PROFILE_LINES", "40")))


if __name__ == "__main__":
    uvloop.run(main())
