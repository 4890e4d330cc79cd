"""A fault-injecting HTTP/1.1 proxy for tests, listening on 127.0.0.1 in front of a real upstream.

The proxy parses each request, forwards it to the upstream (so a write really happens before a
response fault), and answers according to its current ``fault``, switchable at any time:

    connection level (every route)   REFUSED (listener closed), BLACKHOLE (SYNs dropped: connect timeout)
    route level (paths under match)  LATENCY, RESET (RST mid-body), STATUS (500/502/503, Retry-After),
                                     MALFORMED_JSON, WRONG_SHAPE, OVERSIZED (declared or chunked),
                                     STALL (no answer), HANG (half a body, never finished), DRIP (a byte
                                     at a time, forever)

STALL, HANG, DRIP and LATENCY with ``hold=True`` hold their answer until the test calls ``release()`` (or
``clear()``), then answer with the upstream's real body: a gateway that waited for the upstream rather than
its own timeout answers successfully, which the test can tell from a timeout error. ``released`` says
whether that has happened yet.

Example:
    >>> # proxy = await FaultProxy("http://127.0.0.1:8080").start()
    >>> # await proxy.set(Fault.STATUS, status=503, retry_after="1")
    >>> # await proxy.set(Fault.STALL); ...; proxy.release()
    >>> # await proxy.clear()
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
from dataclasses import dataclass, field

import httpx

__all__ = ["Fault", "FaultProxy", "Seen"]

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host", "te", "upgrade"}
)
_REASONS = {200: "OK", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Fault(enum.Enum):
    """What the proxy does to the requests it matches."""

    PASS = "pass"
    LATENCY = "latency"
    REFUSED = "refused"
    BLACKHOLE = "blackhole"
    RESET = "reset"
    STATUS = "status"
    MALFORMED_JSON = "malformed-json"
    WRONG_SHAPE = "wrong-shape"
    OVERSIZED = "oversized"
    OVERSIZED_CHUNKED = "oversized-chunked"
    STALL = "stall"
    HANG = "hang"
    DRIP = "drip"


@dataclass(frozen=True)
class Seen:
    """One request the proxy received: method, path (with query) and the fault applied to it."""

    method: str
    path: str
    fault: Fault


@dataclass
class _Plan:
    fault: Fault = Fault.PASS
    match: str = "/api/governance/teams"
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    size: int = 4 * 1024 * 1024
    times: int | None = None  # fault only the next N matching requests
    hold: bool = False  # LATENCY: wait for release() instead of ``delay``


@dataclass
class FaultProxy:
    """The proxy; ``url`` is its base URL once started."""

    upstream_url: str
    seen: list[Seen] = field(default_factory=list)
    _plan: _Plan = field(default_factory=_Plan)
    _server: asyncio.Server | None = None
    _port: int = 0
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _blackhole: list[socket.socket] = field(default_factory=list)
    _upstream: httpx.AsyncClient | None = None
    _arrival: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    dripped: int = 0  # bytes of body sent by DRIP since the fault was set

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def fault(self) -> Fault:
        """The current fault."""
        return self._plan.fault

    @property
    def released(self) -> bool:
        """Whether held answers have been let go (``release()`` or ``clear()``) since the fault was set."""
        return self._release.is_set()

    def release(self) -> None:
        """Let every held answer go: each is answered with the upstream's real body."""
        self._release.set()

    def requests(self, method: str | None = None, prefix: str = "/api/governance") -> list[Seen]:
        """Requests received, optionally filtered by method and path prefix."""
        return [s for s in self.seen if (method is None or s.method == method) and s.path.startswith(prefix)]

    async def arrived(self, method: str, prefix: str) -> None:
        """Wait (at most 5 s) until a request matching ``method`` and ``prefix`` has been received."""
        async with asyncio.timeout(5):
            while not self.requests(method, prefix):
                event = self._arrival
                await event.wait()

    async def start(self) -> FaultProxy:
        """Listen on a random port of 127.0.0.1."""
        self._upstream = httpx.AsyncClient(base_url=self.upstream_url, timeout=30, trust_env=False)
        await self._listen()
        return self

    async def stop(self) -> None:
        """Close the listener, every connection and the upstream client."""
        self._close_blackhole()
        if self._server is not None:
            self._server.close()
            self._server = None
        self._drop_connections()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._upstream is not None:
            await self._upstream.aclose()

    async def set(
        self,
        fault: Fault,
        *,
        match: str = "/api/governance/teams",
        status: int = 503,
        retry_after: str | None = None,
        delay: float = 0.0,
        size: int = 4 * 1024 * 1024,
        times: int | None = None,
        hold: bool = False,
    ) -> None:
        """Switch to ``fault`` for paths starting with ``match`` (connection faults hit every path)."""
        await self.clear()
        self._plan = _Plan(fault, match, status, retry_after, delay, size, times, hold)
        self._release = asyncio.Event()
        self.dripped = 0
        if fault in (Fault.REFUSED, Fault.BLACKHOLE):
            assert self._server is not None
            self._server.close()
            self._server = None
            self._drop_connections()  # pooled keep-alive connections die with the listener
            if fault is Fault.BLACKHOLE:
                self._open_blackhole()
            await asyncio.sleep(0.05)  # let clients see their pooled connections close

    async def clear(self) -> None:
        """Back to pass-through (held answers are released), listening again on the same port if needed."""
        self._plan = _Plan()
        self._release.set()
        self._close_blackhole()
        if self._server is None:
            await self._listen()

    # Listening -------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port, reuse_address=True)
        self._port = self._server.sockets[0].getsockname()[1]

    def _open_blackhole(self) -> None:
        # A listener whose accept queue is full and never drained: the kernel drops further SYNs,
        # so a client's connect neither succeeds nor is refused until its own timeout.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self._port))
        listener.listen(0)
        self._blackhole.append(listener)
        for _ in range(2):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self._port))
            self._blackhole.append(filler)

    def _close_blackhole(self) -> None:
        for sock in self._blackhole:
            sock.close()
        self._blackhole.clear()

    def _drop_connections(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    # Serving ---------------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self._writers.add(writer)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # the client left, or the proxy is stopping
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.transport.abort()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection is over."""
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in header_lines if ":" in line]
        lowered = {name.lower(): value for name, value in headers}
        body = await _read_body(reader, lowered)
        plan = self._plan
        fault = plan.fault if target.startswith(plan.match) else Fault.PASS
        if fault is not Fault.PASS and plan.times is not None:
            if plan.times <= 0:
                fault = Fault.PASS
            else:
                plan.times -= 1
        self.seen.append(Seen(method, target, fault))
        self._arrival.set()
        self._arrival = asyncio.Event()
        if fault is Fault.LATENCY and plan.hold:
            await self._release.wait()
        elif fault is Fault.LATENCY:
            await asyncio.sleep(plan.delay)
        forward = {name: value for name, value in headers if name.lower() not in _HOP_BY_HOP}
        assert self._upstream is not None
        upstream = await self._upstream.request(method, target, headers=forward, content=body)
        if fault in (Fault.PASS, Fault.LATENCY):
            keep: list[tuple[str, str]] = [
                (k, v) for k, v in upstream.headers.multi_items() if k.lower() not in _HOP_BY_HOP
            ]
            await _respond(writer, upstream.status_code, keep, upstream.content)
            return lowered.get("connection", "").lower() != "close"
        await self._misbehave(fault, plan, upstream.content, reader, writer)
        return fault in (Fault.STATUS, Fault.MALFORMED_JSON, Fault.WRONG_SHAPE)

    async def _misbehave(
        self,
        fault: Fault,
        plan: _Plan,
        real_body: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        json_type = [("content-type", "application/json")]
        if fault is Fault.STATUS:
            headers = json_type + ([("retry-after", plan.retry_after)] if plan.retry_after is not None else [])
            envelope = (
                b'{"is_bifrost_error":false,"status_code":%d,"error":{"message":"injected fault"},"extra_fields":{}}'
                % plan.status
            )
            await _respond(writer, plan.status, headers, envelope)
        elif fault is Fault.MALFORMED_JSON:
            await _respond(writer, 200, json_type, real_body[: max(1, len(real_body) // 2)] + b"\x00}{")
        elif fault is Fault.WRONG_SHAPE:
            await _respond(writer, 200, json_type, b'{"team": [1, 2], "teams": {"id": 3}, "virtual_keys": "x"}')
        elif fault is Fault.OVERSIZED:
            await _respond(writer, 200, json_type, b'{"team": {"name": "' + b"a" * plan.size + b'"}}')
        elif fault is Fault.OVERSIZED_CHUNKED:
            await _start(writer, 200, [*json_type, ("transfer-encoding", "chunked")])
            chunk = b"a" * 65536
            with contextlib.suppress(ConnectionError):
                for _ in range(plan.size // len(chunk) + 1):
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        elif fault is Fault.RESET:
            await _start(writer, 200, [*json_type, ("content-length", str(len(real_body)))])
            writer.write(real_body[: len(real_body) // 2])
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # linger 0: the kernel sends RST, not FIN
        elif fault is Fault.STALL:
            if await self._held(reader):
                await _respond(writer, 200, json_type, real_body)
        elif fault is Fault.HANG:
            await _start(writer, 200, [*json_type, ("content-length", str(len(real_body) + 100))])
            half = len(real_body) // 2
            writer.write(real_body[:half])
            await writer.drain()
            if await self._held(reader):
                writer.write(real_body[half:] + b" " * 100)  # JSON may end in whitespace
                await writer.drain()
        elif fault is Fault.DRIP:
            await _start(writer, 200, [*json_type, ("transfer-encoding", "chunked")])
            release = self._release  # this fault's, even if the test sets another meanwhile
            while not release.is_set():
                writer.write(b"1\r\n \r\n")  # JSON may start with whitespace
                await writer.drain()
                self.dripped += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(release.wait(), plan.delay or 0.05)
            writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(real_body), real_body))
            await writer.drain()

    async def _held(self, reader: asyncio.StreamReader) -> bool:
        """Wait until the test releases the answer (True) or the client gives up and closes (False)."""
        released = asyncio.ensure_future(self._release.wait())
        closed = asyncio.ensure_future(reader.read())
        try:
            done, _ = await asyncio.wait({released, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            released.cancel()
            closed.cancel()
        return released in done


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                return b"".join(parts)
            parts.append(data[:-2])
    length = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(length) if length else b""


async def _start(writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]]) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", *(f"{k}: {v}" for k, v in headers)]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def _respond(writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    await _start(writer, status, [*headers, ("content-length", str(len(body)))])
    writer.write(body)
    await writer.drain()
