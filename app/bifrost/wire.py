"""The wire under the Bifrost client: one method, ``send``, with four implementations.

* ``H1Wire`` (``app/bifrost/h1wire.py``, the default) talks to a real Bifrost over HTTP/1.1 with httptools'
  parser, in the event loop itself: the cheapest client measured (``bench/upstream_clients.py``: about a
  third of reqwest's CPU per call), and the upstream client is the largest layer of the gateway's CPU.
* ``ReqwestWire`` talks to a real Bifrost through Rust's reqwest (pyreqwest): about half of aiohttp's CPU
  per call, but each call crosses to reqwest's runtime thread and back. ``UPSTREAM_HTTP_CLIENT`` chooses.
* ``AiohttpWire`` talks to a real Bifrost through aiohttp (at concurrency 20 it served ~4.7x the requests
  of httpx with an aiohttp transport, and ~18x httpx's own pool).
* ``HttpxWire`` wraps an ``httpx.AsyncClient``: the embedded server runs in-process through
  ``httpx.ASGITransport``, and tests swap the wire with ``httpx.MockTransport``.

All read at most ``max_bytes`` of a body and raise the same small set of exceptions, which
``BifrostClient`` maps onto the upstream error family. The two "before sending" kinds
(``WireConnectError``, ``WireConnectTimeout``) say that no byte of the request left: a write that failed
that way did not happen, while any other failure of a write leaves its outcome unknown.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Generator, Mapping
from datetime import timedelta
from typing import Any, ParamSpec, Protocol, TypeVar

import aiohttp
import httpx
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import BuilderError, PoolTimeoutError, PyreqwestError, RequestTimeoutError
from pyreqwest.response import Response
from yarl import URL

__all__ = [
    "AiohttpWire",
    "DeadlineWire",
    "HttpxWire",
    "ReqwestWire",
    "UpstreamResponse",
    "Wire",
    "WireConnectError",
    "WireConnectTimeout",
    "WireConnectionError",
    "WireTimeout",
    "WireTooLarge",
]


class WireConnectionError(Exception):
    """No usable answer: refused, reset, closed mid-response."""


class WireConnectError(WireConnectionError):
    """No connection was made (refused, DNS): nothing was sent."""


class WireTimeout(Exception):
    """Connect or read timeout."""


class WireConnectTimeout(WireTimeout):
    """No connection within the connect timeout (or no free pooled one): nothing was sent."""


class WireTooLarge(Exception):
    """The answer is larger than the gateway accepts."""


class UpstreamResponse:
    """A fully read upstream answer: status, body, and the headers the gateway uses.

    ``deprecated``: the answer carried ``Deprecation: true`` (Bifrost v2 on routes it keeps as aliases).
    """

    __slots__ = ("content", "deprecated", "retry_after", "set_cookies", "status")

    def __init__(
        self,
        status: int,
        content: bytes,
        set_cookies: list[str],
        retry_after: str | None,
        deprecated: bool = False,
    ) -> None:
        self.status = status
        self.content = content
        self.set_cookies = set_cookies
        self.retry_after = retry_after
        self.deprecated = deprecated


class Wire(Protocol):
    """Sends one request and reads its whole answer."""

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
    ) -> UpstreamResponse: ...

    async def aclose(self) -> None: ...


class DeadlineWire(Wire, Protocol):
    """A wire that ends a call by a total deadline itself (``enforces_total_timeout``), on a timer it already
    keeps, so that its caller sets none around the call: ``H1Wire``. Past the deadline before sending it raises
    ``WireConnectTimeout``, after sending ``TimeoutError``, as ``asyncio.timeout`` around the call would.
    """

    enforces_total_timeout: bool

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
        *,
        deadline: float | None = None,
    ) -> UpstreamResponse: ...


class AiohttpWire:
    """A pooled aiohttp session bound to Bifrost's base URL."""

    def __init__(self, base_url: str, *, max_connections: int, connect_timeout: float, read_timeout: float) -> None:
        self.base_url = base_url
        self._session: aiohttp.ClientSession | None = None
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)

    def _open(self) -> aiohttp.ClientSession:
        # Created lazily: a session must be made inside the running event loop of the worker.
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, limit_per_host=self._max_connections, ttl_dns_cache=60
        )
        self._session = aiohttp.ClientSession(
            self.base_url,
            connector=connector,
            timeout=self._timeout,
            auto_decompress=True,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self._session

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
    ) -> UpstreamResponse:
        session = self._session or self._open()
        try:
            async with session.request(
                method, path, headers=headers, data=content, params=params, allow_redirects=False
            ) as response:
                if response.content_length is not None and response.content_length > max_bytes:
                    raise WireTooLarge
                body = bytearray()
                async for chunk in response.content.iter_any():
                    body += chunk
                    if len(body) > max_bytes:
                        raise WireTooLarge
                return UpstreamResponse(
                    response.status,
                    bytes(body),
                    response.headers.getall("set-cookie", []),
                    response.headers.get("retry-after"),
                    _deprecated(response.headers.get("deprecation")),
                )
        except aiohttp.ConnectionTimeoutError as exc:
            raise WireConnectTimeout from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise WireTimeout from exc
        except aiohttp.ClientConnectorError as exc:
            raise WireConnectError from exc
        except aiohttp.ClientError as exc:
            raise WireConnectionError from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


