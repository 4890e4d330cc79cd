"""``/metrics`` on a listener of its own (``METRICS_PORT``), and who may read the metrics (``METRICS_TOKEN``).

The listener is a threaded WSGI server (the standard library's, as prometheus-client's own
``start_http_server`` uses) so that it runs beside uvicorn in the process that starts the workers: with
several workers that process serves no requests and reads the workers' metrics from
``PROMETHEUS_MULTIPROC_DIR``. It lives outside ``app.web`` so that this process loads none of the web modules.
The token is compared in constant time; a request without it, or with another, is answered 401.

The standard library's server bounds neither the request head (a hundred lines of 64 KiB each) nor the
time a client may take to send it, and starts a thread for every connection: a few hundred connections
sending unfinished heads held gigabytes. Here a head is at most ``MAX_HEAD_BYTES`` (431 above), must
arrive within ``HEAD_SECONDS`` of the connection opening (408 after), and at most ``MAX_CONNECTIONS`` are
served at once (any more are closed unanswered): whatever clients do, the listener holds a few hundred KiB.
"""

from __future__ import annotations

import hmac
import socket
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from pydantic import SecretStr

from app.observability import metrics_payload

__all__ = ["CHALLENGE", "HEAD_SECONDS", "MAX_CONNECTIONS", "MAX_HEAD_BYTES", "MetricsAccess", "MetricsServer"]

CHALLENGE = {"www-authenticate": 'Bearer realm="metrics"'}
MAX_HEAD_BYTES = 8 * 1024
"""Request line and headers of one request; a scrape sends a few hundred bytes."""
HEAD_SECONDS = 10.0
"""Time from the connection opening until its head must be complete, however slowly it trickles in."""
MAX_CONNECTIONS = 32
"""Connections served at once; Prometheus scrapes a target over one connection at a time."""


class MetricsAccess:
    """Whether a request may read the metrics: any request without a token, else the token as a Bearer.

    Example:
        >>> access = MetricsAccess(SecretStr("s3cret-metrics-token"))
        >>> access.allows("Bearer s3cret-metrics-token"), access.allows("Bearer guess"), access.allows(None)
        (True, False, False)
    """

    def __init__(self, token: SecretStr | None) -> None:
        self._token = None if token is None else token.get_secret_value().encode()

    def allows(self, authorization: str | None) -> bool:
        """True when ``authorization`` (the header's value) grants access."""
        if self._token is None:
            return True
        scheme, _, given = (authorization or "").strip().partition(" ")
        matches = hmac.compare_digest(given.strip().encode("utf-8", "replace"), self._token)
        return matches and scheme.lower() == "bearer"


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _metrics_app(access: MetricsAccess) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("content-length", "0")])
            return [b""]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("allow", "GET"), ("content-length", "0")])
            return [b""]
        if not access.allows(environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [*CHALLENGE.items(), ("content-length", "0")])
            return [b""]
        payload, content_type = metrics_payload()
        start_response("200 OK", [("content-type", content_type), ("content-length", str(len(payload)))])
        return [payload] if environ["REQUEST_METHOD"] == "GET" else [b""]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # every slot taken: closed before any thread or buffer exists
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread started to give it back
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _HeadTooLarge(Exception):
    pass


class _HeadReader:
    """The connection's input, read with a byte budget and a deadline for the whole head.

    It stands in for ``rfile``: the request line and the headers are read through ``readline``, and
    each wait for the socket is given only the time left until the deadline, so a client trickling a
    byte at a time cannot stretch it.
    """

    def __init__(self, connection: socket.socket, max_bytes: int, seconds: float) -> None:
        self._connection = connection
        self._budget = max_bytes
        self._deadline = time.monotonic() + seconds
        self._buffer = bytearray()

    def readline(self, limit: int = -1) -> bytes:
        while True:
            end = self._buffer.find(b"\n") + 1
            if end == 0 and 0 <= limit <= len(self._buffer):
                end = limit
            if end:
                line = bytes(self._buffer[:end])
                del self._buffer[:end]
                return line
            if not self._fill():
                line = bytes(self._buffer)
                self._buffer.clear()
                return line

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._buffer) < size) and self._fill():
            pass
        end = len(self._buffer) if size < 0 else size
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data

    def _fill(self) -> bool:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self._connection.settimeout(left)
        chunk = self._connection.recv(4096)
        self._budget -= len(chunk)
        if self._budget < 0:
            raise _HeadTooLarge
        self._buffer += chunk
        return bool(chunk)

    def close(self) -> None:
        pass  # the socket is closed by the server


class _QuietHandler(WSGIRequestHandler):
    timeout = 10  # sending the answer to a client that does not read holds its thread this long at most

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self.rfile = _HeadReader(self.connection, MAX_HEAD_BYTES, HEAD_SECONDS)  # type: ignore[assignment]

    def handle(self) -> None:
        try:
            super().handle()
        except _HeadTooLarge:
            self._refuse(b"431 Request Header Fields Too Large")
        except TimeoutError:
            self._refuse(b"408 Request Timeout")
        except (ConnectionError, OSError):
            pass  # the client left

    def parse_request(self) -> bool:
        parsed: bool = super().parse_request()
        self.connection.settimeout(self.timeout)  # the head is in: the answer gets the usual time
        return parsed

    def _refuse(self, status: bytes) -> None:
        try:
            self.connection.settimeout(1)
            self.connection.sendall(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self.connection.shutdown(socket.SHUT_WR)
            # Closing with unread input would reset the connection, and the client could lose the answer:
            # drop a little of what it still sends first.
            for _ in range(16):
                if not self.connection.recv(65536):
                    break
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no line per scrape, and no client addresses on stderr


class MetricsServer:
    """``/metrics`` on a listener of its own, served from a daemon thread.

    Example:
        >>> # server = MetricsServer("127.0.0.1", 9100, MetricsAccess(None)); server.start(); ...; server.close()
    """

    def __init__(self, host: str, port: int, access: MetricsAccess) -> None:
        self._server = make_server(host, port, _metrics_app(access), _ThreadingServer, _QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen by the system when asked for port 0)."""
        port: int = self._server.server_address[1]
        return port

    def start(self) -> None:
        """Start serving in the background."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
