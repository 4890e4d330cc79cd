"""Reading back a create whose earlier attempt may have happened (an idempotent retry after an unknown outcome).

When a create's answer was lost (``UPSTREAM_OUTCOME_UNKNOWN``) and the client retries with the same
``Idempotency-Key``, the mutation first looks for the entity by exact name and answers with it instead of
writing a second one. Team and virtual-key names are unique in Bifrost, so a match is the one. Customer names
are not: only a customer created since the first attempt counts (Bifrost's clock may differ from ours by up to
``CLOCK_ALLOWANCE``), the newest first.

Example:
    >>> # team = await existing_team(context.bifrost, "platform")  -> the team, or None: write it
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.bifrost import BifrostSession, models
from app.schema.exact_names import customers_named, teams_named, virtual_keys_named

__all__ = ["CLOCK_ALLOWANCE", "existing_customer", "existing_team", "existing_virtual_key"]

CLOCK_ALLOWANCE = 300.0  # seconds


async def existing_team(bifrost: BifrostSession, name: str) -> models.Team | None:
    """The team named exactly ``name``, if Bifrost has one."""
    found = await teams_named(bifrost, name)
    return found[0] if found else None


async def existing_virtual_key(bifrost: BifrostSession, name: str) -> models.VirtualKey | None:
    """The virtual key named exactly ``name``, if Bifrost has one."""
    found = await virtual_keys_named(bifrost, name)
    return found[0] if found else None


async def existing_customer(bifrost: BifrostSession, name: str, since: float) -> models.Customer | None:
    """The newest customer named exactly ``name`` created since ``since`` (epoch seconds, less the allowance)."""
    earliest = since - CLOCK_ALLOWANCE
    recent = [c for c in await customers_named(bifrost, name) if _epoch(c.created_at) >= earliest]
    return max(recent, key=lambda c: _epoch(c.created_at)) if recent else None


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()
