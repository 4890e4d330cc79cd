"""Saved example operations GraphiQL offers, and how it tells a caller to authenticate.

GraphiQL opens each example as a tab on a first visit, and its "Examples" sidebar opens any of them in a new
tab later. Every example starts with the same comment on credentials: GraphiQL's headers editor takes strict
JSON (no comments), so the explanation lives in the operation, where GraphQL allows ``#`` comments, and the
headers editor starts as ``{}``. A placeholder credential there would be sent with the first run and refused
(an unknown gateway key is 401), while the embedded Bifrost needs no credential at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["AUTH_COMMENT", "DEFAULT_HEADERS", "SAVED_OPERATIONS", "SPEND_PER_TEAM", "SavedOperation", "this_week"]

# Lines of at most 40 characters: the query editor is narrow beside the result pane.
AUTH_COMMENT = """\
# Credentials go in the Headers tab,
# as JSON. A backend's gateway key:
# {"X-Gateway-Key": "gk_..."}
# or your own Bifrost token:
# {"Authorization": "Bearer <token>"}
# After a `login` mutation here, the
# browser sends its cookie by itself.
# The embedded Bifrost needs none.
"""

DEFAULT_HEADERS = "{}"


@dataclass(frozen=True)
class SavedOperation:
    """One example operation: a title for the list, the document and its variables.

    Example:
        >>> op = SavedOperation("Hello", "query Hello { __typename }")
        >>> op.as_tab()["variables"]
        '{}'
    """

    title: str
    query: str
    variables: dict[str, object] = field(default_factory=dict)

    def as_tab(self) -> dict[str, str]:
        """The example as GraphiQL's tab values (editors hold text, so variables are JSON text)."""
        return {
            "title": self.title,
            "query": AUTH_COMMENT + self.query,
            "variables": json.dumps(self.variables, indent=2),
            "headers": DEFAULT_HEADERS,
        }


CREATE_TEAM = SavedOperation(
    "Create a team",
    """\
mutation CreateTeam($input: CreateTeamInput!) {
  createTeam(input: $input) {
    team {
      id
      name
      budget { id maxLimit resetDuration currentUsage }
      budgets { id maxLimit resetDuration }
      customer { id name }
      rateLimit { id }
      createdAt
    }
    userErrors { field message code }
  }
}
""",
    {"input": {"name": "my-first-team", "budget": {"maxLimit": 100, "resetDuration": "1M"}}},
)

# The dashboard's team page (call plan: docs/upstream.md): pass pageInfo.endCursor as $after for the next.
DASHBOARD_PAGE = SavedOperation(
    "Dashboard: a page of teams",
    """\
query DashboardPage($first: Int = 25, $after: String) {
  teams(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      name
      customer { id name budget { id maxLimit currentUsage } teams { id name } }
      budgets { id maxLimit resetDuration currentUsage }
      virtualKeys {
        id
        name
        providerConfigs { provider keys { keyId name } budget { id maxLimit } rateLimit { id } }
      }
    }
  }
}
""",
    {"first": 25, "after": None},
)

# Bifrost v2's domains. Ids come from the upstream: the comments say where to find them (lines of at most 40
# characters, as the credentials comment). Run as shipped, the placeholders answer a NOT_FOUND userError.
ROTATE_KEY = SavedOperation(
    "Rotate a key",
    """\
# Bifrost v2. Put a key's id (from the
# query `virtualKeys(first: 10) { nodes
# { id name } }`) in the variables. The
# new value shows with value(reveal:
# true) to your own credentials or a
# gateway key allowed to reveal.
mutation RotateKey($id: ID!) {
  rotateVirtualKey(id: $id) {
    virtualKey {
      id
      name
      value
      rotatedAt
      previousValueExpiresAt
    }
    userErrors { field message code }
  }
}
""",
    {"id": "KEY_ID"},
)

