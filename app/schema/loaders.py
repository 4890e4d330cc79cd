"""Per-request DataLoaders over Bifrost, which has no batch-by-ids endpoint.

Call plan (also in the README): entities by id are fetched with concurrent ``GET /{id}`` calls,
bounded by DATALOADER_CONCURRENCY; a team's virtual keys come from one filtered list call per team
when few teams ask, and from one unfiltered list call grouped by team when many do; budgets and rate
limits that a payload did not embed come from one list call each; entities a federation router names by
reference come by id when few, from pages of their list when many (``app.schema.references``). Whatever a
payload embeds in full primes the loaders, so it is never fetched again in the same request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import cache
from typing import Any, Generic, Literal, TypeVar, overload

from app.bifrost import BifrostNotFound, BifrostSession
from app.bifrost.model_configs import ModelConfig
from app.bifrost.models import Budget, BudgetList, Customer, RateLimit, RateLimitList, Team, VirtualKey
from app.bifrost.quota import KeyQuota
from app.metric_series import HistogramSeries
from app.observability import DATALOADER_BATCH_SIZE
from app.schema.batch_loader import BatchLoader
from app.schema.call_limit import CallLimit
from app.schema.model_configs.loaders import load_key_model_configs
from app.schema.references import find_by_reference
from app.schema.self_service.usage import load_key_quotas
from app.schema.spend.loaders import SpendLoaders

__all__ = ["Loaders"]

K = TypeVar("K")
V = TypeVar("V")
H = TypeVar("H")

WrittenLoader = Literal["team", "customer", "virtual_key"]
"""The loaders that writes prime with what they returned."""

# Above this many teams in one batch, one unfiltered virtual-key list beats a filtered call per team.
KEYS_LIST_ALL_THRESHOLD = 4


_MISSING = object()


class PrimedLoader(BatchLoader[K, V]):
    """A DataLoader primed lazily: what a payload embeds becomes a cache entry only when it is asked for.

    A list of a hundred teams would otherwise make a hundred cache futures that nothing reads. Asking
    for a remembered key primes it first (without replacing an entry already cached, as ``prime`` does),
    so loads see exactly what eager priming would have given them. What is remembered is not even read
    until the first load: most requests never load what their lists embed. Clearing a key forgets what
    was remembered for it too: it is as old as what was cached.
    """

    __slots__ = ("_known", "_unread")

    def __init__(self, load_fn: Callable[[list[K]], Awaitable[list[V]]]) -> None:
        super().__init__(load_fn)
        self._known: dict[K, V] = {}
        self._unread: list[Iterable[tuple[K, V]]] = []

    def remember(self, items: Iterable[tuple[K, V]]) -> None:
        """``prime`` each ``(key, value)``, deferred until the key is loaded (``items`` is read then)."""
        if self.has_waiting_keys:
            # Keys waiting in a batch that has not gone out yet are answered now, as ``prime`` does.
            for key, value in items:
                self.prime(key, value)
            return
        self._unread.append(items)

    def load(self, key: K) -> asyncio.Future[V]:
        if self._unread:
            self._read_remembered()
        if self._known:
            value = self._known.pop(key, _MISSING)
            if value is not _MISSING:
                self.prime(key, value)  # type: ignore[arg-type]
        return super().load(key)

    def clear(self, key: K) -> None:
        self._read_remembered()
        self._known.pop(key, None)
        super().clear(key)

    def clear_all(self) -> None:
        self._known.clear()
        self._unread.clear()
        super().clear_all()

    def _read_remembered(self) -> None:
        known = self._known
        for items in self._unread:
            for remembered, remembered_value in items:
                known.setdefault(remembered, remembered_value)
        self._unread.clear()


class made_once(Generic[H, V]):
    """``functools.cached_property`` without its lock: the value is made on first read and kept on the instance.

    Python 3.11's ``cached_property`` takes a lock on every first read; a request's loaders are made and used
    on its event loop's thread only, and each request makes one or two of them.

    Example:
        >>> class Holder:
        ...     @made_once
        ...     def value(self) -> list[int]:
        ...         return []
        >>> holder = Holder()
        >>> holder.value is holder.value
        True
    """

    def __init__(self, make: Callable[[H], V]) -> None:
        self.make = make
        self.name = make.__name__
        self.__doc__ = make.__doc__

    def __set_name__(self, owner: type[H], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type[H] | None = None) -> made_once[H, V]: ...

    @overload
    def __get__(self, instance: H, owner: type[H] | None = None) -> V: ...

    def __get__(self, instance: H | None, owner: type[H] | None = None) -> Any:
        if instance is None:
            return self
        # A non-data descriptor: once the value is in the instance's ``__dict__``, reads find it there.
        value = instance.__dict__[self.name] = self.make(instance)
        return value


class Loaders:
    """The DataLoaders of one request. Results come back in key order, ``None`` for a miss.

    Example:
        >>> # team = await Loaders(session, concurrency=10).team.load(team_id)
    """

    def __init__(self, bifrost: BifrostSession, concurrency: int) -> None:
        self._bifrost = bifrost
        self._concurrency = concurrency
        self._budget_list: asyncio.Future[BudgetList] | None = None
        self._rate_limit_list: asyncio.Future[RateLimitList] | None = None
        self._team_keys: dict[str, list[VirtualKey]] = {}
        # What writes returned for a loader not made yet, by loader and id: it learns them when made.
        self._written: dict[str, dict[str, Any]] = {}

    # Each loader is made on first use: most requests need one or two of them, or none.

    @made_once
    def team(self) -> PrimedLoader[str, Team | None]:
        """Teams by id (``GET /teams/{id}``, concurrent)."""
        loader = PrimedLoader(self._load_teams)
        return self._learning_written("team", loader) if self._written else loader

    @made_once
    def customer(self) -> PrimedLoader[str, Customer | None]:
        """Customers by id, in full (``GET /customers/{id}``: teams and keys embedded)."""
        loader = PrimedLoader(self._load_customers)
        return self._learning_written("customer", loader) if self._written else loader

    @made_once
    def virtual_key(self) -> PrimedLoader[str, VirtualKey | None]:
        """Virtual keys by id (``GET /virtual-keys/{id}``, concurrent)."""
        loader = PrimedLoader(self._load_virtual_keys)
        return self._learning_written("virtual_key", loader) if self._written else loader

    @made_once
    def virtual_keys_by_team(self) -> BatchLoader[str, list[VirtualKey]]:
        """A team's virtual keys (filtered lists, or one unfiltered list for many teams)."""
        return BatchLoader(self._load_keys_by_team)

    @made_once
    def team_reference(self) -> BatchLoader[str, Team | None]:
        """Teams named by a router's references: a few by id, many from team pages (``app.schema.references``)."""
        return BatchLoader(self._find_teams)

    @made_once
    def customer_reference(self) -> BatchLoader[str, Customer | None]:
        """Customers named by references: a few in full by id, many from customer pages."""
        return BatchLoader(self._find_customers)

    @made_once
    def virtual_key_reference(self) -> BatchLoader[str, VirtualKey | None]:
        """Virtual keys named by references: a few by id, many from key pages."""
        return BatchLoader(self._find_virtual_keys)

    @made_once
    def key_model_configs(self) -> BatchLoader[str, list[ModelConfig] | None]:
        """A virtual key's scoped model configs (``app.schema.model_configs.loaders``; None before Bifrost v2)."""
        return BatchLoader(lambda ids: load_key_model_configs(self._bifrost, ids))

    @made_once
    def key_quota(self) -> BatchLoader[str, KeyQuota]:
        """Keys' quota answers by the key's value (``app.schema.self_service.usage``: one call per key)."""
        return BatchLoader(lambda values: load_key_quotas(self._bifrost, self._limit, values))

    @made_once
    def spend(self) -> SpendLoaders:
        """Spend series of teams, customers and keys, per range (``app.schema.spend.loaders``)."""
        return SpendLoaders(self._bifrost, lambda: self._limit)

    @made_once
    def budget(self) -> BatchLoader[str, Budget | None]:
        """Budgets by id, from one budget list per request."""
        return BatchLoader(self._load_budgets)

    @made_once
    def rate_limit(self) -> BatchLoader[str, RateLimit | None]:
        """Rate limits by id, from one rate-limit list per request."""
        return BatchLoader(self._load_rate_limits)

    # Keys of the teams of a page, fetched beside the page itself ------------------------------------

    def team_keys(self, team_id: str) -> list[VirtualKey] | None:
        """The team's keys when a team page fetched every key beside it (see ``ListQueries.teams``)."""
        return self._team_keys.get(team_id)

    def know_team_keys(self, team_ids: Iterable[str], everything: list[VirtualKey]) -> None:
        """Group the full key list by team, for the teams of a page (teams without keys get [])."""
        grouped = _KEYS_BY_TEAM.of(everything)
        self._team_keys.update({team_id: grouped.get(team_id) or [] for team_id in team_ids})
        self.prime_virtual_keys(everything)

    def forget_team_keys(self) -> None:
        """A write changed which keys a team has: later reads in this request load them again."""
        self._team_keys.clear()
        self._clear_all("virtual_keys_by_team")

    def forget_budgets(self) -> None:
        """A write changed a budget: later reads in this request fetch budgets again."""
        self._budget_list = None
        self._clear_all("budget")

    def _clear_all(self, name: str) -> None:
        # A loader not made yet holds nothing: clearing it would only make it (as a write's payload does).
        loader = self.__dict__.get(name)
        if loader is not None:
            loader.clear_all()

    def close(self) -> None:
        """Drop the loaders and what they hold, at the end of the request.

        Each loader's batch function is a method of this object, which holds the loader: a reference cycle
        that only the garbage collector would break, keeping every model the request fetched alive (and
        traversed by each collection) long after the answer was sent. Dropping the loaders breaks it, so
        everything is freed by reference counting as soon as the request is over.
        """
        made = self.__dict__
        for name in _LOADER_NAMES.intersection(made):  # most requests made one or two of them
            del made[name]
        self._budget_list = None
        self._rate_limit_list = None
        self._team_keys = {}
        self._written = {}

    # What writes returned -----------------------------------------------------------------------------

    def write(self, loader: WrittenLoader, key: str, value: Any) -> None:
        """What a write returned for ``key`` (None: deleted), as ``prime(key, value, force=True)`` on the loader.

        A loader not made yet is not made for it (a mutation's payload seldom reads back through it): it
        learns the value when it is made, as a fresh loader primed with it would have it.
        """
        made = self.__dict__.get(loader)
        if made is not None:
            made.prime(key, value, force=True)
        else:
            self._written.setdefault(loader, {})[key] = value  # the latest write of a key wins, as with prime

    def forget(self, loader: WrittenLoader, key: str) -> None:
        """``clear(key)`` on the loader, without making a loader that holds nothing yet."""
        made = self.__dict__.get(loader)
        if made is not None:
            made.clear(key)
        else:
            self._written.get(loader, {}).pop(key, None)

    def _learning_written(self, name: WrittenLoader, loader: PrimedLoader[str, V]) -> PrimedLoader[str, V]:
        written = self._written.pop(name, None)
        if written:
            loader.remember(list(written.items()))  # an empty loader: the same as priming each, by force
        return loader

    @made_once
    def _limit(self) -> CallLimit:
        return CallLimit(self._concurrency)

    async def all_budgets(self) -> BudgetList:
        """Every budget, fetched at most once per request."""
        if self._budget_list is None:
            self._budget_list = asyncio.ensure_future(self._bifrost.list_budgets())
        return await asyncio.shield(self._budget_list)

    async def all_rate_limits(self) -> RateLimitList:
        """Every rate limit, fetched at most once per request."""
        if self._rate_limit_list is None:
            self._rate_limit_list = asyncio.ensure_future(self._bifrost.list_rate_limits())
        return await asyncio.shield(self._rate_limit_list)

    def forget_rate_limits(self) -> None:
        """A write changed a rate limit: later reads in this request fetch rate limits again."""
        self._rate_limit_list = None
        self._clear_all("rate_limit")

    # Priming with what payloads already embed ------------------------------------------------------

    def prime_teams(self, teams: Iterable[Team]) -> None:
        """Remember teams fetched by a list or a mutation (their embedded customers are partial)."""
        self.team.remember((team.id, team) for team in teams)

    def prime_customers(self, customers: Iterable[Customer]) -> None:
        """Remember customers fetched in full (GET or list: teams and keys embedded)."""
        self.customer.remember(
            (customer.id, customer)
            for customer in customers
            if customer.teams is not None and customer.virtual_keys is not None
        )

    def prime_virtual_keys(self, keys: Iterable[VirtualKey]) -> None:
        """Remember virtual keys fetched by a list or a mutation."""
        self.virtual_key.remember((key.id, key) for key in keys)

    # Batch functions -------------------------------------------------------------------------------

    async def _each(self, keys: Sequence[K], fetch: Callable[[K], Awaitable[V]]) -> list[V | None]:
        _batch_sizes(getattr(fetch, "__name__", "fetch")).observe(len(keys))
        limit = self._limit
        if len(keys) == 1:
            # A lookup by id is a batch of one: fetched in this frame, without a coroutine, a task and a gather.
            if not limit.take():  # a free slot is a counter: no coroutine of ``async with`` for it
                await limit.wait()
            try:
                return [await fetch(keys[0])]
            except BifrostNotFound:
                return [None]
            finally:
                limit.release()

        async def one(key: K) -> V | None:
            if not limit.take():
                await limit.wait()
            try:
                return await fetch(key)
            except BifrostNotFound:
                return None
            finally:
                limit.release()

        return list(await asyncio.gather(*(one(key) for key in keys)))

    # The batch functions hand back ``_each``'s coroutine itself: one frame less on every resume of the call.

    def _load_teams(self, ids: list[str]) -> Awaitable[list[Team | None]]:
        return self._each(ids, self._bifrost.get_team)

    def _load_customers(self, ids: list[str]) -> Awaitable[list[Customer | None]]:
        return self._each(ids, self._bifrost.get_customer)

    def _load_virtual_keys(self, ids: list[str]) -> Awaitable[list[VirtualKey | None]]:
        return self._each(ids, self._bifrost.get_virtual_key)

    async def _find_teams(self, ids: list[str]) -> list[Team | None]:
        async def page(offset: int, limit: int) -> tuple[list[Team], int | None, int | None]:
            found = await self._bifrost.list_teams({"limit": limit, "offset": offset})
            self.prime_teams(found.teams)
            return found.teams, found.total_count, found.limit

        return await find_by_reference(ids, self.team.load_many, page, self._limit)

    async def _find_customers(self, ids: list[str]) -> list[Customer | None]:
        async def page(offset: int, limit: int) -> tuple[list[Customer], int | None, int | None]:
            found = await self._bifrost.list_customers({"limit": limit, "offset": offset})
            self.prime_customers(found.customers)
            return found.customers, found.total_count, found.limit

        return await find_by_reference(ids, self.customer.load_many, page, self._limit)

    async def _find_virtual_keys(self, ids: list[str]) -> list[VirtualKey | None]:
        async def page(offset: int, limit: int) -> tuple[list[VirtualKey], int | None, int | None]:
            found = await self._bifrost.list_virtual_keys({"limit": limit, "offset": offset})
            self.prime_virtual_keys(found.virtual_keys)
            return found.virtual_keys, found.total_count, found.limit

        return await find_by_reference(ids, self.virtual_key.load_many, page, self._limit)

    async def _load_keys_by_team(self, team_ids: list[str]) -> list[list[VirtualKey]]:
        if len(team_ids) > KEYS_LIST_ALL_THRESHOLD:
            everything = (await self._bifrost.list_virtual_keys()).virtual_keys
            grouped = _KEYS_BY_TEAM.of(everything)
            self.prime_virtual_keys(everything)
            return [grouped.get(team_id) or [] for team_id in team_ids]

        async def for_team(team_id: str) -> list[VirtualKey]:
            page = await self._bifrost.list_virtual_keys({"team_id": team_id})
            self.prime_virtual_keys(page.virtual_keys)
            return page.virtual_keys

        lists = await self._each(team_ids, for_team)
        return [found or [] for found in lists]

    async def _load_budgets(self, ids: list[str]) -> list[Budget | None]:
        by_id = {budget.id: budget for budget in (await self.all_budgets()).budgets}
        return [by_id.get(budget_id) for budget_id in ids]

    async def _load_rate_limits(self, ids: list[str]) -> list[RateLimit | None]:
        by_id = {limit.id: limit for limit in (await self.all_rate_limits()).rate_limits}
        return [by_id.get(limit_id) for limit_id in ids]


