"""The route table: exact paths, ``prefix/{id}`` paths, and templates with several path parameters.

The two common forms are two dict probes, not a general router: the server is the upstream of benchmarks, and
most of Bifrost's routes are exact or ``prefix/{id}``. Templates (``/virtual-keys/{vk_id}/budgets/{budget_id}/
override``) are tried only when both probes miss.

As in Bifrost's router (one tree per method), a path registered exactly for one method still reaches a
``{id}`` route of another: ``GET /virtual-keys/rotate`` reads the key "rotate" although ``POST`` on that path is
the bulk rotation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .context import Context, Request
from .errors import ApiError
from .handlers import customers, limits, system, teams, virtual_keys

__all__ = ["EXACT", "PATTERNS", "WITH_ID", "Handler", "Router"]

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

# Templates: each ``{name}`` segment binds one path parameter, in order, into ``Request.params``.
PATTERNS: dict[str, dict[str, Handler]] = {}

# A parameter never binds a dot segment: a client normalising the path would have removed it, and an id that
# reads as "the parent" is never one the store holds.
_DOT_SEGMENTS = frozenset({".", ".."})

_Template = tuple[str | None, ...]  # literal segments, None where a parameter binds


class Router:
    """Finds the handler of a method and path, and its path parameters.

    Example:
        >>> router = Router()
        >>> handler, params = router.resolve("GET", "/api/governance/teams/t-1")
        >>> handler.__name__, params
        ('get_team', ('t-1',))
    """

    __slots__ = ("_exact", "_patterns", "_with_id")

    def __init__(
        self,
        exact: Mapping[str, dict[str, Handler]] = EXACT,
        with_id: Mapping[str, dict[str, Handler]] = WITH_ID,
        patterns: Mapping[str, dict[str, Handler]] = PATTERNS,
    ) -> None:
        self._exact = dict(exact)
        self._with_id = dict(with_id)
        self._patterns: dict[int, list[tuple[_Template, dict[str, Handler]]]] = {}
        for template, methods in patterns.items():
            compiled = _compile(template)
            self._patterns.setdefault(len(compiled), []).append((compiled, methods))
        for candidates in self._patterns.values():
            # More literal segments first: a literal beats a parameter in the same position.
            candidates.sort(key=lambda entry: sum(part is None for part in entry[0]))

    def resolve(self, method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
        """Find the handler of a request.

        Args:
            method: The HTTP method.
            path: The decoded request path.

        Returns:
            The handler and the path parameters in template order (``()`` for an exact path).

        Raises:
            ApiError: 404 ``Not found`` when no route has the path, 405 ``Method not allowed`` when routes have
                it but none for this method.
        """
        known = False
        methods = self._exact.get(path)
        if methods is not None:
            handler = methods.get(method)
            if handler is not None:
                return handler, ()
            known = True
        slash = path.rfind("/")
        if slash > 0:
            methods = self._with_id.get(path[: slash + 1])
            if methods is not None:
                param = path[slash + 1 :]
                if param and param not in _DOT_SEGMENTS:
                    handler = methods.get(method)
                    if handler is not None:
                        return handler, (param,)
                    known = True
        if self._patterns:
            segments = path.split("/")
            for template, methods in self._patterns.get(len(segments), ()):
                params = _bind(template, segments)
                if params is not None:
                    handler = methods.get(method)
                    if handler is not None:
                        return handler, params
                    known = True
        if known:
            raise ApiError(405, "Method not allowed")
        raise ApiError(404, "Not found")


def _compile(template: str) -> _Template:
    if not template.startswith("/"):
        raise ValueError(f"a route template starts with '/': {template!r}")
    parts: list[str | None] = []
    for segment in template.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            parts.append(None)
        elif "{" in segment or "}" in segment:
            raise ValueError(f"a parameter is a whole segment: {template!r}")
        else:
            parts.append(segment)
    return tuple(parts)


def _bind(template: _Template, segments: list[str]) -> tuple[str, ...] | None:
    params: list[str] = []
    for want, got in zip(template, segments, strict=True):
        if want is None:
            if not got or got in _DOT_SEGMENTS:
                return None
            params.append(got)
        elif want != got:
            return None
    return tuple(params)