SET_BUDGET_OVERRIDE = SavedOperation(
    "Set a budget override",
    """\
# Bifrost v2: extra room on one of a
# key's budgets (ids from `virtualKeys
# { nodes { id budgets { id } } }`).
# CYCLES lasts `cycles` windows,
# FOREVER until clearBudgetOverride.
mutation SetBudgetOverride(
  $virtualKeyId: ID!
  $budgetId: ID!
  $input: BudgetOverrideInput!
) {
  setBudgetOverride(
    virtualKeyId: $virtualKeyId
    budgetId: $budgetId
    input: $input
  ) {
    budget {
      id
      maxLimit
      currentUsage
      override { amount mode cyclesRemaining }
    }
    effectiveMaxLimit
    userErrors { field message code }
  }
}
""",
    {"virtualKeyId": "KEY_ID", "budgetId": "BUDGET_ID", "input": {"amount": 50, "mode": "CYCLES", "cycles": 1}},
)

MODEL_CONFIGS = SavedOperation(
    "List model configs",
    """\
# Bifrost v2: budgets and rate limits
# per model, for everyone (GLOBAL), one
# key or one user. Filter with scope,
# scopeId, provider or search.
query ModelConfigs($first: Int = 10, $scope: ModelConfigScope) {
  modelConfigs(first: $first, scope: $scope) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      modelName
      provider
      scope
      scopeId
      budgets { id maxLimit resetDuration currentUsage }
      rateLimits { metric maxLimit resetDuration currentUsage }
    }
  }
}
""",
    {"first": 10, "scope": None},
)

# Live usage (a subscription: GraphiQL streams it over SSE until stopped). Ids come from the upstream, as above.
WATCH_BUDGET_USAGE = SavedOperation(
    "Watch budget usage",
    """\
# Live: every counter of the teams,
# customers and keys named (ids from
# `teams(first: 10) { nodes { id } }`),
# then each one as it changes. The run
# button stops it.
subscription WatchBudgetUsage(
  $teamIds: [ID!]
  $customerIds: [ID!]
  $virtualKeyIds: [ID!]
) {
  budgetUsage(
    teamIds: $teamIds
    customerIds: $customerIds
    virtualKeyIds: $virtualKeyIds
  ) {
    initial
    counters {
      owner { kind id name provider }
      budget { id currentUsage maxLimit resetDuration lastReset }
      rateLimit {
        id
        tokenCurrentUsage
        tokenMaxLimit
        requestCurrentUsage
        requestMaxLimit
      }
    }
  }
}
""",
    {"teamIds": ["TEAM_ID"], "customerIds": [], "virtualKeyIds": []},
)


def this_week(now: datetime | None = None) -> dict[str, object]:
    """``from``/``to`` of the seven days up to the end of today (UTC): Bifrost answers daily buckets.

    Example:
        >>> this_week(datetime(2026, 3, 10, 15, 30, tzinfo=UTC))
        {'from': '2026-03-04T00:00:00Z', 'to': '2026-03-11T00:00:00Z'}
    """
    today = (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "from": (today - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (today + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# The range is the week the server started in: the comment says how to move it.
SPEND_PER_TEAM = SavedOperation(
    "Spend per team",
    """\
# Bifrost v2: what each team spent, per
# bucket and model, from Bifrost's log.
# Set from/to in the variables (RFC 3339
# with an offset, at most 366 days
# apart); Bifrost sizes the buckets from
# the range. The whole page is one call
# for the totals, a few for the models.
query SpendPerTeam($from: DateTime!, $to: DateTime!) {
  teams(first: 25) {
    nodes {
      id
      name
      spend(from: $from, to: $to) {
        total
        bucketSeconds
        buckets { start totalCost byModel { model cost } }
      }
    }
  }
}
""",
    this_week(),
)

SAVED_OPERATIONS: tuple[SavedOperation, ...] = (
    CREATE_TEAM,
    DASHBOARD_PAGE,
    ROTATE_KEY,
    SET_BUDGET_OVERRIDE,
    MODEL_CONFIGS,
    WATCH_BUDGET_USAGE,
    SPEND_PER_TEAM,
)
