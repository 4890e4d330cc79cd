"""The shared-state package's public names."""

from __future__ import annotations

import app.shared_state as shared_state


def test_shared_state_exports() -> None:
    assert sorted(shared_state.__all__) == [
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
    assert all(hasattr(shared_state, name) for name in shared_state.__all__)
