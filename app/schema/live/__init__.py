"""Live subscriptions: budget and rate-limit usage as it changes, polled through ``app.live``."""

from app.schema.live.source import LiveSource
from app.schema.live.subscription import Subscription

__all__ = ["LiveSource", "Subscription"]
