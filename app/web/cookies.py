"""Reading Bifrost's ``token`` cookie from a Cookie header the way browsers send it.

Browsers send ``name=value`` pairs joined by ``; `` and put whatever a site stored in the value (JSON consent
records, quotes, spaces). ``http.cookies.SimpleCookie`` gives up on the whole header when one pair is
not to its taste, which turned a signed-in caller into an anonymous one. Here each pair is read on its
own: split on ``;``, trim, split on the first ``=``; the first ``token`` pair counts (browsers send the
most specific path first), and nothing else in the header matters.

The token itself must be a plausible session token: RFC 6265 cookie octets, at most
``MAX_TOKEN_CHARS`` long, optionally in double quotes (which are removed, as Go's net/http does).
Anything else raises ``InvalidTokenCookie``: the caller meant to present a session, and is never
quietly treated as someone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["MAX_TOKEN_CHARS", "InvalidTokenCookie", "token_cookie"]

MAX_TOKEN_CHARS = 4096
# RFC 6265 cookie-octet: visible ASCII except DQUOTE, comma, semicolon and backslash.
_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")


class InvalidTokenCookie(ValueError):
    """The ``token`` cookie is present but cannot be a session token."""


def token_cookie(headers: Iterable[str]) -> str | None:
    """The value of the first ``token`` cookie in ``headers`` (all Cookie headers of a request, in order).

    Returns None when there is no ``token`` pair or its value is empty.

    Raises:
        InvalidTokenCookie: the value holds characters a cookie may not, or is too long.

    Example:
        >>> token_cookie(['consent={"necessary":true, "ads":false}; _ga=GA1.1.123.456; token=abc'])
        'abc'
        >>> token_cookie(['xtoken=1; token="q1"; token=later']), token_cookie(["theme=dark"])
        ('q1', None)
    """
    for header in headers:
        for pair in header.split(";"):
            name, equals, value = pair.partition("=")
            if not equals or name.strip() != "token":
                continue
            return _checked(value.strip())
    return None


def _checked(value: str) -> str | None:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if len(value) > MAX_TOKEN_CHARS or not _COOKIE_OCTETS.fullmatch(value):
        raise InvalidTokenCookie("the token cookie is not a valid session token")
    return value or None
