"""A write clears what the request's loaders hold, and makes no loader only to clear it.

A batch of one key (a lookup by id) is fetched in the batch's own task: its answer, its miss (None) and its
failure reach the caller as they do for a batch of several.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from app.bifrost import BifrostNotFound, UpstreamUnavailable
from app.bifrost.models import Budget, BudgetList
from app.schema.loaders import Loaders
from app.schema.stale import Stale, Written, forget_stale
from tests.gateway.document_variants import DIFFERENTIAL_SEED

STAMPS = {"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


class Upstream:
    """The session calls the loaders make, answered from memory and counted."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def list_budgets(self) -> BudgetList:
        self.calls.append("budgets")
        return BudgetList(budgets=[Budget(id="b1", max_limit=5, reset_duration="1M", **STAMPS)])  # type: ignore[arg-type]

    async def get_team(self, team_id: str) -> Any:
        self.calls.append(f"team {team_id}")
        if team_id == "missing":
            raise BifrostNotFound(404, "no such team")
        if team_id == "down":
            raise UpstreamUnavailable("Bifrost is unreachable")
        return team_id.upper()


def test_forgetting_makes_no_loader_that_was_not_made() -> None:
    loaders = Loaders(Upstream(), 10)  # type: ignore[arg-type]
    loaders.forget_budgets()
    loaders.forget_rate_limits()
    loaders.forget_team_keys()
    assert not {"budget", "rate_limit", "virtual_keys_by_team"} & set(vars(loaders))


async def test_forgetting_clears_a_loader_that_was_made() -> None:
    upstream = Upstream()
    loaders = Loaders(upstream, 10)  # type: ignore[arg-type]
    first = await loaders.budget.load("b1")
    assert first is not None and first.max_limit == 5
    await loaders.budget.load("b1")
    assert upstream.calls == ["budgets"]  # cached
    loaders.forget_budgets()
    await loaders.budget.load("b1")
    assert upstream.calls == ["budgets", "budgets"]  # read again after the write


async def test_clearing_a_key_never_loaded_is_a_no_op_and_a_loaded_one_is_read_again() -> None:
    # A write whose answer names an owner this request never read (a customer id in a created team) clears it:
    # Strawberry's cache raised KeyError there, which failed the mutation after Bifrost had made the team.
    upstream = Upstream()
    loaders = Loaders(upstream, 10)  # type: ignore[arg-type]
    loaders.team.clear("never-read")
    assert await loaders.team.load("t1") == "T1"
    loaders.team.clear("t1")
    loaders.team.clear("t1")  # twice: the second finds nothing
    assert await loaders.team.load("t1") == "T1"
    assert upstream.calls == ["team t1", "team t1"]


async def test_a_batch_of_one_answers_misses_and_fails_like_a_batch_of_several() -> None:
    upstream = Upstream()
    loaders = Loaders(upstream, 10)  # type: ignore[arg-type]
    assert await loaders.team.load("a") == "A"
    assert await loaders.team.load("missing") is None
    with pytest.raises(UpstreamUnavailable):
        await loaders.team.load("down")
    assert await loaders.team.load_many(["b", "missing", "c"]) == ["B", None, "C"]
    assert upstream.calls == ["team a", "team missing", "team down", "team b", "team c"]  # the miss is cached


# What a write returned reaches a loader not made yet when it is made: the same reads as priming it by force.

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["write", "write-deleted", "forget", "load", "clear-all", "remember"]),
        st.sampled_from(["t1", "t2", "missing"]),
        st.sampled_from(["first", "second"]),
    ),
    max_size=12,
)


