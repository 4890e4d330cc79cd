"""The one error type handlers raise.

Bifrost answers every management error with the same envelope and no machine-readable code::

    {"is_bifrost_error": false, "status_code": 404, "error": {"message": "Team not found"}, "extra_fields": {}}

Handlers raise :class:`ApiError`; the application turns it into that envelope and rolls back the transaction.
"""

from __future__ import annotations

import orjson

__all__ = ["ApiError", "error_body"]


class ApiError(Exception):
    """An HTTP error answered with Bifrost's error envelope.

    Example:
        >>> raise ApiError(404, "Team not found")
        Traceback (most recent call last):
        ...
        app.embedded_bifrost.errors.ApiError: (404, 'Team not found')
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> bytes:
    """Serialise Bifrost's error envelope."""
    return orjson.dumps(
        {"is_bifrost_error": False, "status_code": status, "error": {"message": message}, "extra_fields": {}}
    )
