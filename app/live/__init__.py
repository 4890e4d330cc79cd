"""Live data: the poller hub that shares one upstream poll per watched set between every subscriber."""

from app.live.budget import DEFAULT_POLLED_IDS_PER_CLIENT, BudgetShare, PolledIdBudget
from app.live.hub import (
    LiveHub,
    LocalHub,
    Observe,
    Poll,
    Sleep,
    Snapshot,
    SubscriberDropped,
    WatchKey,
    credentials_digest,
)
from app.live.shared import SharedResults

__all__ = [
    "DEFAULT_POLLED_IDS_PER_CLIENT",
    "BudgetShare",
    "LiveHub",
    "LocalHub",
    "Observe",
    "Poll",
    "PolledIdBudget",
    "SharedResults",
    "Sleep",
    "Snapshot",
    "SubscriberDropped",
    "WatchKey",
    "credentials_digest",
]
