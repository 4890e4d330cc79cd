"""Bifrost's limit checks before an inference call: which limit refuses a request, in Bifrost's words.

A limit trips when its usage has reached it (``usage >= limit``), checked before the call, so the request
that crosses a limit succeeds and the next one is refused. A budget's limit is its effective one (with an
active override). Within a stage every rate limit is checked before any budget, as Bifrost does.

Rate limits answer 429 with ``type`` ``token_limited`` or ``request_limited`` (``rate_limited`` when both
counters are over), budgets 402 ``budget_exceeded``. Messages, for example::

    Rate limit check failed: rate limit violated for VK: [request limit exceeded (5/5, resets every 1m)]
    Budget exceeded: Team budget exceeded: 1.0000 >= 1.0000 dollars
    Provider-level budget exceeded: openai budget exceeded: 2.5000 >= 2.0000 dollars

Example:
    >>> from app.embedded_bifrost.governed_scopes import Scope
    >>> check_scopes([Scope("key", "VK")]) is None
    True
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from .governed_scopes import Scope, Stage
from .handlers.budget_overrides import effective_max_limit

__all__ = ["Refusal", "check_scopes"]

# (rate-limit prefix, budget prefix) of each stage's messages
_PREFIXES: dict[Stage, tuple[str, str]] = {
    "provider": ("Provider-level rate limit check failed: ", "Provider-level budget exceeded: "),
    "model": ("Model-level rate limit check failed: ", "Model-level budget exceeded: "),
    "key": ("Rate limit check failed: ", "Budget exceeded: "),
    "key_model": (
        "Model-level rate limit check failed (virtual key scope): ",
        "Model-level budget exceeded (virtual key scope): ",
    ),
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why Bifrost's governance refuses a request.

    Attributes:
        status: The HTTP status.
        type: The decision (``virtual_key_blocked``, ``budget_exceeded``...), the envelope's ``type``.
        message: The reason, the envelope's ``error.message``.
    """

    status: int
    type: str
    message: str


def _rate_limit_violations(row: sqlite3.Row) -> list[str]:
    violations = []
    for kind in ("token", "request"):
        limit = row[f"{kind}_max_limit"]
        usage = row[f"{kind}_current_usage"]
        if limit is not None and usage >= limit:
            duration = row[f"{kind}_reset_duration"] or "unknown"
            violations.append(f"{kind} limit exceeded ({usage}/{limit}, resets every {duration})")
    return violations


def _rate_limited(scope: Scope, prefix: str) -> Refusal | None:
    for row in scope.rate_limits:
        violations = _rate_limit_violations(row)
        if not violations:
            continue
        decision = "rate_limited"
        if len(violations) == 1:
            decision = "token_limited" if violations[0].startswith("token") else "request_limited"
        # Go prints a []string with %s as its items between brackets, separated by spaces.
        reason = f"rate limit violated for {scope.name}: [{' '.join(violations)}]"
        return Refusal(429, decision, prefix + reason)
    return None


def _over_budget(scope: Scope, prefix: str) -> Refusal | None:
    for row in scope.budgets:
        limit = effective_max_limit(row)
        usage = row["current_usage"]
        if usage >= limit:
            reason = f"{scope.name} budget exceeded: {usage:.4f} >= {limit:.4f} dollars"
            return Refusal(402, "budget_exceeded", prefix + reason)
    return None


def check_scopes(scopes: Sequence[Scope]) -> Refusal | None:
    """The first limit that refuses the request, stage by stage (rate limits, then budgets), or None."""
    stages: list[Stage] = []
    for scope in scopes:
        if scope.stage not in stages:
            stages.append(scope.stage)
    for stage in stages:
        rate_prefix, budget_prefix = _PREFIXES[stage]
        in_stage = [scope for scope in scopes if scope.stage == stage]
        if stage == "provider":  # the provider's rate limit, then its budget, before any model's
            for scope in in_stage:
                refusal = _rate_limited(scope, rate_prefix) or _over_budget(scope, budget_prefix)
                if refusal is not None:
                    return refusal
            continue
        for scope in in_stage:
            refusal = _rate_limited(scope, rate_prefix)
            if refusal is not None:
                return refusal
        for scope in in_stage:
            refusal = _over_budget(scope, budget_prefix)
            if refusal is not None:
                return refusal
    return None
