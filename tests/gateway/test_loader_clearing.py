"""A write clears what the request's loaders hold, and makes no loader only to clear it.

A batch of one key (a lookup by id) is fetched in the batch's own task: its answer, its miss (None) and its
failure reach the caller as they do for a batch of several.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.bifrost import BifrostNotFound, UpstreamUnavailable
from app.bifrost.models import Budget, BudgetList
from app.schema.loaders import Loaders

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
