"""Provider governance (Bifrost v2): budgets and a rate limit for all traffic to one provider.

``GET /api/governance/providers`` lists every provider that has some (``providers`` may be null),
``PUT .../providers/{name}`` sets them, ``DELETE`` removes them (idempotent). Removing all of a provider's
governance deletes the model config that backs it.
"""

from __future__ import annotations

from typing import Any

from app.bifrost.client import BifrostSession
from app.bifrost.models import BifrostModel, Budget, MessageEnvelope, RateLimit
from app.bifrost.paths import governance_path

__all__ = [
    "ProviderGovernance",
    "ProviderGovernanceEnvelope",
    "ProviderGovernanceList",
    "delete_provider_governance",
    "list_provider_governance",
    "set_provider_governance",
]


class ProviderGovernance(BifrostModel):
    """``{provider, budget? (deprecated: budgets[0]), budgets?, rate_limit?, calendar_aligned}``."""

    provider: str
    budget: Budget | None = None
    budgets: list[Budget] | None = None
    rate_limit: RateLimit | None = None
    calendar_aligned: bool = False

    @property
    def all_budgets(self) -> list[Budget]:
        """``budgets``, else the deprecated single ``budget``."""
        if self.budgets is not None:
            return self.budgets
        return [self.budget] if self.budget is not None else []


class ProviderGovernanceList(BifrostModel):
    """``{providers: [...] | null, count}``."""

    providers: list[ProviderGovernance] | None = None
    count: int = 0


class ProviderGovernanceEnvelope(BifrostModel):
    """``{message, provider}``."""

    message: str = ""
    provider: ProviderGovernance


async def list_provider_governance(session: BifrostSession) -> list[ProviderGovernance]:
    """``GET /api/governance/providers``: every provider with governance (null answered as none)."""
    found = await session.fetch(ProviderGovernanceList, "GET", governance_path("providers"))
    return found.providers or []


async def set_provider_governance(session: BifrostSession, provider: str, body: dict[str, Any]) -> ProviderGovernance:
    """``PUT /api/governance/providers/{provider_name}``.

    Raises:
        BifrostNotFound: ``Provider not found`` (not a provider Bifrost has configured).
    """
    path = governance_path("providers", "{}", ids=(provider,))
    return (await session.fetch(ProviderGovernanceEnvelope, "PUT", path, body=body)).provider


async def delete_provider_governance(session: BifrostSession, provider: str) -> str:
    """``DELETE /api/governance/providers/{provider_name}`` (idempotent). Returns Bifrost's message."""
    path = governance_path("providers", "{}", ids=(provider,))
    return (await session.fetch(MessageEnvelope, "DELETE", path)).message
