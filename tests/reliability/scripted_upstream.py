"""A raw HTTP/1.1 server on 127.0.0.1 whose answers are scripted by path, for testing the wires byte by byte.

Each connection is served in a keep-alive loop; the server counts the connections it accepts and how many are
open at once, and keeps every request it parsed. The first path segment picks the answer:

    /echo          200, a JSON body describing the request (method, raw target, header pairs, body)
    /status/503    that status, with ``Retry-After: 7`` and ``Deprecation: true``
    /redirect      302 to /echo
    /cookies       three ``Set-Cookie`` headers, in order; /cookies-latin1: one with a byte outside ASCII
    /chunked       a chunked body of 64 chunks of 1 KiB
    /gzip, /deflate            a compressed JSON body; /broken-gzip: ``Content-Encoding: gzip`` over garbage
    /huge-declared ``Content-Length: 10**12`` and a few bytes, then held
    /endless       a chunked body that never ends (until the client goes)
    /slow-head     the answer starts 0.3 s late
    /silent        the request is read and never answered (until the client goes)
    /reset-head    the request is read, then the connection is reset (RST) before any answer
    /reset-body    half of a declared body, then a reset
    /drip          one byte of a 64-byte body each ``drip`` seconds
    /gate          held until ``open_gate()``, then 200

Answers that lie or attack the client:

    /short-body    ``Content-Length: 100``, ten bytes, then a clean close
    /two-lengths   two different ``Content-Length`` headers
    /bad-chunk     a chunked body whose size line is not hexadecimal
    /long-header   one header line of 100 KiB; /many-cookies: 10,000 ``Set-Cookie`` headers
    /extra-answer  a whole answer and, in the same write, a second one nobody asked for
    /early-answer  413 and ``Connection: close`` before the request's body is read (then it is read)
    /continue      ``100 Continue``, then the answer
    /until-close   an answer with no length and no chunks: its body ends when the connection does
    /close-after   an answer that says keep-alive, then the connection is closed
    /bomb          a gzip body of about 1 MiB that inflates to 1 GiB of zeros
    /cut-gzip      a gzip body cut in half (its length declared as the half)
    /endless-head  a header line that never ends, one KiB at a time (until the client goes)
    /upgrade       ``101 Switching Protocols``, asked for by nobody
    /trickle       a chunked gzip answer with cookies, sent one byte at a time (every read a piece of it)

``ScriptedUpstream(tls=context)`` serves over TLS (``url`` then starts with ``https``).

``ScriptedUpstream(only="silent")`` answers every path as /silent (for a gateway whose paths are its own).

Example:
    >>> # server = await ScriptedUpstream().start(); ...; await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
import struct
import zlib

import orjson

__all__ = ["Received", "ScriptedUpstream", "blackhole_listener", "closed_port"]

_JSON = b"Content-Type: application/json\r\n"


class Received:
    """One request as the server parsed it."""

    __slots__ = ("body", "connection", "headers", "method", "target")

    def __init__(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, connection: int):
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.connection = connection


class ScriptedUpstream:
    """The scripted server; ``url`` once started."""

    def __init__(self, *, drip: float = 0.2, only: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.drip = drip
        self.tls = tls
        self.only = only  # answer every request as this route, whatever its path
        self.received: list[Received] = []
        self.accepted = 0
        self.open = 0
        self.most_open = 0
        self.in_gate = 0
        self.gate_filled = asyncio.Event()
        self.gate_size = 1
        self.all_closed = asyncio.Event()
        self._gate = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> ScriptedUpstream:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and end every connection."""
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def open_gate(self) -> None:
        """Answer every request held at /gate, and those that come later."""
        self._gate.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.accepted += 1
        connection = self.accepted
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        self.all_closed.clear()
        try:
            while await self._serve_one(reader, writer, connection):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went, or the server stops
        finally:
            self.open -= 1
            if self.open == 0:
                self.all_closed.set()
            writer.close()
            self._tasks.discard(task)

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
        length = next((int(value) for name, value in headers if name.lower() == "content-length"), 0)
        if (self.only or target.split("/")[1]) == "early-answer":
            self.received.append(Received(method, target, headers, b"", connection))
            return await self._answer_early(reader, writer, length)
        body = await reader.readexactly(length) if length else b""
        self.received.append(Received(method, target, headers, body, connection))
        route = self.only or target.split("?", 1)[0].split("/")[1]
        return await self._answer(route, target, writer, reader, self.received[-1])

    async def _answer_early(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, length: int) -> bool:
        await _respond(writer, 413, b"Connection: close\r\n" + _JSON, b'{"error":"too large"}')
        await reader.readexactly(length)
        return False

    async def _answer(
        self, route: str, target: str, writer: asyncio.StreamWriter, reader: asyncio.StreamReader, request: Received
    ) -> bool:
        if route == "echo":
            described = {"method": request.method, "target": target, "headers": request.headers}
            described["body"] = request.body.decode("latin-1")
            await _respond(writer, 200, _JSON, orjson.dumps(described))
        elif route == "status":
            status = int(target.split("/")[2])
            await _respond(writer, status, b"Retry-After: 7\r\nDeprecation: true\r\n" + _JSON, b'{"error":"x"}')
        elif route == "redirect":
            await _respond(writer, 302, b"Location: /echo\r\n", b"")
        elif route == "cookies":
            cookies = b"".join(b"Set-Cookie: c%d=v%d; Path=/; HttpOnly\r\n" % (i, i) for i in (3, 1, 2))
            await _respond(writer, 200, cookies + _JSON, b"{}")
        elif route == "cookies-latin1":
            await _respond(writer, 200, b"Set-Cookie: c=caf\xe9\r\n" + _JSON, b"{}")
        elif route == "chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + _JSON + b"\r\n")
            for _ in range(64):
                writer.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        elif route in ("gzip", "deflate", "broken-gzip"):
            plain = orjson.dumps({"compressed": route, "filler": "y" * 4000})
            encoded = {"gzip": gzip.compress, "deflate": zlib.compress}.get(route, lambda _: b"\x1f\x8bnot gzip")(plain)
            encoding = b"gzip" if route == "broken-gzip" else route.encode()
            await _respond(writer, 200, b"Content-Encoding: " + encoding + b"\r\n" + _JSON, encoded)
        elif route == "huge-declared":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n" + _JSON + b"\r\n{}")
            await writer.drain()
            await reader.read()  # until the client goes
            return False
        elif route == "endless":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + _JSON + b"\r\n")
            while True:  # ends with ConnectionError once the client has gone
                writer.write(b"4000\r\n" + b"z" * 0x4000 + b"\r\n")
                await writer.drain()
        elif route == "slow-head":
            await asyncio.sleep(0.3)  # the answer's first byte late, within the client's 1 s read timeout
            await _respond(writer, 200, _JSON, b'{"late":true}')
        elif route == "silent":
            await reader.read()
            return False
        elif route == "reset-head":
            _reset(writer)
            return False
        elif route == "reset-body":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n" + _JSON + b"\r\n" + b"{" * 50)
            await writer.drain()
            _reset(writer)
            return False
        elif route == "drip":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n" + _JSON + b"\r\n")
            for _ in range(64):
                await asyncio.sleep(self.drip)
                writer.write(b" ")
                await writer.drain()
        elif route == "gate":
            self.in_gate += 1
            if self.in_gate >= self.gate_size:
                self.gate_filled.set()
            await self._gate.wait()
            await _respond(writer, 200, _JSON, b"{}")
        elif route in _LIES:
            writer.write(_LIES[route])
            await writer.drain()
            return False  # closed after the answer, whatever it said
        elif route == "endless-head":
            writer.write(b"HTTP/1.1 200 OK\r\nX-More: ")
            while True:  # ends with ConnectionError once the client has gone
                writer.write(b"m" * 1024)
                await writer.drain()
        elif route == "trickle":
            for byte in _TRICKLED:
                writer.write(bytes((byte,)))
                await writer.drain()
                await asyncio.sleep(0)  # the client's loop turns between bytes: each read is a byte or a few
        elif route == "close-after":
            await _respond(writer, 200, b"Connection: keep-alive\r\n" + _JSON, b"{}")
            return False
        elif route == "extra-answer":
            await _respond(writer, 200, _JSON, b'{"asked":true}')
            await _respond(writer, 200, _JSON, b'{"asked":false}')
        elif route == "continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await _respond(writer, 200, _JSON, b'{"continued":true}')
        elif route in ("bomb", "cut-gzip"):
            body = _BOMB if route == "bomb" else _CUT_GZIP
            await _respond(writer, 200, b"Content-Encoding: gzip\r\n" + _JSON, body)
        else:
            await _respond(writer, 404, _JSON, b"{}")
        return True


async def _respond(writer: asyncio.StreamWriter, status: int, headers: bytes, body: bytes) -> None:
    head = b"HTTP/1.1 %d Scripted\r\nContent-Length: %d\r\n" % (status, len(body))
    writer.write(head + headers + b"\r\n" + body)
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _gzip_bomb(segments: int) -> bytes:
    """A gzip body of ``segments`` MiB of zeros, about 1 KiB per MiB, made in milliseconds.

    Each MiB is compressed once after a full flush (which resets the compressor), so the same bytes repeat;
    the trailer's checksum covers two MiB only, which a client that stops at its limit never reaches.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first + segment * (segments - 1) + compressor.flush()


_BOMB = _gzip_bomb(1024)
_CUT_GZIP = gzip.compress(orjson.dumps({"filler": "y" * 4000}))[:-20]
_HEAD = b"HTTP/1.1 200 OK\r\n" + _JSON
TRICKLED_BODY = orjson.dumps({"trickled": True, "filler": "t" * 200})
_TRICKLED_GZIP = gzip.compress(TRICKLED_BODY)
_TRICKLED = (
    b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nRetry-After: 7\r\nSet-Cookie: b=2\r\nContent-Encoding: gzip\r\n"
    + b"Transfer-Encoding: chunked\r\nDeprecation: true\r\n\r\n"
    + b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (_TRICKLED_GZIP[:40], _TRICKLED_GZIP[40:]))
    + b"0\r\n\r\n"
)
_LIES = {
    "short-body": _HEAD + b"Content-Length: 100\r\n\r\n" + b"{" * 10,
    "two-lengths": _HEAD + b"Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
    "bad-chunk": _HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "long-header": _HEAD + b"X-Long: " + b"a" * 100 * 1024 + b"\r\nContent-Length: 2\r\n\r\n{}",
    "many-cookies": _HEAD + b"Set-Cookie: c=v; Path=/\r\n" * 10_000 + b"Content-Length: 2\r\n\r\n{}",
    "until-close": _HEAD + b"\r\n" + b'{"until":"close"}',
    "upgrade": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\nraw",
}


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (a connection to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def blackhole_listener() -> tuple[int, list[socket.socket]]:
    """A port whose accept queue is full and never drained: the kernel drops SYNs, so connects time out.

    Returns the port and the sockets to close afterwards.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    held = [listener]
    for _ in range(2):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        held.append(filler)
    return port, held
