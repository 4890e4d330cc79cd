"""The per-request GraphQL context: who the caller is, its Bifrost session and a fresh set of DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import strawberry

from app.bifrost import BifrostSession
from app.schema.caller import ANONYMOUS, Caller

if TYPE_CHECKING:
    from app.schema.live.source import LiveSource
    from app.schema.loaders import Loaders
    from app.schema.session.limiter import LoginLimiter

__all__ = ["GatewayContext", "Info"]


@dataclass
class GatewayContext:
    """What every resolver may use; built once per request, never shared between requests.

    Attributes:
        bifrost: the caller's view of the Bifrost client (forwarded headers, call count).
        loaders: DataLoaders memoised for this request only.
        caller: who is asking (whose credentials went upstream, whether key values may be revealed).
        client_address: the client's address as the HTTP server reports it (after trusted proxy headers).
        login_limiter: counts password attempts (None: not limited).
        created_keys: ids of virtual keys this request created; their value may be revealed once, here.
        revealed_values: the key values this request revealed; an idempotent answer is remembered without them.
        response_cookies: Set-Cookie values to hand back to the browser (login/logout).
        operation_type, operation_name: what ran, for the request's log line and metrics.
        request_id: the request's ``x-request-id``, for log lines written while it runs.
        earlier_attempt_at: set on an idempotent retry whose first attempt may have written (epoch seconds of
            that attempt); creates then read back by name before writing, and a delete of what is gone succeeds.
        live: what subscriptions poll through (the hub, the caller's poll credentials); None outside a
            subscription transport.
    """

    bifrost: BifrostSession
    loaders: Loaders
    caller: Caller = ANONYMOUS
    client_address: str | None = None
    login_limiter: LoginLimiter | None = None
    created_keys: set[str] = field(default_factory=set)
    revealed_values: set[str] = field(default_factory=set)
    response_cookies: list[str] = field(default_factory=list)
    operation_type: str | None = None
    operation_name: str | None = None
    request_id: str | None = None
    earlier_attempt_at: float | None = None
    live: LiveSource | None = None


Info = strawberry.Info[GatewayContext, None]
