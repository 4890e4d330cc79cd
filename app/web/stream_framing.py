"""How a subscription's results are framed on an HTTP response: GraphQL over SSE, or Apollo's multipart.

Two protocols stream a subscription over one HTTP response; the client picks one with its ``Accept`` header:

* **GraphQL over SSE**, distinct connections mode (the graphql-sse protocol): ``Accept: text/event-stream``.
  Each result is an ``event: next`` whose ``data`` is the execution result; the stream ends with
  ``event: complete``. Keep-alives are SSE comments (``: ping``), which every SSE parser skips.
* **Apollo's multipart subscriptions**: ``Accept: multipart/mixed;subscriptionSpec="1.0", application/json``
  (Apollo Client's default). Each part is JSON: ``{"payload": <execution result>}``; a heartbeat is the empty
  object ``{}``; an error of the transport itself (not of the operation) is ``{"payload": null, "errors":
  [...]}``; the close delimiter ``--graphql--`` ends the stream.

A framing only turns values into bytes; the response that writes them (``app.web.stream_response``) decides
when.

Example:
    >>> framing = framing_for("text/event-stream")
    >>> framing.next({"data": {"n": 1}})
    b'event: next\\ndata: {"data":{"n":1}}\\n\\n'
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

__all__ = [
    "MULTIPART_ACCEPT",
    "SSE_ACCEPT",
    "MultipartFraming",
    "SSEFraming",
    "StreamFraming",
    "framing_for",
]

SSE_ACCEPT = "text/event-stream"
MULTIPART_ACCEPT = 'multipart/mixed;subscriptionSpec="1.0"'
_BOUNDARY = "graphql"


class StreamFraming:
    """The bytes of one streaming protocol: its head, results, heartbeats and end."""

    name: ClassVar[str]
    content_type: ClassVar[str]
    heartbeat_seconds: ClassVar[float]
    """How often a quiet stream says it is alive, so that proxies and clients do not time it out."""

    def start(self) -> bytes:
        """What the body starts with, before any result."""
        return b""

    def next(self, result: dict[str, Any]) -> bytes:
        """One execution result (``data``/``errors``)."""
        raise NotImplementedError

    def heartbeat(self) -> bytes:
        """A keep-alive that clients ignore."""
        raise NotImplementedError

    def failed(self, errors: list[dict[str, Any]]) -> bytes:
        """The stream stops for a reason outside the operation (the server shuts down, a limit)."""
        raise NotImplementedError

    def complete(self) -> bytes:
        """The end of the stream."""
        raise NotImplementedError


class SSEFraming(StreamFraming):
    """GraphQL over SSE, distinct connections mode.

    Example:
        >>> SSEFraming().complete()
        b'event: complete\\ndata: \\n\\n'
    """

    name = "sse"
    content_type = "text/event-stream; charset=utf-8"
    heartbeat_seconds = 15.0

    def next(self, result: dict[str, Any]) -> bytes:
        # orjson writes no newline inside a value (control characters are escaped): one data line per event.
        return b"event: next\ndata: " + orjson.dumps(result) + b"\n\n"

    def heartbeat(self) -> bytes:
        return b": ping\n\n"

    def failed(self, errors: list[dict[str, Any]]) -> bytes:
        # The protocol has no error event: the errors are the last result, then the stream completes.
        return self.next({"errors": errors}) + self.complete()

    def complete(self) -> bytes:
        # A data field even when empty: browsers drop events without one.
        return b"event: complete\ndata: \n\n"


class MultipartFraming(StreamFraming):
    """Apollo's multipart HTTP subscriptions (``subscriptionSpec=1.0``), boundary ``graphql``.

    Example:
        >>> MultipartFraming().heartbeat()
        b'\\r\\nContent-Type: application/json; charset=utf-8\\r\\n\\r\\n{}\\r\\n--graphql'
    """

    name = "multipart"
    content_type = f'multipart/mixed; boundary="{_BOUNDARY}"; subscriptionSpec="1.0"'
    heartbeat_seconds = 5.0  # the protocol's: clients treat a longer silence as a lost connection

    def start(self) -> bytes:
        return f"--{_BOUNDARY}".encode()

    def _part(self, value: dict[str, Any]) -> bytes:
        return (
            b"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
            + orjson.dumps(value)
            + f"\r\n--{_BOUNDARY}".encode()
        )

    def next(self, result: dict[str, Any]) -> bytes:
        return self._part({"payload": result})

    def heartbeat(self) -> bytes:
        return self._part({})

    def failed(self, errors: list[dict[str, Any]]) -> bytes:
        return self._part({"payload": None, "errors": errors}) + self.complete()

    def complete(self) -> bytes:
        # Turns the last delimiter into the close delimiter, "--graphql--".
        return b"--\r\n"


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    ranges = []
    for item in accept.split(","):
        kind, *raw_params = item.split(";")
        params = {}
        for raw in raw_params:
            name, _, value = raw.partition("=")
            params[name.strip().lower()] = value.strip().strip("\"'")
        ranges.append((kind.strip().lower(), params))
    return ranges


def framing_for(accept: str) -> StreamFraming | None:
    """The framing the ``Accept`` header asks for, or None when it names neither streaming protocol.

    SSE wins when both are listed (it is what the gateway's own GraphiQL sends). ``multipart/mixed`` counts
    only with ``subscriptionSpec`` 1.0 and no boundary other than ``graphql``: plain ``multipart/mixed`` is
    incremental delivery (``@defer``), which this gateway does not serve.
    """
    ranges = _media_ranges(accept[:1024])  # a header longer than any real one is not parsed past that
    if any(kind == SSE_ACCEPT for kind, _ in ranges):
        return SSEFraming()
    for kind, params in ranges:
        if (
            kind == "multipart/mixed"
            and params.get("subscriptionspec", "").startswith("1.0")
            and params.get("boundary", _BOUNDARY) == _BOUNDARY
        ):
            return MultipartFraming()
    return None
