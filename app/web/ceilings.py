"""What one GraphQL request may use while it runs, whatever its document was priced at.

A document's price (``app.schema.cost``) is an estimate made before anything runs: lists Bifrost does not
page are priced at a guess, and real data can be larger. These ceilings hold at run time: the upstream
calls a request may make and the bytes their answers may bring (enforced by ``BifrostSession``: past
either, nothing more goes upstream and the fields that needed more fail with their own code), and the size
of the response body (a larger one is replaced by an error, ``RESPONSE_TOO_LARGE``).

Example:
    >>> ceilings = RequestCeilings(response_bytes=1024)
    >>> ceilings.body_within(b"x" * 10)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = ["RESPONSE_TOO_LARGE", "RequestCeilings"]

RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"


@dataclass(frozen=True, slots=True)
class RequestCeilings:
    """Per-request ceilings; None means none."""

    upstream_calls: int | None = None
    upstream_bytes: int | None = None
    response_bytes: int | None = None

    def body_within(self, body: bytes) -> bool:
        """Whether a response body may be sent as it is."""
        return self.response_bytes is None or len(body) <= self.response_bytes

    def too_large_body(self) -> bytes:
        """The body sent instead of one larger than ``response_bytes``."""
        error = {
            "message": "The response is larger than the gateway sends for one request; ask for less.",
            "extensions": {"code": RESPONSE_TOO_LARGE, "limit": self.response_bytes},
        }
        return orjson.dumps({"errors": [error], "data": None})
