"""Budget overrides: ``setBudgetOverride`` and ``clearBudgetOverride`` (Bifrost v2)."""
