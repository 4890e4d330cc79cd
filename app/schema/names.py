"""The one check for the names of teams, customers and virtual keys (and the names a key refers to).

A name must show something: at least one visible character, no control characters (Postgres-backed Bifrost
answers a NUL with a 500, and a newline or escape breaks every log and table that prints the name), no
invisible format characters or bidirectional overrides (``"\\u202egnp.exe"`` displays as ``exe.png``), no
line separators and no lone surrogates (they cannot be encoded as UTF-8 at all). Letters of every script are
welcome: ``"Équipe 東京"`` is a fine name.
"""

from __future__ import annotations

import unicodedata

from app.schema.checks import invalid
from app.schema.errors import UserError

__all__ = ["MAX_NAME_LENGTH", "check_name", "check_text"]

MAX_NAME_LENGTH = 255

# Unicode general categories refused anywhere in a name, with what the message calls them.
_REFUSED = {
    "Cc": "control characters",
    "Cf": "invisible or bidirectional formatting characters",
    "Cs": "lone surrogates",
    "Zl": "line separators",
    "Zp": "paragraph separators",
}
# Categories that show something on their own: letters, numbers, punctuation, symbols.
_VISIBLE = frozenset("LNPS")
# Letters and symbols that render as blank space (Hangul fillers, the blank braille pattern).
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def check_name(name: str, path: list[str], *, label: str | None = None) -> list[UserError]:
    """Problems of a name given at ``path``; the message names the field (``label``, else the path's last part).

    Names that refer to something in Bifrost (a provider, a model, a provider key id, an MCP client or tool)
    follow the same rule.

    Example:
        >>> [e.message for e in check_name("\\u200b\\u200b", ["input", "name"])]
        ['name must not contain invisible or bidirectional formatting characters (U+200B)']
        >>> check_name("Équipe 東京", ["input", "name"])
        []
    """
    field = label or path[-1]
    if len(name) > MAX_NAME_LENGTH:
        return [invalid(path, f"{field} must be at most {MAX_NAME_LENGTH} characters")]
    if name.isascii() and name.isprintable():
        # The usual name, checked at C speed: printable ASCII has no refused character, and anything but a
        # space is visible.
        return [] if name.strip(" ") else [invalid(path, f"{field} must have a visible character")]
    visible = False
    for char in name:
        category = unicodedata.category(char)
        if category in _REFUSED:
            return [invalid(path, f"{field} must not contain {_REFUSED[category]} (U+{ord(char):04X})")]
        visible = visible or (category[0] in _VISIBLE and char not in _BLANK)
    if not visible:
        return [invalid(path, f"{field} must have a visible character")]
    return []


def check_text(text: str, path: list[str]) -> list[UserError]:
    """Free text (a description) may hold anything a database can store: no NUL, which Postgres refuses.

    Example:
        >>> [e.message for e in check_text("a\x00b", ["input", "description"])]
        ['description must not contain NUL characters (U+0000)']
    """
    return [invalid(path, f"{path[-1]} must not contain NUL characters (U+0000)")] if "\x00" in text else []
