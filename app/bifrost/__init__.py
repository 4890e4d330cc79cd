"""The Bifrost client: typed methods over the governance REST API, its models and its errors."""

from app.bifrost.client import BifrostClient, BifrostSession
from app.bifrost.errors import (
    BifrostBadRequest,
    BifrostConflict,
    BifrostError,
    BifrostForbidden,
    BifrostHTTPError,
    BifrostNotFound,
    BifrostServerError,
    BifrostUnauthorized,
    RequestCeilingExceeded,
    TooManyUpstreamCalls,
    UpstreamDataTooLarge,
    UpstreamOutcomeUnknown,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.bifrost.ids import is_valid_id
from app.bifrost.wire import UpstreamResponse

__all__ = [
    "BifrostBadRequest",
    "BifrostClient",
    "BifrostConflict",
    "BifrostError",
    "BifrostForbidden",
    "BifrostHTTPError",
    "BifrostNotFound",
    "BifrostServerError",
    "BifrostSession",
    "BifrostUnauthorized",
    "RequestCeilingExceeded",
    "TooManyUpstreamCalls",
    "UpstreamDataTooLarge",
    "UpstreamOutcomeUnknown",
    "UpstreamProtocolError",
    "UpstreamResponse",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "is_valid_id",
]
