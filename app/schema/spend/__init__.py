"""Spend in the graph: series of what teams, customers, keys and groups of traffic cost, from Bifrost's log."""

from app.schema.spend.queries import SpendQueries
from app.schema.spend.types import (
    ModelCost,
    SpendBreakdown,
    SpendBucket,
    SpendGroup,
    SpendGroupBy,
    SpendPoint,
    SpendSeries,
)
from app.schema.spend.window import SpendWindow

__all__ = [
    "ModelCost",
    "SpendBreakdown",
    "SpendBucket",
    "SpendGroup",
    "SpendGroupBy",
    "SpendPoint",
    "SpendQueries",
    "SpendSeries",
    "SpendWindow",
]