async def reads(operations: list[tuple[str, str, str]], *, made_first: bool) -> tuple[list[Any], list[str]]:
    """What each load gave, and the calls sent; ``made_first``: the team loader is made before anything."""
    upstream = Upstream()
    loaders = Loaders(upstream, 10)  # type: ignore[arg-type]
    if made_first:
        assert loaders.team is not None
    answers: list[Any] = []
    for operation, key, version in operations:
        if operation == "write":
            loaders.write("team", key, f"{key} as written ({version})")
        elif operation == "write-deleted":
            loaders.write("team", key, None)
        elif operation == "forget":
            loaders.forget("team", key)
        elif operation == "clear-all":
            loaders.team.clear_all()
        elif operation == "remember":
            loaders.prime_teams([SimpleNamespace(id=key, version=version)])  # type: ignore[list-item]
        else:
            try:
                answer = await loaders.team.load(key)
            except Exception as error:
                answer = type(error).__name__
            answers.append(answer if not isinstance(answer, SimpleNamespace) else ("listed", answer.version))
    return answers, upstream.calls


@seed(DIFFERENTIAL_SEED)
@settings(max_examples=300, deadline=None)
@given(OPERATIONS)
async def test_a_write_before_the_loader_is_made_reads_as_one_primed_by_force(
    operations: list[tuple[str, str, str]],
) -> None:
    assert await reads(operations, made_first=False) == await reads(operations, made_first=True)


async def test_a_write_makes_no_loader_and_is_read_without_a_call() -> None:
    upstream = Upstream()
    loaders = Loaders(upstream, 10)  # type: ignore[arg-type]
    loaders.write("team", "t1", "first")
    loaders.write("team", "t1", "latest")  # the latest write of a key wins
    loaders.write("customer", "c1", None)
    loaders.forget("virtual_key", "k1")
    assert not {"team", "customer", "virtual_key"} & set(vars(loaders))
    assert await loaders.team.load("t1") == "latest"
    assert upstream.calls == []
    loaders.close()
    assert await Loaders(upstream, 10).team.load("t1") == "T1"  # type: ignore[arg-type]


class RecordingLoaders:
    """What ``forget_stale`` asks of the loaders, in order."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        recorder = RecordingLoader(self.asked, name)
        if name in ("team", "customer", "virtual_key", "key_model_configs", "virtual_keys_by_team", "budget"):
            return recorder
        return lambda *args, **kwargs: self.asked.append(f"{name}{args}")


class RecordingLoader:
    def __init__(self, asked: list[str], name: str) -> None:
        self.asked, self.name = asked, name

    def __getattr__(self, method: str) -> Any:
        return lambda *args, **kwargs: self.asked.append(f"{self.name}.{method}{args}")


def stale_the_old_way(loaders: Any, entities: list[Any], stale: Stale) -> None:
    """The clearing ``forget_stale`` did with ``Flag`` membership tests, before it tested bits."""
    if Stale.TEAMS in stale:
        loaders.team.clear_all()
    if Stale.CUSTOMERS in stale:
        loaders.customer.clear_all()
    elif Stale.CUSTOMER_OF_WRITTEN in stale:
        for entity in entities:
            if entity.customer_id is not None:
                loaders.forget("customer", entity.customer_id)
    if Stale.VIRTUAL_KEYS in stale:
        loaders.virtual_key.clear_all()
    if Stale.TEAM_KEYS in stale:
        loaders.forget_team_keys()
    if Stale.BUDGETS in stale:
        loaders.forget_budgets()
    if Stale.RATE_LIMITS in stale:
        loaders.forget_rate_limits()
    if Stale.KEY_MODEL_CONFIGS in stale:
        loaders.key_model_configs.clear_all()


@pytest.mark.parametrize("written", ["team", "customer", "virtual_key", "budget", "model_config"])
def test_every_combination_of_stale_flags_clears_what_it_names(written: Written) -> None:
    members = list(Stale)
    entity = SimpleNamespace(id="e1", customer_id="c1", teams=[], virtual_keys=[])
    for bits in range(1 << len(members)):
        stale = Stale(0)
        for at, member in enumerate(members):
            if bits >> at & 1:
                stale |= member
        loaders, expected = RecordingLoaders(), RecordingLoaders()
        forget_stale(loaders, SimpleNamespace(**{written: entity}), stale, written=written)  # type: ignore[arg-type]
        stale_the_old_way(expected, [entity], stale)
        assert loaders.asked[: len(expected.asked)] == expected.asked, stale
