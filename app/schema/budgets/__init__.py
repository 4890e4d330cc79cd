"""Budgets: the Budget type, and the budget input every owner takes."""
