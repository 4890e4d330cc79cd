"""The upstream body of setProviderGovernance: only what the input mentions."""

from __future__ import annotations

from typing import Any

from app.schema.changes import list_change
from app.schema.provider_governance.inputs import ProviderGovernanceInput

__all__ = ["provider_governance_body"]


def provider_governance_body(data: ProviderGovernanceInput) -> dict[str, Any]:
    """The PUT body: ``budgets`` (never the deprecated single ``budget``), ``rate_limit`` (``{}`` removes it),
    ``calendar_aligned``."""
    body: dict[str, Any] = {}
    budgets = list_change(data.budgets)
    if budgets is not None:
        body["budgets"] = [budget.to_bifrost() for budget in budgets]
    if data.rate_limit is not None:
        body["rate_limit"] = data.rate_limit.value.to_bifrost() if data.rate_limit.value is not None else {}
    if data.calendar_aligned is not None:
        body["calendar_aligned"] = data.calendar_aligned
    return body
