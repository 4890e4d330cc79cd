"""Live data: the poller hub that shares one upstream poll per watched set between every subscriber."""

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
    "LiveHub",
    "LocalHub",
    "Observe",
    "Poll",
    "SharedResults",
    "Sleep",
    "Snapshot",
    "SubscriberDropped",
    "WatchKey",
    "credentials_digest",
]
