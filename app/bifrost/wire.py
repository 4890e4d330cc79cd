"""The wire under the Bifrost client: one method, ``send``, with two implementations.

* ``AiohttpWire`` talks to a real Bifrost. It is the fastest pooled client measured here
  (``bench/upstream_clients.py``: at concurrency 20, aiohttp served ~4.7x the requests of httpx with an
  aiohttp transport, and ~18x httpx's own pool), and the upstream client dominates a gateway's CPU.
* ``HttpxWire`` wraps an ``httpx.AsyncClient``: the embedded server runs in-process through
  ``httpx.ASGITransport``, and tests swap the wire with ``httpx.MockTransport``.

Both read at most ``max_bytes`` of a body and raise the same small set of exceptions, which
``BifrostClient`` maps onto the upstream error family. The two "before sending" kinds
(``WireConnectError``, ``WireConnectTimeout``) say that no byte of the request left: a write that failed
that way did not happen, while any other failure of a write leaves its outcome unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import aiohttp
import httpx

__all__ = [
    "AiohttpWire",
    "HttpxWire",
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


def _deprecated(header: str | None) -> bool:
    # RFC 9745 sends a date (``@1688169599``); Bifrost sends ``true``. Either says the route is deprecated.
    return header is not None and header.strip().lower() not in ("", "false")
