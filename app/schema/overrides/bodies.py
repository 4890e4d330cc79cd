"""The upstream body of setBudgetOverride."""

from __future__ import annotations

from typing import Any

from app.schema.budgets.types import BudgetOverrideMode
from app.schema.overrides.inputs import BudgetOverrideInput

__all__ = ["budget_override_body"]


def budget_override_body(data: BudgetOverrideInput) -> dict[str, Any]:
    """The PUT body: ``{amount, mode, cycles}``, ``cycles`` only in cycles mode (Bifrost refuses it in forever mode).

    Example:
        >>> budget_override_body(BudgetOverrideInput(amount=50.0, mode=BudgetOverrideMode.FOREVER))
        {'amount': 50.0, 'mode': 'forever'}
    """
    if data.mode is BudgetOverrideMode.CYCLES:
        return {"amount": data.amount, "mode": "cycles", "cycles": data.cycles}
    return {"amount": data.amount, "mode": "forever"}
