"""How a field's description says which Bifrost versions answer it.

Fields that only Bifrost v2 sends read null from an older upstream's payload: nothing is asked upstream to
tell the versions apart, and the description says so in the same words everywhere.

Example:
    >>> f"Whether the key may use every provider. {V2_ONLY}."
    'Whether the key may use every provider. (Bifrost v2; null on older versions).'
"""

from __future__ import annotations

__all__ = ["V2_ONLY"]

V2_ONLY = "(Bifrost v2; null on older versions)"
