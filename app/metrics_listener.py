"""``/metrics`` on a listener of its own (``METRICS_PORT``), and who may read the metrics (``METRICS_TOKEN``).

The listener is a threaded WSGI server (the standard library's, as prometheus-client's own
``start_http_server`` uses) so that it runs beside uvicorn in the process that starts the workers: with
several workers that process serves no requests and reads the workers' metrics from
``PROMETHEUS_MULTIPROC_DIR``. It lives outside ``app.web`` so that this process loads none of the web modules.
The token is compared in constant time; a request without it, or with another, is answered 401.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from pydantic import SecretStr

from app.observability import metrics_payload

__all__ = ["CHALLENGE", "MetricsAccess", "MetricsServer"]

CHALLENGE = {"www-authenticate": 'Bearer realm="metrics"'}


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


class _QuietHandler(WSGIRequestHandler):
    timeout = 10  # a client that stops sending holds its thread for this long at most

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
