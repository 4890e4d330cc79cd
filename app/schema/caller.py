"""Who is asking, as resolvers see it: whose credentials went upstream and what the caller may see.

The web edge works this out once per request (``app.web.callers``); resolvers only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["ANONYMOUS", "Caller", "CallerKind"]


class CallerKind(StrEnum):
    """Whose credentials go upstream for a caller."""

    OWN_CREDENTIALS = "own_credentials"
    """The caller's own Bifrost bearer token, Basic credentials or ``token`` cookie."""
    GATEWAY_KEY = "gateway_key"
    """A backend the gateway authenticated with a gateway key: the service credential goes upstream."""
    ANONYMOUS = "anonymous"
    """Neither: nothing goes upstream (unless the operator opted in to lending the service credential)."""
    VIRTUAL_KEY = "virtual_key"
    """The holder of a Bifrost virtual key (``x-bf-vk`` or ``Authorization: Bearer sk-bf-...``): it may read
    ``myVirtualKey`` and nothing else; its key goes to the quota route only, no credentials go anywhere else."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller of one request.

    Example:
        >>> Caller(CallerKind.GATEWAY_KEY, key_label="dashboard", can_reveal=True).has_own_credentials
        False
    """

    kind: CallerKind
    key_label: str | None = None
    can_reveal: bool = False
    virtual_key: str | None = field(default=None, repr=False, compare=False)
    """The value of the virtual key a ``VIRTUAL_KEY`` caller presented (never logged, never printed)."""

    @property
    def has_own_credentials(self) -> bool:
        """True when the caller's own Bifrost credentials go upstream."""
        return self.kind is CallerKind.OWN_CREDENTIALS

    @property
    def is_key_holder(self) -> bool:
        """True for the holder of a virtual key, who may read ``myVirtualKey`` and nothing else."""
        return self.kind is CallerKind.VIRTUAL_KEY

    @property
    def log_name(self) -> str:
        """How the request's log line names the caller: its kind, and the label of a gateway key (never the key).

        Example:
            >>> Caller(CallerKind.GATEWAY_KEY, key_label="dashboard").log_name
            'gateway_key:dashboard'
        """
        return f"{self.kind.value}:{self.key_label}" if self.key_label else self.kind.value


ANONYMOUS = Caller(CallerKind.ANONYMOUS)
