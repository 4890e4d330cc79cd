"""CPU per request of the HTTP protocol alone: uvicorn's httptools protocol vs LimitedHttpToolsProtocol.

A keep-alive connection with an in-memory transport feeds the same 300-byte POST again and again to a
trivial ASGI application, on uvloop; the two protocols alternate, 15 runs of 20,000 requests each. CPU
time (not wall time) is measured, so that other processes on the machine disturb the figure less than a
wrk run; what differs between the two is the cost of the limits on the path every request takes.

    python bench/edge_protocol.py
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.http_limits import HttpLimits, LimitedHttpToolsProtocol

REQUEST = (
    b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nUser-Agent: wrk\r\nAccept: */*\r\n"
    b"Content-Type: application/json\r\nContent-Length: 150\r\n\r\n" + b"x" * 150
)
RUNS, REQUESTS = 15, 20_000


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class Transport:
    """Counts writes (an answer is complete after ``expected``); enough of asyncio.Transport for the protocols."""

    def __init__(self) -> None:
        self.writes = 0
        self.expected = 0
        self.answered = asyncio.Event()

    def write(self, data: bytes) -> None:
        self.writes += 1
        if self.writes >= self.expected:
            self.answered.set()

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def microseconds_per_request(protocol_class: Any) -> float:
    config = Config(app, log_config=None, access_log=False, lifespan="off")
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    started = time.process_time()
    for _ in range(REQUESTS):
        transport.expected = transport.writes + 2  # status line and headers, then the body
        transport.answered.clear()
        protocol.data_received(REQUEST)
        await transport.answered.wait()
    return (time.process_time() - started) / REQUESTS * 1e6


async def main() -> None:
    limited = functools.partial(LimitedHttpToolsProtocol, limits=HttpLimits(16384, 100, 10, 10))
    results: dict[str, list[float]] = {"uvicorn": [], "limits": []}
    for _ in range(RUNS):
        results["uvicorn"].append(await microseconds_per_request(HttpToolsProtocol))
        results["limits"].append(await microseconds_per_request(limited))
    for name, runs in results.items():
        print(f"{name:8} {statistics.median(runs):6.2f} us CPU per request (median of {RUNS}; min {min(runs):.2f})")


if __name__ == "__main__":
    uvloop.run(main())
