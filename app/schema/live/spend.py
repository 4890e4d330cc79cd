"""``spendTick``: a running total of spend (cost, requests, tokens) from Bifrost's ``/api/logs/stats``.

One poll is one stats call with the subscription's filters (the watched ids, providers and models, and ``since``
as ``start_time``): it costs one upstream call per interval whatever the filters, shared by every subscriber of
the same filters and credentials. A push carries the totals when they change (and first, at once). With no
filter, the total is the whole deployment's since ``since`` (all of history without it).

Arguments are checked before anything is sent; Bifrost would silently ignore a bad timestamp and answer all of
history, so ``since`` must carry a UTC offset and lie between 1970 and 9999.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from graphql import GraphQLError

from app.bifrost import BifrostSession, is_valid_id
from app.bifrost.analytics import LogQuery, format_time
from app.generations import Feature
from app.live import SharedResults, SubscriberDropped, WatchKey
from app.schema.capabilities import lacks
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.live.source import LiveSource
from app.schema.live.types import SpendTick

__all__ = ["MAX_FILTER_VALUES", "spend_ticks"]

MAX_FILTER_VALUES = 50
"""Providers or models one ``spendTick`` may name (each list)."""
_MAX_NAME_CHARS = 200


async def spend_ticks(
    live: LiveSource,
    session: BifrostSession,
    *,
    ids: dict[str, Sequence[str] | None],
    providers: Sequence[str] | None,
    models: Sequence[str] | None,
    since: datetime | None,
) -> AsyncGenerator[SpendTick, None]:
    """Check the arguments, then the stream of totals (raises GatewayError for a bad argument)."""
    query = _query(ids, providers, models, since)
    live.claim(1)  # one stats call per interval, whatever the filters (before detection, which may call upstream)
    if await lacks(session, Feature.ANALYTICS):
        raise GraphQLError(
            "spendTick needs Bifrost v2+ (its /api/logs analytics)", extensions={"code": "UNSUPPORTED_BY_UPSTREAM"}
        )
    params = query.params()
    key = WatchKey("spendTick", live.credentials, tuple(f"{name}={value}" for name, value in sorted(params.items())))

    async def poll() -> dict[str, Any]:
        stats = await live.poll_session(1).log_stats(params)
        return {
            "total_cost": stats.total_cost,
            "total_requests": stats.total_requests,
            "total_tokens": stats.total_tokens,
        }

    return _ticks(live, key, poll, since)


async def _ticks(live: LiveSource, key: WatchKey, poll: Any, since: datetime | None) -> AsyncGenerator[SpendTick, None]:
    snapshots = live.hub.watch(key, poll)
    try:
        async for snapshot in snapshots:
            echo = since.isoformat() if since is not None else None  # equal instants may be written differently
            yield _TICKS.get((snapshot,), (echo,), partial(_tick, snapshot, since))
    except SubscriberDropped as dropped:
        raise GatewayError(str(dropped), GatewayErrorCode.SUBSCRIBER_TOO_SLOW) from None
    finally:
        await snapshots.aclose()


_TICKS: SharedResults[SpendTick] = SharedResults()


def _tick(snapshot: dict[str, Any], since: datetime | None) -> SpendTick:
    # ``since`` is part of the key, so every subscriber of this snapshot asked for the same one.
    return SpendTick(
        total_cost=snapshot["total_cost"],
        total_requests=snapshot["total_requests"],
        total_tokens=snapshot["total_tokens"],
        since=since,
    )


def _query(
    ids: dict[str, Sequence[str] | None],
    providers: Sequence[str] | None,
    models: Sequence[str] | None,
    since: datetime | None,
) -> LogQuery:
    for argument, values in ids.items():
        for index, value in enumerate(values or ()):
            if not is_valid_id(value):
                raise _bad(argument, f"{argument}[{index}] is not a valid id")
        # Distinct values, as they go upstream (a repeated id is one id, as budgetUsage counts it).
        if len(set(values or ())) > MAX_FILTER_VALUES:
            raise _bad(argument, f"{argument} may name at most {MAX_FILTER_VALUES} ids")
    for argument, names in (("providers", providers), ("models", models)):
        if len(set(names or ())) > MAX_FILTER_VALUES:
            raise _bad(argument, f"{argument} may name at most {MAX_FILTER_VALUES} values")
        for index, name in enumerate(names or ()):
            if not name.strip() or len(name) > _MAX_NAME_CHARS or "," in name or not name.isprintable():
                raise _bad(
                    argument,
                    f"{argument}[{index}] must be 1 to {_MAX_NAME_CHARS} printable characters without a comma",
                )
    if since is not None:
        if since.tzinfo is None or since.utcoffset() is None:
            raise _bad("since", "since must carry a UTC offset (RFC 3339), e.g. 2026-01-01T00:00:00Z")
        if not 1970 <= since.year <= 9999:
            raise _bad("since", "since must lie between the years 1970 and 9999")
        format_time(since)
    return LogQuery(
        start_time=since,
        team_ids=tuple(sorted(set(ids["teamIds"] or ()))),
        customer_ids=tuple(sorted(set(ids["customerIds"] or ()))),
        virtual_key_ids=tuple(sorted(set(ids["virtualKeyIds"] or ()))),
        providers=tuple(sorted(set(providers or ()))),
        models=tuple(sorted(set(models or ()))),
    )


def _bad(argument: str, message: str) -> GatewayError:
    return GatewayError(message, GatewayErrorCode.BAD_USER_INPUT, argument=argument)
