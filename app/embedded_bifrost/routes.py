"""The route table: exact paths, and ``prefix/{id}`` paths with one path parameter.

A lean lookup (two dict probes) rather than a general router: the server is the upstream of benchmarks, and
Bifrost's own routes are all of these two forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import Context, Request
from .handlers import customers, limits, system, teams, virtual_keys

__all__ = ["Handler", "resolve"]

Handler = Callable[[Context, Request], Any]

_GOVERNANCE = "/api/governance"

EXACT: dict[str, dict[str, Handler]] = {
    "/health": {"GET": system.health},
    "/api/version": {"GET": system.version},
    "/api/session/login": {"POST": system.login},
    "/api/session/logout": {"POST": system.logout},
    "/api/session/is-auth-enabled": {"GET": system.is_auth_enabled},
    f"{_GOVERNANCE}/teams": {"GET": teams.list_teams, "POST": teams.create_team},
    f"{_GOVERNANCE}/customers": {"GET": customers.list_customers, "POST": customers.create_customer},
    f"{_GOVERNANCE}/virtual-keys": {
        "GET": virtual_keys.list_virtual_keys,
        "POST": virtual_keys.create_virtual_key,
    },
    f"{_GOVERNANCE}/budgets": {"GET": limits.list_budgets},
    f"{_GOVERNANCE}/rate-limits": {"GET": limits.list_rate_limits},
}

WITH_ID: dict[str, dict[str, Handler]] = {
    f"{_GOVERNANCE}/teams/": {"GET": teams.get_team, "PUT": teams.update_team, "DELETE": teams.delete_team},
    f"{_GOVERNANCE}/customers/": {
        "GET": customers.get_customer,
        "PUT": customers.update_customer,
        "DELETE": customers.delete_customer,
    },
    f"{_GOVERNANCE}/virtual-keys/": {
        "GET": virtual_keys.get_virtual_key,
        "PUT": virtual_keys.update_virtual_key,
        "DELETE": virtual_keys.delete_virtual_key,
    },
}


def resolve(path: str) -> tuple[dict[str, Handler] | None, str]:
    """Find the handlers of a path.

    Args:
        path: The decoded request path.

    Returns:
        The handlers by method (None when no route matches) and the path parameter ("" when none).
    """
    methods = EXACT.get(path)
    if methods is not None:
        return methods, ""
    slash = path.rfind("/")
    if slash > 0:
        methods = WITH_ID.get(path[: slash + 1])
        param = path[slash + 1 :]
        if methods is not None and param:
            return methods, param
    return None, ""
