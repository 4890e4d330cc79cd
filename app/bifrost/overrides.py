"""Budget overrides (Bifrost v2): extra room on one of a virtual key's budgets, for some cycles or for good.

``PUT /api/governance/virtual-keys/{vk_id}/budgets/{budget_id}/override`` with ``{amount, mode, cycles?}`` sets
(replaces) the override; ``DELETE`` on the same path clears it. Both answer the budget and the limit enforced
while the override is active (``max_limit + override_amount``).
"""

from __future__ import annotations

from typing import Any

from app.bifrost.client import BifrostSession
from app.bifrost.models import BifrostModel, Budget
from app.bifrost.paths import governance_path

__all__ = ["BudgetOverrideResult", "clear_budget_override", "set_budget_override"]


class BudgetOverrideResult(BifrostModel):
    """``{budget, effective_max_limit}``."""

    budget: Budget
    effective_max_limit: float | None = None


def _path(key_id: str, budget_id: str) -> str:
    return governance_path("virtual-keys", "{}", "budgets", "{}", "override", ids=(key_id, budget_id))


async def set_budget_override(
    session: BifrostSession, key_id: str, budget_id: str, body: dict[str, Any]
) -> BudgetOverrideResult:
    """``PUT .../virtual-keys/{vk_id}/budgets/{budget_id}/override``; replaces any override.

    Raises:
        BifrostNotFound: the key does not exist, or the budget is not one of its budgets.
        BifrostBadRequest: Bifrost's validation refused the override.
    """
    return await session.fetch(BudgetOverrideResult, "PUT", _path(key_id, budget_id), body=body)


async def clear_budget_override(session: BifrostSession, key_id: str, budget_id: str) -> BudgetOverrideResult:
    """``DELETE .../virtual-keys/{vk_id}/budgets/{budget_id}/override``."""
    return await session.fetch(BudgetOverrideResult, "DELETE", _path(key_id, budget_id))
