"""``GET /api/logs/...``: the stats, cost histograms and rankings read from the request log (v2).

Dashboard auth applies as on every other ``/api`` route. Filters never fail (``log_filters``); only a missing or
unknown ``dimension`` is refused, with Bifrost's messages, before any filter is read.
"""

from __future__ import annotations

from typing import Any

from ..analytics import HISTOGRAM_DIMENSIONS, cost_by_dimension, cost_histogram, log_stats
from ..context import Context, Request
from ..errors import ApiError
from ..log_filters import parse_log_filters
from ..rankings import RANKING_DIMENSIONS, dimension_rankings, model_rankings

__all__ = ["get_cost_by_dimension", "get_cost_histogram", "get_dimension_rankings", "get_log_stats", "get_rankings"]

_HISTOGRAM_VALUES = "Valid values: provider, team_id, customer_id, user_id, business_unit_id"
_RANKING_VALUES = "Valid values: team, customer, business_unit, user"


def get_log_stats(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/logs/stats."""
    return log_stats(ctx.store.db, parse_log_filters(request.query))


def get_cost_histogram(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/logs/histogram/cost."""
    return cost_histogram(ctx.store.db, parse_log_filters(request.query))


def get_cost_by_dimension(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/logs/histogram/cost/by-dimension."""
    dimension = _dimension(request, HISTOGRAM_DIMENSIONS, _HISTOGRAM_VALUES)
    return cost_by_dimension(ctx.store.db, parse_log_filters(request.query), dimension)


def get_rankings(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/logs/rankings."""
    return model_rankings(ctx.store.db, parse_log_filters(request.query))


def get_dimension_rankings(ctx: Context, request: Request) -> dict[str, Any]:
    """GET /api/logs/rankings/by-dimension."""
    dimension = _dimension(request, RANKING_DIMENSIONS, _RANKING_VALUES)
    return dimension_rankings(ctx.store.db, parse_log_filters(request.query), dimension)


def _dimension(request: Request, valid: dict[str, Any], values: str) -> str:
    dimension = request.query.get("dimension", "")
    if not dimension:
        raise ApiError(400, f"Missing required query parameter: dimension. {values}")
    if dimension not in valid:
        raise ApiError(400, f"Invalid dimension: {dimension}. {values}")
    return dimension
