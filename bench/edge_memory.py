"""What slow and oversized clients cost the gateway process, with the HTTP server's limits and without.

The issue's three cases, against ``python -m app`` (one worker) in front of the embedded upstream:

* ``headers``: 40 connections, each sending an unfinished 10 MB header;
* ``bodies``: 300 connections, each sending 1 MB less one byte of a 1 MB body, then nothing;
* ``idle``: 200 connections that send nothing.

For each: the gateway's RSS before and after, and how many of the connections the gateway has closed
by the time the timeouts (``--timeout`` seconds, for both HEADER_TIMEOUT and BODY_TIMEOUT) have passed.

    python bench/edge_memory.py                      # both variants, about a minute
    python bench/edge_memory.py --variants limits
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
from pathlib import Path

from edge_limits import PYTHON, ROOT, VARIANTS, free_port, wait_until_up

HEAD = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Big: "
CHUNK = b"a" * 65536
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def open_all(port: int, count: int) -> list[Connection]:
    return [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]


async def push(writer: asyncio.StreamWriter, first: bytes, size: int) -> None:
    """Send ``first`` then ``size`` bytes of filler; stop quietly when the server has had enough."""
    try:
        writer.write(first)
        sent = 0
        while sent < size:
            piece = CHUNK[: min(len(CHUNK), size - sent)]
            writer.write(piece)
            await asyncio.wait_for(writer.drain(), 5)
            sent += len(piece)
    except (ConnectionError, TimeoutError):
        pass


async def closed_by_server(connections: list[Connection]) -> int:
    async def is_closed(reader: asyncio.StreamReader) -> bool:
        try:
            while await asyncio.wait_for(reader.read(65536), 0.2):
                pass
            return True
        except TimeoutError:
            return False
        except ConnectionError:
            return True

    return sum(await asyncio.gather(*(is_closed(reader) for reader, _ in connections)))


async def case(name: str, pid: int, port: int, limit_seconds: float) -> str:
    before = rss_mb(pid)
    if name == "headers":
        connections = await open_all(port, 40)
        await asyncio.gather(*(push(writer, HEAD, 10 * 1024 * 1024) for _, writer in connections))
    elif name == "bodies":
        connections = await open_all(port, 300)
        head = (
            b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1048576\r\n\r\n"
        )
        await asyncio.gather(*(push(writer, head, 1048575) for _, writer in connections))
    else:
        connections = await open_all(port, 200)
    loaded = rss_mb(pid)
    await asyncio.sleep(limit_seconds + 1)  # the timeouts under test
    closed = await closed_by_server(connections)
    after = rss_mb(pid)
    for _, writer in connections:
        writer.close()
    return (
        f"{name:8} RSS {before:6.0f} -> {loaded:6.0f} MB while sending, {after:6.0f} MB after {limit_seconds + 1:g} s; "
        f"closed by the gateway: {closed}/{len(connections)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--timeout", type=float, default=3.0, help="HEADER_TIMEOUT and BODY_TIMEOUT, seconds")
    args = parser.parse_args()
    up_port = free_port()
    upstream = subprocess.Popen(
        [PYTHON, "-m", "app.embedded_bifrost", "--port", str(up_port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        wait_until_up(f"http://127.0.0.1:{up_port}/health")
        for variant in args.variants:
            port = free_port()
            env = {
                "PATH": "/usr/bin:/bin",
                "BIFROST_URL": f"http://127.0.0.1:{up_port}",
                "GATEWAY_PORT": str(port),
                "LOG_LEVEL": "WARNING",
                "HTTP_EDGE_LIMITS": VARIANTS[variant],
                "HEADER_TIMEOUT": str(args.timeout),
                "BODY_TIMEOUT": str(args.timeout),
            }
            gateway = subprocess.Popen(
                [PYTHON, "-m", "app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                wait_until_up(f"http://127.0.0.1:{port}/healthz")
                print(f"HTTP_EDGE_LIMITS={VARIANTS[variant]}")
                for name in ("headers", "bodies", "idle"):
                    print("  " + asyncio.run(case(name, gateway.pid, port, args.timeout)), flush=True)
            finally:
                gateway.terminate()
                gateway.wait(timeout=30)
    finally:
        upstream.terminate()
        upstream.wait(timeout=30)


if __name__ == "__main__":
    main()
