"""Which generation of Bifrost's governance API the upstream speaks (``app.generations``), found out once.

``BIFROST_API_GENERATION`` names it, or ``auto`` finds it: ``GET /api/version`` first (its major and minor).
That route is missing on old deployments, may answer anything on a development build, and needs credentials
on v2 with auth on (401), so detection then falls back to probes, all of them GETs and none of them writes:

1. ``GET /api/session/is-auth-enabled`` (open even with auth on): v2 adds ``inference_auth_enforced``;
2. ``GET /api/routing/rules``, a route only v2 has: a JSON object answered means v2;
3. the first virtual key (v2 answers ``allow_all_providers``, ``rotated_at``), customer (v2: ``budgets`` and
   ``virtual_key_count``) and team (v2: ``calendar_aligned``; v1.5: ``budgets`` or ``virtual_key_count``;
   else seed).

Probes go with the caller's credentials. A probe refused for them (401, 403) ends detection undecided, as
does an upstream that cannot be reached or holds no data yet: an undecided answer is not remembered, the
next request asks again, and meanwhile bodies carry every generation's shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from app.bifrost.errors import BifrostError, BifrostForbidden, BifrostHTTPError, BifrostUnauthorized
from app.generations import SEED, V1_5, V2, Generation, generation_of_version

if TYPE_CHECKING:
    from app.bifrost.client import BifrostSession

__all__ = ["GenerationDetector"]

_GOVERNANCE = "/api/governance"


class _Undecided(Exception):
    """Detection cannot go on with these credentials or this upstream: try again with the next request."""


class GenerationDetector:
    """Finds the upstream generation once and remembers it for the life of the process.

    Example:
        >>> from app.generations import V2
        >>> GenerationDetector(fixed=V2).known is V2
        True
    """

    def __init__(self, fixed: Generation | None = None) -> None:
        self._known: Generation | None = fixed
        self._lock = asyncio.Lock()
        self.version: str | None = None  # what ``GET /api/version`` answered, when detection read it

    @property
    def known(self) -> Generation | None:
        """The generation when already known, else None."""
        return self._known

    async def get(self, session: BifrostSession) -> Generation | None:
        """The upstream's generation, or None while it cannot be told (then bodies carry every shape)."""
        if self._known is not None:
            return self._known
        async with self._lock:
            if self._known is None:
                try:
                    self._known = await self._detect(session)
                except _Undecided:
                    return None
        return self._known

    async def _detect(self, session: BifrostSession) -> Generation | None:
        version = await _get(session, "/api/version")
        if isinstance(version, str):
            self.version = version
            if found := generation_of_version(version):
                return found
        auth = await _get(session, "/api/session/is-auth-enabled")
        if isinstance(auth, dict) and "inference_auth_enforced" in auth:
            return V2
        if isinstance(await _get(session, "/api/routing/rules"), dict):
            return V2
        key = _first(await _get(session, f"{_GOVERNANCE}/virtual-keys", {"limit": 1}), "virtual_keys")
        if key is not None and ("allow_all_providers" in key or "rotated_at" in key):
            return V2
        customer = _first(await _get(session, f"{_GOVERNANCE}/customers", {"limit": 1}), "customers")
        if customer is not None and ("budgets" in customer or "virtual_key_count" in customer):
            return V2
        team = _first(await _get(session, f"{_GOVERNANCE}/teams", {"limit": 1}), "teams")
        if team is not None:
            if "calendar_aligned" in team:
                return V2
            # v1.5+ always sends virtual_key_count on teams; the seed generation never does.
            return V1_5 if "budgets" in team or "virtual_key_count" in team else SEED
        # Keys and customers of v1.5 and the seed look alike: without a team there is no telling them apart.
        return None


async def _get(session: BifrostSession, path: str, params: Mapping[str, str | int] | None = None) -> Any:
    """The JSON a probe answered, or None when it answered an error or something that is not JSON.

    Raises:
        _Undecided: The caller's credentials are refused (every further probe would be), or Bifrost cannot be
            reached: detection stops without a verdict.
    """
    try:
        response = await session.call("GET", path, params=params)
    except (BifrostUnauthorized, BifrostForbidden):
        if path == "/api/version":
            return None  # v2 with auth on wants credentials here: the probes below may not
        raise _Undecided from None
    except BifrostHTTPError:
        return None  # a route this upstream does not have (404), or a failure of this route only
    except BifrostError:
        raise _Undecided from None  # unreachable, timed out, over the request's ceilings
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _first(listing: Any, field: str) -> dict[str, Any] | None:
    """The first entity of a list answer (``{"teams": [...]}``), None when there is none."""
    if not isinstance(listing, dict):
        return None
    entities = listing.get(field)
    if isinstance(entities, list) and entities and isinstance(entities[0], dict):
        return entities[0]
    return None