@cache
def _batch_sizes(loader: str) -> HistogramSeries:
    """The batch-size histogram of one loader (a handful of names), resolved once per process."""
    return DATALOADER_BATCH_SIZE.labels(loader)


class _KeysByTeam:
    """The last full key list grouped by team, grouped again only when a different list comes.

    The parse memo hands out the very same list while Bifrost answers the same bytes, so a dashboard that
    reloads its teams' keys groups them once, not on every request. The list is held (so its identity cannot
    be reused by another) and never changed, like every parsed model; the groups are read only.
    """

    def __init__(self) -> None:
        self._last: tuple[list[VirtualKey] | None, dict[str, list[VirtualKey]]] = (None, {})

    def of(self, everything: list[VirtualKey]) -> dict[str, list[VirtualKey]]:
        """Each team's keys in ``everything``, in its order (teams without keys are absent)."""
        last, grouped = self._last  # one tuple: a list and its groups are replaced together
        if everything is not last:
            grouped = {}
            for key in everything:
                if key.team_id is not None:
                    grouped.setdefault(key.team_id, []).append(key)
            self._last = (everything, grouped)
        return grouped


_KEYS_BY_TEAM = _KeysByTeam()


_LOADER_NAMES = frozenset(
    {
        "key_quota",
        "team",
        "customer",
        "virtual_key",
        "virtual_keys_by_team",
        "team_reference",
        "customer_reference",
        "virtual_key_reference",
        "budget",
        "rate_limit",
        "key_model_configs",
        "spend",
    }
)
