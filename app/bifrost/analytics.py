"""Analytics (Bifrost v2, ``logging.go``): what the request log says about spend, read over ``/api/logs/...``.

* ``GET /api/logs/stats``: totals (requests, tokens, cost, latency, success rates);
* ``GET /api/logs/histogram/cost``: cost per time bucket, split by model;
* ``GET /api/logs/histogram/cost/by-dimension?dimension=...``: cost per bucket, split by provider, team,
  customer, user or business unit (``virtual_key_id`` is *not* a dimension);
* ``GET /api/logs/rankings`` and ``/rankings/by-dimension``: per model (or team, customer ...) totals with the
  trend against the previous period of the same length.

Every endpoint takes the same filters: comma lists (``team_ids=a,b``), ``start_time``/``end_time`` in RFC 3339
with nanoseconds. Bifrost silently ignores a timestamp it cannot parse and answers all of history, so
``LogQuery`` only ever writes timestamps it formatted itself, and refuses values that would change the
meaning of a comma list. The bucket size is Bifrost's to choose from the range (there is no parameter).

Example:
    >>> from datetime import UTC, datetime
    >>> LogQuery(start_time=datetime(2026, 1, 1, tzinfo=UTC), team_ids=("t1", "t2")).params()
    {'start_time': '2026-01-01T00:00:00Z', 'team_ids': 't1,t2'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias, TypeVar

from pydantic import AfterValidator, ConfigDict, Field

from app.bifrost.models import BifrostModel, OrEmpty

if TYPE_CHECKING:
    from app.bifrost.client import BifrostSession

__all__ = [
    "COST_DIMENSIONS",
    "RANKING_DIMENSIONS",
    "CostBucket",
    "CostByDimension",
    "CostDimension",
    "CostHistogram",
    "DimensionBucket",
    "DimensionRanking",
    "DimensionRankings",
    "LogQuery",
    "LogStats",
    "ModelRanking",
    "ModelRankings",
    "RankingDimension",
    "Trend",
    "cost_by_dimension",
    "cost_histogram",
    "dimension_rankings",
    "format_time",
    "log_stats",
    "model_rankings",
]

CostDimension: TypeAlias = Literal["provider", "team_id", "customer_id", "user_id", "business_unit_id"]
RankingDimension: TypeAlias = Literal["team", "customer", "business_unit", "user"]
COST_DIMENSIONS: tuple[str, ...] = ("provider", "team_id", "customer_id", "user_id", "business_unit_id")
RANKING_DIMENSIONS: tuple[str, ...] = ("team", "customer", "business_unit", "user")

_LOGS = "/api/logs"
V = TypeVar("V")

Params: TypeAlias = "LogQuery | Mapping[str, str | int] | None"


def _empty_if_null(value: dict[str, V] | None) -> dict[str, V]:
    return {} if value is None else value


# A JSON object of name -> USD; Go marshals an unset map as ``null``, which reads as ``{}``.
if TYPE_CHECKING:
    CostMap: TypeAlias = dict[str, float]
else:
    CostMap = Annotated[dict[str, float] | None, AfterValidator(_empty_if_null)]


def format_time(moment: datetime) -> str:
    """``moment`` as the RFC 3339 (nanosecond form) UTC timestamp Bifrost parses; naive datetimes are refused.

    Raises:
        ValueError: ``moment`` has no UTC offset (its instant is unknown).

    Example:
        >>> from datetime import timedelta, timezone
        >>> format_time(datetime(2026, 3, 1, 12, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2))))
        '2026-03-01T10:30:00.25Z'
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timestamp sent to Bifrost needs a UTC offset")
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += "." + f"{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True, slots=True)
class LogQuery:
    """The filters every analytics endpoint takes; empty lists and None times are left out.

    Values go into comma lists, so a value holding a comma (or nothing but blanks) is refused here, the last
    line of defence: the schema refuses them first, naming the argument.

    Example:
        >>> LogQuery(providers=("openai",), models=("gpt-4o-mini",), status=("success",)).params()
        {'providers': 'openai', 'models': 'gpt-4o-mini', 'status': 'success'}
    """

    start_time: datetime | None = None
    end_time: datetime | None = None
    virtual_key_ids: tuple[str, ...] = ()
    team_ids: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    status: tuple[str, ...] = ()

    def params(self) -> dict[str, str]:
        """The query parameters, in Bifrost's names.

        Raises:
            ValueError: a time without an offset, or a list value that a comma list cannot carry.
        """
        params: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None or value == ():
                continue
            if isinstance(value, datetime):
                params[spec.name] = format_time(value)
                continue
            for item in value:
                if not isinstance(item, str) or not item.strip() or "," in item:
                    raise ValueError(f"{spec.name}: a value of a comma list must be non-blank and hold no comma")
            params[spec.name] = ",".join(value)
        return params


def _params(query: Params, **extra: str) -> dict[str, str | int]:
    found: dict[str, str | int] = {}
    if isinstance(query, LogQuery):
        found.update(query.params())
    elif query is not None:
        found.update(query)
    found.update(extra)
    return found