T = TypeVar("T")
P = ParamSpec("P")


class OneArgumentThrows(Generator[Any, Any, T]):
    """Awaits ``inner`` for a caller that throws into it with three arguments, passing only the exception on.

    pyreqwest's coroutines (pyo3's) take ``throw(exception)`` only; a coroutine compiled by mypyc (``app/native.py``)
    that is cancelled while it awaits throws ``(type, value, traceback)`` into what it awaits, and the interpreter
    passes all three down the chain, to pyreqwest's: a cancelled call (a total timeout, a client gone) would end in a
    TypeError. Awaited through this, the chain below sees one argument, as it does under interpreted callers.
    """

    __slots__ = ("_inner",)

    def __init__(self, inner: Coroutine[Any, Any, T]) -> None:
        self._inner = inner

    def __await__(self) -> Generator[Any, Any, T]:
        return self

    def send(self, value: Any) -> Any:
        return self._inner.send(value)

    def throw(self, kind: Any, value: Any = None, traceback: Any = None) -> Any:
        return self._inner.throw(kind if value is None else value)

    def close(self) -> None:
        self._inner.close()


def one_argument_throws(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, OneArgumentThrows[T]]:
    """``method``'s coroutine, awaited through ``OneArgumentThrows`` (for a method that awaits pyreqwest's)."""

    @functools.wraps(method)
    def awaited(*args: P.args, **kwargs: P.kwargs) -> OneArgumentThrows[T]:
        return OneArgumentThrows(method(*args, **kwargs))

    return awaited


class ReqwestWire:
    """A pooled Rust reqwest client (pyreqwest) bound to Bifrost's base URL, hardened as ``AiohttpWire``.

    No redirects, proxies, cookie store or Referer; gzip and deflate answers decoded (aiohttp's
    ``auto_decompress``); at most ``max_connections`` requests in flight, so at most that many connections,
    kept alive. ``read_timeout`` bounds each read, the wait for the answer's head included (aiohttp's
    ``sock_read``). pyreqwest names a failure to send like one to connect, so the two "before sending"
    kinds are told apart by reqwest's own cause (``client error (Connect)``): anything else is an outcome
    unknown. Its messages carry the URL: they are dropped, and the wire's exceptions name only the kind.

    Example:
        >>> wire = ReqwestWire("http://127.0.0.1:8080", max_connections=100, connect_timeout=2, read_timeout=10)
        >>> wire.base_url
        'http://127.0.0.1:8080'
    """

    def __init__(self, base_url: str, *, max_connections: int, connect_timeout: float, read_timeout: float) -> None:
        self.base_url = base_url
        self._client: Client | None = None
        self._max_connections = max_connections
        self._connect_timeout = timedelta(seconds=connect_timeout)
        self._read_timeout = timedelta(seconds=read_timeout)

    def _open(self) -> Client:
        # Created lazily: building the client starts reqwest's runtime thread, which must not exist before
        # the workers fork.
        self._client = (
            ClientBuilder()
            .max_connections(self._max_connections)
            .pool_max_idle_per_host(self._max_connections)
            .pool_timeout(self._connect_timeout)  # no free connection in time: nothing was sent
            .connect_timeout(self._connect_timeout)
            .read_timeout(self._read_timeout)
            .follow_redirects(False)
            .no_proxy()
            .default_cookie_store(False)
            .referer(False)
            .gzip(True)
            .deflate(True)
            .brotli(False)  # what aiohttp asks for and decodes: gzip and deflate
            .zstd(False)
            .http1_only()
            .build()
        )
        return self._client

    @one_argument_throws
    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
    ) -> UpstreamResponse:
        client = self._client or self._open()
        # The URL as aiohttp builds it (yarl), so both wires send the same query string.
        target = URL(path).extend_query(params) if params else URL(path)
        try:
            request = client.request(method, self.base_url + str(target)).headers(headers)
        except (ValueError, PyreqwestError):
            # A control character in a header (aiohttp refuses it too); reqwest's message would quote the value.
            raise ValueError("an upstream request header is not valid") from None
        # No body is read before the head is seen (pyreqwest reads 64 KiB ahead by default): a declared length
        # over the limit is refused before reading.
        request = request.streamed_read_buffer_limit(0)
        if content is not None:
            request = request.body_bytes(content)
        try:
            async with request.build_streamed() as response:
                try:  # one header at a time: no mapping of them all is made
                    declared = response.get_header("content-length")  # absent when reqwest decodes the body
                    set_cookies = response.get_header_all("set-cookie")
                    retry_after = response.get_header("retry-after")
                    deprecation = response.get_header("deprecation")
                except ValueError:
                    # A value outside ASCII, which reqwest cannot give as text (aiohttp escapes it).
                    raise WireConnectionError("an answer header is not text") from None
                if declared is not None and declared.isdigit():
                    if int(declared) > max_bytes:
                        raise WireTooLarge
                    # hyper reads no more than the declared length: one call reads it all
                    body = bytes(await response.bytes())
                else:
                    body = await _read_at_most(response, max_bytes)
                return UpstreamResponse(
                    response.status,
                    body,
                    set_cookies,
                    retry_after,
                    _deprecated(deprecation),
                )
        except PyreqwestError as exc:
            raise _reqwest_error(exc) from None

    @one_argument_throws
    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            # close() stops new requests; the pooled connections close when the client itself is dropped.
            await client.close()
            del client


