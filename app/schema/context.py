"""The per-request GraphQL context: the caller's Bifrost session and a fresh set of DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import strawberry

from app.bifrost import BifrostSession

if TYPE_CHECKING:
    from app.schema.loaders import Loaders

__all__ = ["GatewayContext", "Info"]


@dataclass
class GatewayContext:
    """What every resolver may use; built once per request, never shared between requests.

    Attributes:
        bifrost: the caller's view of the Bifrost client (forwarded headers, call count).
        loaders: DataLoaders memoised for this request only.
        response_cookies: Set-Cookie values to hand back to the browser (login/logout).
        operation_type, operation_name: what ran, for the request's log line and metrics.
        request_id: the request's ``x-request-id``, for log lines written while it runs.
    """

    bifrost: BifrostSession
    loaders: Loaders
    response_cookies: list[str] = field(default_factory=list)
    operation_type: str | None = None
    operation_name: str | None = None
    request_id: str | None = None


Info = strawberry.Info[GatewayContext, None]
