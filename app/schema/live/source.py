"""What a subscription polls through: the hub, and a Bifrost session with the subscriber's credentials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.bifrost import BifrostSession
from app.live import BudgetShare, LiveHub
from app.schema.errors import GatewayError, GatewayErrorCode

__all__ = ["LiveSource"]


@dataclass(frozen=True, slots=True)
class LiveSource:
    """Built by the transport once per subscription; resolvers of ``Subscription`` read it from the context.

    Example:
        >>> # LiveSource(hub, lambda calls: client.session(caller.upstream, max_calls=calls), digest, 50)

    Attributes:
        hub: shares one poll per watched set between subscribers (``app.live``).
        poll_session: a fresh session with the subscriber's upstream credentials and nothing else (no request
            id: the poll outlives the request that started it), allowed that many calls.
        credentials: the digest of those credentials (part of the hub's key: never shared across callers).
        max_watched_ids: how many ids one subscription may watch (``LIVE_MAX_WATCHED_IDS``).
        share: this subscription's part of its client address's budget (``LIVE_MAX_POLLED_IDS_PER_CLIENT``);
            None: no budget (an executor run outside the transports).
    """

    hub: LiveHub
    poll_session: Callable[[int], BifrostSession]
    credentials: str
    max_watched_ids: int
    share: BudgetShare | None = None

    def claim(self, ids: int) -> None:
        """Hold ``ids`` of the client's budget before anything is polled; the transport gives them back.

        Raises:
            GatewayError: ``TOO_MANY_POLLED_IDS`` when the client's open subscriptions would poll more.
        """
        share = self.share
        if share is not None and not share.take(ids):
            raise GatewayError(
                f"this client's subscriptions may poll at most {share.limit} ids per interval "
                f"(LIVE_MAX_POLLED_IDS_PER_CLIENT); {share.in_use} are in use and this one needs {ids}",
                GatewayErrorCode.TOO_MANY_POLLED_IDS,
            )
