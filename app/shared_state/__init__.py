"""State that replicas share through Redis when ``REDIS_URL`` is set, and keep in-process otherwise."""

from app.shared_state.documents import SharedDocuments
from app.shared_state.idempotency import (
    Answer,
    Claim,
    ClaimState,
    IdempotencyStore,
    InProcessIdempotencyStore,
    RedisIdempotencyStore,
    SharedIdempotencyStore,
)
from app.shared_state.login_limits import SharedLoginLimiter
from app.shared_state.redis_link import RedisLink
from app.shared_state.state import SharedState

__all__ = [
    "Answer",
    "Claim",
    "ClaimState",
    "IdempotencyStore",
    "InProcessIdempotencyStore",
    "RedisIdempotencyStore",
    "RedisLink",
    "SharedDocuments",
    "SharedIdempotencyStore",
    "SharedLoginLimiter",
    "SharedState",
]