class HttpxWire:
    """An httpx client (ASGI or mock transports; any httpx transport works)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        max_bytes: int,
    ) -> UpstreamResponse:
        request = self.client.build_request(method, path, headers=headers, content=content, params=params)
        try:
            response = await self.client.send(request, stream=True)
            try:
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise WireTooLarge
                if response.is_stream_consumed:  # transports that deliver the body already read
                    body = response.content
                else:
                    chunks = bytearray()
                    async for chunk in response.aiter_raw():
                        chunks += chunk
                        if len(chunks) > max_bytes:
                            raise WireTooLarge
                    body = bytes(chunks)
            finally:
                await response.aclose()
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise WireConnectTimeout from exc
        except httpx.TimeoutException as exc:
            raise WireTimeout from exc
        except httpx.ConnectError as exc:
            raise WireConnectError from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # a body that cannot be decoded is no usable answer, as aiohttp's payload errors are
            raise WireConnectionError from exc
        if len(body) > max_bytes:
            raise WireTooLarge
        return UpstreamResponse(
            response.status_code,
            body,
            response.headers.get_list("set-cookie"),
            response.headers.get("retry-after"),
            _deprecated(response.headers.get("deprecation")),
        )

    async def aclose(self) -> None:
        await self.client.aclose()


async def _read_at_most(response: Response, max_bytes: int) -> bytes:
    """A body of unknown length (chunked, or decoded by reqwest), stopped as soon as it passes ``max_bytes``."""
    reader = response.body_reader
    body = bytearray()
    while (chunk := await reader.read_chunk()) is not None:
        body += chunk
        if len(body) > max_bytes:
            raise WireTooLarge
    return bytes(body)


def _reqwest_error(error: PyreqwestError) -> Exception:
    """The wire's exception for a pyreqwest error, by what can have been sent; no URL or message of reqwest's."""
    kind = type(error).__name__
    if isinstance(error, PoolTimeoutError):
        return WireConnectTimeout(kind)
    if isinstance(error, BuilderError):
        return ValueError("the upstream request cannot be built")
    # pyreqwest's ConnectTimeoutError also covers the wait for the answer's head, and its ConnectError a
    # connection closed after the request went: only reqwest's own "Connect" cause says nothing was sent.
    connecting = _while_connecting(error)
    if isinstance(error, RequestTimeoutError):
        return WireConnectTimeout(kind) if connecting else WireTimeout(kind)
    return WireConnectError(kind) if connecting else WireConnectionError(kind)


def _while_connecting(error: PyreqwestError) -> bool:
    details = getattr(error, "details", None)
    causes = details.get("causes") if isinstance(details, dict) else None
    return any(isinstance(cause, dict) and cause.get("message") == "client error (Connect)" for cause in causes or ())


def _deprecated(header: str | None) -> bool:
    # RFC 9745 sends a date (``@1688169599``); Bifrost sends ``true``. Either says the route is deprecated.
    return header is not None and header.strip().lower() not in ("", "false")
