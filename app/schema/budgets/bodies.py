"""The budget fields of an upstream body, in the shape the upstream's generation understands.

A generation whose owners have a ``single`` budget (the seed) takes one ``budget`` and updates it in place; an
``array`` generation (v1.5+) takes ``budgets``, the full desired set (``[]`` deletes all). While the generation
is unknown a body carries both shapes: each generation ignores the one it does not know. What one generation
cannot do is refused with ``UNSUPPORTED_BY_UPSTREAM`` rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.generations import Feature, Generation
from app.schema.budgets.inputs import BudgetInput
from app.schema.capabilities import requires
from app.schema.checks import invalid, unsupported
from app.schema.errors import UserError

__all__ = ["budgets_body", "check_budget_ids"]


def budgets_body(
    budgets: Sequence[BudgetInput] | None,
    generation: Generation | None,
    *,
    owner: str,
    path: list[str],
    replace: bool = False,
    by_id: bool = True,
) -> tuple[dict[str, Any], list[UserError]]:
    """The ``budget``/``budgets`` fields for ``budgets`` (None: leave the owner's budgets alone).

    Args:
        budgets: The budgets given, or None when the input did not mention them.
        generation: The upstream's API generation (None: unknown, send both shapes).
        owner: What owns the budgets (``team``, ``virtual key``...), for messages.
        path: The input path of the budgets, for userErrors.
        replace: True for updates, where ``[]`` means "delete every budget".
        by_id: Whether this owner's budgets can be matched by ``id`` (v2: not a team's, matched by duration).

    Example:
        >>> from app.generations import SEED
        >>> budgets_body([BudgetInput(max_limit=5, reset_duration="1d")], SEED, owner="team", path=["input"])
        ({'budget': {'max_limit': 5, 'reset_duration': '1d'}}, [])
    """
    if budgets is None or (not budgets and not replace):
        return {}, []
    errors = check_budget_ids(budgets, generation, owner=owner, path=path, replace=replace, by_id=by_id)
    if errors:
        return {}, errors
    single = generation is not None and generation.owner_budgets == "single"
    array = generation is not None and generation.owner_budgets == "array"
    if not budgets:
        if single:
            return {}, [unsupported(path, f"this Bifrost version cannot remove a {owner}'s budget")]
        return {"budgets": []}, []
    if single and len(budgets) > 1:
        return {}, [unsupported(path, f"this Bifrost version accepts one budget per {owner}")]
    bodies = [budget.to_bifrost() for budget in budgets]
    fields: dict[str, Any] = {}
    if not array:
        fields["budget"] = bodies[0]
    if not single:
        fields["budgets"] = bodies
    return fields, []


def check_budget_ids(
    budgets: Sequence[BudgetInput],
    generation: Generation | None,
    *,
    owner: str,
    path: list[str],
    replace: bool,
    by_id: bool,
) -> list[UserError]:
    """Budget ids name budgets an update changes, on owners and generations that match budgets by id."""
    given = [i for i, budget in enumerate(budgets) if budget.id is not None]
    if not given:
        return []
    at = [*path, str(given[0]), "id"]
    if not replace:
        return [invalid(at, "id names an existing budget: give it when updating, not when creating")]
    if not by_id:
        return [unsupported(at, f"Bifrost matches a {owner}'s budgets by resetDuration, not by id")]
    return requires(generation, Feature.BUDGET_IDS, at, "budget ids")
