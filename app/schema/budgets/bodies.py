"""Budget and rate-limit fields of an upstream body, in the shape the upstream's generation understands.

The seed generation takes one ``budget`` per owner and updates it in place; v1.5+ takes ``budgets``, the full
desired set (matched by reset duration, ``[]`` deletes all). While the generation is unknown a body carries
both shapes: each generation ignores the one it does not know. What one generation cannot do is refused
with ``UNSUPPORTED_BY_UPSTREAM`` rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry import Maybe, Some

from app.bifrost import ApiGeneration
from app.schema.budgets.inputs import BudgetInput, RateLimitInput
from app.schema.errors import UserError, UserErrorCode

__all__ = ["budgets_body", "given", "rate_limit_body", "unsupported"]


def unsupported(path: list[str], message: str) -> UserError:
    """A userError for something the upstream's generation cannot do."""
    return UserError(field=path, message=message, code=UserErrorCode.UNSUPPORTED_BY_UPSTREAM)


def budgets_body(
    budgets: Sequence[BudgetInput] | None,
    generation: ApiGeneration | None,
    *,
    owner: str,
    path: list[str],
    replace: bool = False,
) -> tuple[dict[str, Any], list[UserError]]:
    """The ``budget``/``budgets`` fields for ``budgets`` (None: leave the owner's budgets alone).

    Args:
        budgets: The budgets given, or None when the input did not mention them.
        generation: The upstream's API generation (None: unknown, send both shapes).
        owner: What owns the budgets (``team``, ``virtual key``...), for messages.
        path: The input path of the budgets, for userErrors.
        replace: True for updates, where ``[]`` means "delete every budget".

    Example:
        >>> budgets_body([BudgetInput(max_limit=5, reset_duration="1d")], "seed", owner="team", path=["input"])
        ({'budget': {'max_limit': 5, 'reset_duration': '1d'}}, [])
    """
    if budgets is None or (not budgets and not replace):
        return {}, []
    if not budgets:
        if generation == "seed":
            return {}, [unsupported(path, f"this Bifrost version cannot remove a {owner}'s budget")]
        return {"budgets": []}, []
    if generation == "seed" and len(budgets) > 1:
        return {}, [unsupported(path, f"this Bifrost version accepts one budget per {owner}")]
    bodies = [budget.to_bifrost() for budget in budgets]
    fields: dict[str, Any] = {}
    if generation != "current":
        fields["budget"] = bodies[0]
    if generation != "seed":
        fields["budgets"] = bodies
    return fields, []


def given(rate_limit: RateLimitInput | None) -> Maybe[RateLimitInput | None]:
    """A create input's optional rate limit as a change: absent when not given, never "remove"."""
    return Some(rate_limit) if rate_limit is not None else None


def rate_limit_body(
    change: Maybe[RateLimitInput | None],
    generation: ApiGeneration | None,
    *,
    owner: str,
    path: list[str],
    on_seed: bool = False,
) -> tuple[dict[str, Any], list[UserError]]:
    """The ``rate_limit`` field for a change (None: absent, ``Some(None)``: remove, ``Some(limit)``: set).

    ``on_seed`` says whether the seed generation has rate limits for this owner at all; where it does, it
    patches them field by field and cannot remove one. v1.5+ removes a rate limit sent with both max
    limits null, and otherwise overwrites all four fields.
    """
    if change is None:
        return {}, []
    if generation == "seed" and not on_seed:
        return {}, [unsupported(path, f"this Bifrost version has no {owner} rate limits")]
    if change.value is None:
        if generation == "seed":
            return {}, [unsupported(path, f"this Bifrost version cannot remove a {owner}'s rate limit")]
        return {"rate_limit": {}}, []
    return {"rate_limit": change.value.to_bifrost()}, []
