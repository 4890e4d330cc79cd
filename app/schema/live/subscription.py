"""The root ``Subscription`` type: live budget and rate-limit usage, polled from Bifrost.

Arguments are checked before anything is polled (each id well formed, at least one, at most
``LIVE_MAX_WATCHED_IDS`` in all): a bad one is a ``BAD_USER_INPUT`` error naming the argument and the
subscription does not start. Nor does one that would take its client address over
``LIVE_MAX_POLLED_IDS_PER_CLIENT`` ids (``TOO_MANY_POLLED_IDS``, see ``app.live.budget``). The stream then
shares its poller with every subscriber of the same watched set and credentials (``app.live``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError

from app.bifrost import is_valid_id
from app.live import SharedResults, SubscriberDropped, WatchKey
from app.schema.context import Info
from app.schema.errors import GatewayError, GatewayErrorCode
from app.schema.live.counters import WatchedSet, changed, read_counters
from app.schema.live.source import LiveSource
from app.schema.live.spend import spend_ticks
from app.schema.live.types import BudgetUsageUpdate, SpendTick, update_of

__all__ = ["Subscription"]

_IDS = "Ids of the {} to watch."


@strawberry.type(
    description="Live data. Bifrost pushes no usage: the gateway polls it, once per interval (`LIVE_POLL_INTERVAL`) "
    "for every distinct watched set and caller, however many subscribe to it."
)
class Subscription:
    @strawberry.subscription(
        description="Budget and rate-limit counters of the watched teams, customers and virtual keys (a key's provider "
        "configs included): every counter first, then each counter when it changes. Each watched id costs one "
        "upstream call per interval; an id that names nothing adds no counter."
    )
    @staticmethod
    async def budget_usage(
        info: Info,
        team_ids: Annotated[list[strawberry.ID] | None, strawberry.argument(description=_IDS.format("teams"))] = None,
        customer_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description=_IDS.format("customers"))
        ] = None,
        virtual_key_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description=_IDS.format("virtual keys"))
        ] = None,
    ) -> AsyncGenerator[BudgetUsageUpdate, None]:
        live = _live(info)
        watched = _watched(live, teamIds=team_ids, customerIds=customer_ids, virtualKeyIds=virtual_key_ids)
        key = WatchKey("budgetUsage", live.credentials, watched.members())
        live.claim(watched.size)  # each distinct id is one upstream read per interval

        async def poll() -> list[dict[str, Any]]:
            return await read_counters(live.poll_session(watched.size), watched)

        return _budget_updates(live, key, poll)

    @strawberry.subscription(
        description="A running total of spend (cost, requests, tokens) over the requests Bifrost logged that match "
        "the filters (none: the whole deployment), since `since` (null: all of history): the total first, then "
        "each time it changes. One upstream call per interval, whatever the filters. "
        "(Bifrost v2; `UNSUPPORTED_BY_UPSTREAM` on older versions, with nothing polled.)"
    )
    @staticmethod
    async def spend_tick(
        info: Info,
        team_ids: Annotated[list[strawberry.ID] | None, strawberry.argument(description=_IDS.format("teams"))] = None,
        customer_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description=_IDS.format("customers"))
        ] = None,
        virtual_key_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description=_IDS.format("virtual keys"))
        ] = None,
        providers: Annotated[list[str] | None, strawberry.argument(description="Providers, e.g. `openai`.")] = None,
        models: Annotated[list[str] | None, strawberry.argument(description="Models, e.g. `gpt-4o-mini`.")] = None,
        since: Annotated[
            datetime | None, strawberry.argument(description="Start of the total, RFC 3339 with an offset.")
        ] = None,
    ) -> AsyncGenerator[SpendTick, None]:
        return await spend_ticks(
            _live(info),
            info.context.bifrost,
            ids={"teamIds": team_ids, "customerIds": customer_ids, "virtualKeyIds": virtual_key_ids},
            providers=providers,
            models=models,
            since=since,
        )


async def _budget_updates(live: LiveSource, key: WatchKey, poll: Any) -> AsyncGenerator[BudgetUsageUpdate, None]:
    snapshots = live.hub.watch(key, poll)
    previous: list[dict[str, Any]] | None = None
    try:
        async for snapshot in snapshots:
            # Subscribers of one key see the same snapshots: the same update object for all (see app.live.shared).
            update = _UPDATES.get((previous, snapshot), (), partial(_update, previous, snapshot))
            previous = snapshot
            if update is not None:
                yield update
    except SubscriberDropped as dropped:
        raise GatewayError(str(dropped), GatewayErrorCode.SUBSCRIBER_TOO_SLOW) from None
    finally:
        await snapshots.aclose()


_UPDATES: SharedResults[BudgetUsageUpdate | None] = SharedResults()


def _update(previous: list[dict[str, Any]] | None, snapshot: list[dict[str, Any]]) -> BudgetUsageUpdate | None:
    counters = changed(previous, snapshot)
    if previous is not None and not counters:
        return None
    return update_of(counters, initial=previous is None)


def _live(info: Info) -> LiveSource:
    live = info.context.live
    if live is None:  # an executor run without a subscription transport: nothing to poll through
        raise GraphQLError("subscriptions are served over graphql-transport-ws, SSE or multipart")
    return live


def _watched(live: LiveSource, **by_argument: Sequence[str] | None) -> WatchedSet:
    for argument, ids in by_argument.items():
        for index, value in enumerate(ids or ()):
            if not is_valid_id(value):
                raise GatewayError(
                    f"{argument}[{index}] is not a valid id", GatewayErrorCode.BAD_USER_INPUT, argument=argument
                )
    watched = WatchedSet.of(by_argument["teamIds"], by_argument["customerIds"], by_argument["virtualKeyIds"])
    if watched.size == 0:
        raise GatewayError(
            "name at least one id in teamIds, customerIds or virtualKeyIds", GatewayErrorCode.BAD_USER_INPUT
        )
    if watched.size > live.max_watched_ids:
        raise GatewayError(
            f"a subscription may watch at most {live.max_watched_ids} ids; this one names {watched.size}",
            GatewayErrorCode.BAD_USER_INPUT,
        )
    return watched
