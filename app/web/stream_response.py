"""An HTTP response that streams a subscription: results as they come, heartbeats while quiet, until one side ends.

The response owns the subscription's result iterator from the moment it is sent. Three things can end it:

* the iterator finishes: the framing's end is written (``complete``);
* the iterator fails (a bug: the live layer reports its own errors as results): the client gets a generic
  error in the framing's error form, the log gets the exception's type only (``failed``);
* the client goes away (``http.disconnect``, or the server's ``send`` failing): nothing more is written
  (``client_left``);
* the client stops reading: a write the server cannot hand over within ``stalled_after`` seconds (the
  socket's buffers are full) ends the stream (``stalled``). Without it a client that never reads would hold
  its stream, and its place in the per-client limit, for as long as TCP keeps the connection.

Whichever it is, the iterator is closed before the response returns, so that a subscription nobody reads
any more stops (and with it the upstream poll, when it was the last one watching).

The wait between heartbeats and the bound on a write go through an injectable ``sleep``, so tests drive both
without waiting.

Example:
    >>> # return SubscriptionStream(results, SSEFraming(), request_id="abc")
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.web.stream_framing import StreamFraming

__all__ = ["STREAM_HEADERS", "SubscriptionStream", "one_result"]

log = logging.getLogger("app.request")

STREAM_HEADERS = {
    # A stream is never the same twice: no cache may keep it, no proxy may transform or hold it back.
    "cache-control": "no-cache, no-store, no-transform",
    "x-accel-buffering": "no",
}
STALLED_AFTER_S = 30.0
_UNEXPECTED = [{"message": "Unexpected error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]

Sleep = Callable[[float], Awaitable[None]]


async def one_result(result: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """A stream of exactly one result (errors found before anything ran, in a protocol that must stream them)."""
    yield result


async def _next(results: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return await results.__anext__()


async def _disconnected(receive: Receive) -> None:
    # The body was read before the response started: what comes now is the disconnect.
    while (await receive())["type"] != "http.disconnect":
        pass


class _Stalled(Exception):
    """A write did not complete in time: the client is not reading."""


class SubscriptionStream(Response):
    """Streams ``results`` in ``framing``, with heartbeats, until the results end or the client leaves.

    Example:
        >>> # SubscriptionStream(results, MultipartFraming(), request_id=request_id, sleep=manual_clock.sleep)
    """

    def __init__(
        self,
        results: AsyncIterator[dict[str, Any]],
        framing: StreamFraming,
        *,
        request_id: str | None = None,
        sleep: Sleep = asyncio.sleep,
        stalled_after: float = STALLED_AFTER_S,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.results = results
        self.framing = framing
        self.request_id = request_id
        self.sleep = sleep
        self.stalled_after = stalled_after
        self.status_code = 200
        self.media_type = framing.content_type
        self.background = None
        self.init_headers({**STREAM_HEADERS, **(headers or {})})
        self.ended: str | None = None
        """How the stream ended, once it has: ``complete``, ``failed``, ``client_left`` or ``stalled``."""
        self.events = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(_disconnected(receive))
        waiting: asyncio.Future[dict[str, Any]] | None = None
        beat: asyncio.Future[None] | None = None
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            # A first heartbeat tells the client (and every proxy between) that the stream is open.
            await self._write(send, self.framing.start() + self.framing.heartbeat())
            waiting = asyncio.ensure_future(_next(self.results))
            beat = asyncio.ensure_future(self.sleep(self.framing.heartbeat_seconds))
            while self.ended is None:
                pending: set[asyncio.Future[Any]] = {watcher, waiting, beat}
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if watcher in done:
                    self.ended = "client_left"
                elif waiting in done:
                    waiting = await self._deliver(send, waiting)
                elif beat in done:
                    await self._write(send, self.framing.heartbeat())
                    beat = asyncio.ensure_future(self.sleep(self.framing.heartbeat_seconds))
        except OSError:
            self.ended = "client_left"  # the server could not write: the client is gone
        except _Stalled:
            self.ended = "stalled"
        finally:
            for task in (watcher, beat, waiting):
                if task is not None:
                    task.cancel()
            if waiting is not None:
                await asyncio.wait({waiting})  # the iterator must not be running when it is closed
                if not waiting.cancelled():
                    waiting.exception()  # seen: an end or a failure already handled above
            await self._close_results()
            log.info(
                "stream ended",
                extra={
                    "request_id": self.request_id,
                    "protocol": self.framing.name,
                    "ended": self.ended or "client_left",
                    "events": self.events,
                },
            )

    async def _deliver(self, send: Send, waiting: asyncio.Future[dict[str, Any]]) -> asyncio.Future[dict[str, Any]]:
        """Write the result ``waiting`` holds (or the end it reports) and start waiting for the next one."""
        try:
            result = waiting.result()
        except StopAsyncIteration:
            self.ended = "complete"
            await self._write(send, self.framing.complete(), more=False)
            return waiting
        except Exception as error:  # a bug below: say nothing about it to the client
            log.error("subscription failed", extra={"request_id": self.request_id, "error_type": type(error).__name__})
            self.ended = "failed"
            await self._write(send, self.framing.failed(_UNEXPECTED), more=False)
            return waiting
        self.events += 1
        await self._write(send, self.framing.next(result))
        return asyncio.ensure_future(_next(self.results))

    async def _write(self, send: Send, body: bytes, *, more: bool = True) -> None:
        writing = asyncio.ensure_future(send({"type": "http.response.body", "body": body, "more_body": more}))
        timer = asyncio.ensure_future(self.sleep(self.stalled_after))
        try:
            await asyncio.wait({writing, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if not writing.done():
            writing.cancel()
            raise _Stalled
        writing.result()  # an OSError when the server found the client gone

    async def _close_results(self) -> None:
        close = getattr(self.results, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception as error:  # closing must not turn a finished stream into a failure
                log.error("closing a subscription failed", extra={"error_type": type(error).__name__})