class LogStats(BifrostModel):
    """``GET /api/logs/stats``: totals over the filtered rows (Bifrost may add cache-hit fields; ignored)."""

    total_requests: int = 0
    success_rate: float = 0.0
    user_facing_success_rate: float | None = None
    user_facing_total_requests: int | None = None
    average_latency: float = 0.0
    total_tokens: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_cost: float = 0.0


class CostBucket(BifrostModel):
    """One bucket of the cost histogram: ``timestamp`` is the bucket's start, ``by_model`` its cost per model."""

    timestamp: datetime
    total_cost: float = 0.0
    by_model: CostMap = Field(default_factory=dict)


class CostHistogram(BifrostModel):
    """``GET /api/logs/histogram/cost``: ``{buckets, bucket_size_seconds, models}``."""

    buckets: OrEmpty[CostBucket] = Field(default_factory=list)
    bucket_size_seconds: int
    models: OrEmpty[str] = Field(default_factory=list)


class DimensionBucket(BifrostModel):
    """One bucket of a by-dimension histogram: ``by_dimension`` maps a value (a team id ...) to its cost."""

    timestamp: datetime
    total_cost: float = 0.0
    by_dimension: CostMap = Field(default_factory=dict)


class CostByDimension(BifrostModel):
    """``GET .../histogram/cost/by-dimension``: ``{buckets, bucket_size_seconds, dimension, dimension_values}``."""

    buckets: OrEmpty[DimensionBucket] = Field(default_factory=list)
    bucket_size_seconds: int
    dimension: str = ""
    dimension_values: OrEmpty[str] = Field(default_factory=list)


class Trend(BifrostModel):
    """A ranking's change against the previous period of the same length (latency and throughput: models only)."""

    has_previous_period: bool = False
    requests_trend: float = 0.0
    tokens_trend: float = 0.0
    cost_trend: float = 0.0
    latency_trend: float | None = None
    throughput_trend: float | None = None


class ModelRanking(BifrostModel):
    """One model's totals in ``GET /api/logs/rankings``."""

    # ``model`` and ``canonical_model_name`` are Bifrost's words, not pydantic's.
    model_config = ConfigDict(extra="ignore", frozen=True, protected_namespaces=())

    model: str
    canonical_model_name: str | None = None
    provider: str = ""
    total_requests: int = 0
    success_count: int = 0
    success_rate: float = 0.0
    total_tokens: int = 0
    total_cost: float = 0.0
    avg_latency: float = 0.0
    throughput: float = 0.0
    trend: Trend = Field(default_factory=Trend)


class ModelRankings(BifrostModel):
    """``{rankings: [...]}``."""

    rankings: OrEmpty[ModelRanking] = Field(default_factory=list)


class DimensionRanking(BifrostModel):
    """One team's (customer's ...) totals in ``GET /api/logs/rankings/by-dimension``."""

    id: str
    name: str | None = None
    total_requests: int = 0
    total_tokens: int = 0
    total_cost: float = 0.0
    trend: Trend = Field(default_factory=Trend)


class DimensionRankings(BifrostModel):
    """``{rankings, dimension, total_actual_requests?, total_attributed_requests?}``."""

    rankings: OrEmpty[DimensionRanking] = Field(default_factory=list)
    dimension: str = ""
    total_actual_requests: int | None = None
    total_attributed_requests: int | None = None


async def log_stats(session: BifrostSession, query: Params = None) -> LogStats:
    """``GET /api/logs/stats``."""
    return await session.fetch(LogStats, "GET", f"{_LOGS}/stats", params=_params(query))


async def cost_histogram(session: BifrostSession, query: Params = None) -> CostHistogram:
    """``GET /api/logs/histogram/cost``."""
    return await session.fetch(CostHistogram, "GET", f"{_LOGS}/histogram/cost", params=_params(query))


async def cost_by_dimension(session: BifrostSession, dimension: CostDimension, query: Params = None) -> CostByDimension:
    """``GET /api/logs/histogram/cost/by-dimension``; an unknown ``dimension`` raises BifrostBadRequest upstream,
    so it is refused here first (ValueError)."""
    if dimension not in COST_DIMENSIONS:
        raise ValueError(f"not a cost dimension: {dimension!r}")
    path = f"{_LOGS}/histogram/cost/by-dimension"
    return await session.fetch(CostByDimension, "GET", path, params=_params(query, dimension=dimension))


async def model_rankings(session: BifrostSession, query: Params = None) -> ModelRankings:
    """``GET /api/logs/rankings``."""
    return await session.fetch(ModelRankings, "GET", f"{_LOGS}/rankings", params=_params(query))


async def dimension_rankings(
    session: BifrostSession, dimension: RankingDimension, query: Params = None
) -> DimensionRankings:
    """``GET /api/logs/rankings/by-dimension``; ``dimension`` is checked before anything is sent (ValueError)."""
    if dimension not in RANKING_DIMENSIONS:
        raise ValueError(f"not a ranking dimension: {dimension!r}")
    path = f"{_LOGS}/rankings/by-dimension"
    return await session.fetch(DimensionRankings, "GET", path, params=_params(query, dimension=dimension))
