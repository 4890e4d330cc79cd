"""The route table: exact paths, ``prefix/{id}`` paths, and templates with several path parameters.

The two common forms are two dict probes, not a general router: the server is the upstream of benchmarks, and
most of Bifrost's routes are exact or ``prefix/{id}``. Templates (``/virtual-keys/{vk_id}/budgets/{budget_id}/
override``) are tried only when both probes miss.

Routes a generation lacks (``REQUIRES``) are left out of its router, so they answer what that Bifrost answers
for any unknown path: 404 ``Not found``.

As in Bifrost's router (one tree per method), a path registered exactly for one method still reaches a
``{id}`` route of another: ``GET /virtual-keys/rotate`` reads the key "rotate" although ``POST`` on that path is
the bulk rotation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ..generations import Feature, Generation
from .context import Context, Request, Response
from .errors import ApiError, error_body
from .handlers import (
    analytics,
    budget_overrides,
    config,
    customers,
    inference,
    key_rotation,
    limits,
    model_configs,
    provider_governance,
    quota,
    system,
    teams,
    virtual_keys,
)

__all__ = ["EXACT", "PATTERNS", "PER_CALLER", "REQUIRES", "WITH_ID", "Handler", "Router", "deprecated_alias"]

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
    f"{_GOVERNANCE}/model-configs": {
        "GET": model_configs.list_model_configs,
        "POST": model_configs.create_model_config,
    },
    f"{_GOVERNANCE}/providers": {"GET": provider_governance.list_provider_governance},
    f"{_GOVERNANCE}/virtual-keys/rotate": {"POST": key_rotation.rotate_virtual_keys},
    f"{_GOVERNANCE}/virtual-keys/quota": {"GET": quota.virtual_key_quota},
    "/api/config": {"GET": config.get_config, "PUT": config.update_config},
    "/v1/chat/completions": {"POST": inference.chat_completions},
    "/api/logs/stats": {"GET": analytics.get_log_stats},
    "/api/logs/histogram/cost": {"GET": analytics.get_cost_histogram},
    "/api/logs/histogram/cost/by-dimension": {"GET": analytics.get_cost_by_dimension},
    "/api/logs/rankings": {"GET": analytics.get_rankings},
    "/api/logs/rankings/by-dimension": {"GET": analytics.get_dimension_rankings},
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
    f"{_GOVERNANCE}/model-configs/": {
        "GET": model_configs.get_model_config,
        "PUT": model_configs.update_model_config,
        "DELETE": model_configs.delete_model_config_route,
    },
    f"{_GOVERNANCE}/providers/": {
        "PUT": provider_governance.update_provider_governance,
        "DELETE": provider_governance.delete_provider_governance,
    },
}

# Templates: each ``{name}`` segment binds one path parameter, in order, into ``Request.params``.
PATTERNS: dict[str, dict[str, Handler]] = {
    f"{_GOVERNANCE}/virtual-keys/{{vk_id}}/budgets/{{budget_id}}/override": {
        "PUT": budget_overrides.set_budget_override,
        "DELETE": budget_overrides.clear_budget_override,
    },
    f"{_GOVERNANCE}/virtual-keys/{{vk_id}}/rotate": {"POST": key_rotation.rotate_virtual_key},
}

# GET handlers whose answer depends on who asks or when, not only on the database: never cached.
PER_CALLER: frozenset[Handler] = frozenset({quota.virtual_key_quota})


def deprecated_alias(methods: dict[str, Handler], successor: str) -> dict[str, Handler]:
    """The same handlers answering with Bifrost's deprecation headers, for a legacy path kept as an alias.

    ``successor`` is the canonical path template, named in the ``Link`` header (a template rather than the
    request's own path, so no client-sent text reaches a header).
    """
    headers = [
        (b"deprecation", b"true"),
        (b"link", f'<{successor}>; rel="successor-version"'.encode()),
        (b"x-bifrost-deprecated-route", b"true"),
        (b"x-bifrost-route-removal", b"following-major-release"),
    ]

    def wrap(handler: Handler) -> Handler:
        def alias(ctx: Context, request: Request) -> Response:
            try:
                result = handler(ctx, request)
            except ApiError as error:
                return Response(error.status, error_body(error.status, error.message), headers)
            if isinstance(result, Response):
                return Response(result.status, result.body, result.headers + headers)
            return Response(200, orjson.dumps(result), headers)

        alias.__name__ = handler.__name__
        return alias

    return {method: wrap(handler) for method, handler in methods.items()}


# The legacy team paths v2 keeps for one more release (Bifrost's governance namespace migration).
EXACT["/api/teams"] = deprecated_alias(EXACT[f"{_GOVERNANCE}/teams"], f"{_GOVERNANCE}/teams")
WITH_ID["/api/teams/"] = deprecated_alias(WITH_ID[f"{_GOVERNANCE}/teams/"], f"{_GOVERNANCE}/teams/{{team_id}}")

# The feature a route needs, by its key in the tables above: a generation without it has no such route.
REQUIRES: dict[str, Feature] = {
    f"{_GOVERNANCE}/model-configs": Feature.MODEL_CONFIGS,
    f"{_GOVERNANCE}/model-configs/": Feature.MODEL_CONFIGS,
    f"{_GOVERNANCE}/providers": Feature.PROVIDER_GOVERNANCE,
    f"{_GOVERNANCE}/providers/": Feature.PROVIDER_GOVERNANCE,
    f"{_GOVERNANCE}/virtual-keys/{{vk_id}}/budgets/{{budget_id}}/override": Feature.BUDGET_OVERRIDES,
    f"{_GOVERNANCE}/virtual-keys/rotate": Feature.KEY_ROTATION,
    f"{_GOVERNANCE}/virtual-keys/{{vk_id}}/rotate": Feature.KEY_ROTATION,
    "/api/config": Feature.KEY_ROTATION,  # served for its one governance setting, vk_rotation_cooldown
    f"{_GOVERNANCE}/virtual-keys/quota": Feature.KEY_QUOTA,
    "/api/teams": Feature.DEPRECATED_ALIASES,
    "/v1/chat/completions": Feature.INFERENCE,
    "/api/logs/stats": Feature.ANALYTICS,
    "/api/logs/histogram/cost": Feature.ANALYTICS,
    "/api/logs/histogram/cost/by-dimension": Feature.ANALYTICS,
    "/api/logs/rankings": Feature.ANALYTICS,
    "/api/logs/rankings/by-dimension": Feature.ANALYTICS,
    "/api/teams/": Feature.DEPRECATED_ALIASES,
}

# A parameter never binds a dot segment: a client normalising the path would have removed it, and an id that
# reads as "the parent" is never one the store holds.
_DOT_SEGMENTS = frozenset({".", ".."})

_Template = tuple[str | None, ...]  # literal segments, None where a parameter binds


class Router:
    """Finds the handler of a method and path, and its path parameters.

    Args:
        generation: The generation served: routes it lacks (``REQUIRES``) are left out. None keeps them all.
        exact: Exact paths.
        with_id: ``prefix/`` of the ``prefix/{id}`` paths.
        patterns: Templates.

    Example:
        >>> router = Router()
        >>> handler, params = router.resolve("GET", "/api/governance/teams/t-1")
        >>> handler.__name__, params
        ('get_team', ('t-1',))
    """

    __slots__ = ("_exact", "_patterns", "_with_id")

    def __init__(
        self,
        generation: Generation | None = None,
        exact: Mapping[str, dict[str, Handler]] = EXACT,
        with_id: Mapping[str, dict[str, Handler]] = WITH_ID,
        patterns: Mapping[str, dict[str, Handler]] = PATTERNS,
    ) -> None:
        def served(key: str) -> bool:
            feature = REQUIRES.get(key)
            return feature is None or generation is None or generation.has(feature)

        self._exact = {path: methods for path, methods in exact.items() if served(path)}
        self._with_id = {prefix: methods for prefix, methods in with_id.items() if served(prefix)}
        self._patterns: dict[int, list[tuple[_Template, dict[str, Handler]]]] = {}
        for template, methods in patterns.items():
            if not served(template):
                continue
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
