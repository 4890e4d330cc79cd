"""Which generation of Bifrost's governance API the upstream speaks.

``seed`` (Jan 2026 contract): a single ``budget`` per owner. ``current`` (v1.5+): ``budgets`` arrays.
Detected once per process: ``GET /api/version`` first, then, when that is unavailable, by probing a
team list for either shape. An undecided answer is not remembered, so the next request asks again.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Literal

import orjson

from app.bifrost.errors import BifrostError, BifrostHTTPError

if TYPE_CHECKING:
    from app.bifrost.client import BifrostClient, BifrostSession

__all__ = ["ApiGeneration", "GenerationDetector", "generation_of_version", "owners_presence_aware"]

ApiGeneration = Literal["seed", "current"]
_VERSION = re.compile(r"v?(\d+)\.(\d+)")


def generation_of_version(version: str) -> ApiGeneration | None:
    """Map a Bifrost version string to its API generation (``budgets`` arrays arrived in v1.5).

    Example:
        >>> generation_of_version("v1.5.2"), generation_of_version("v1.4.0"), generation_of_version("dev")
        ('current', 'seed', None)
    """
    match = _VERSION.match(version.strip())
    if match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    return "current" if (major, minor) >= (1, 5) else "seed"


def owners_presence_aware(version: str) -> bool:
    """Whether a Bifrost version reads a key update's ``team_id``/``customer_id`` by presence (v2: left out keeps
    the owner, ``""`` detaches) rather than as v1.5 does (a PUT naming neither owner detaches the key).

    Example:
        >>> owners_presence_aware("v2.2.5"), owners_presence_aware("v1.5.2"), owners_presence_aware("dev")
        (True, False, False)
    """
    match = _VERSION.match(version.strip())
    return match is not None and int(match.group(1)) >= 2


class GenerationDetector:
    """Finds the upstream generation once and remembers it for the life of the process."""

    def __init__(self, client: BifrostClient, fixed: ApiGeneration | None) -> None:
        self._client = client
        self._known: ApiGeneration | None = fixed
        self._lock = asyncio.Lock()
        self.version: str | None = None  # what ``GET /api/version`` answered, when detection read it

    @property
    def known(self) -> ApiGeneration | None:
        """The generation when already known, else None."""
        return self._known

    async def get(self, session: BifrostSession) -> ApiGeneration | None:
        """The upstream's generation, or None while it cannot be told (then bodies carry both shapes)."""
        if self._known is not None:
            return self._known
        async with self._lock:
            if self._known is None:
                self._known = await self._detect(session)
        return self._known

    async def _detect(self, session: BifrostSession) -> ApiGeneration | None:
        try:
            response = await session.call("GET", "/api/version")
            version = orjson.loads(response.content)
            if isinstance(version, str):
                self.version = version
                if found := generation_of_version(version):
                    return found
        except BifrostHTTPError:
            pass  # older deployments have no version endpoint: probe instead
        except orjson.JSONDecodeError:
            pass
        try:
            response = await session.call("GET", "/api/governance/teams", params={"limit": 1})
            teams = orjson.loads(response.content).get("teams") or []
        except (BifrostError, orjson.JSONDecodeError, AttributeError):
            return None
        if not teams:
            return None
        # v1.5+ always sends virtual_key_count on teams; the seed generation never does.
        return "current" if "budgets" in teams[0] or "virtual_key_count" in teams[0] else "seed"
