"""Text from outside the gateway made fit for a log line: no URL, address, credential or secret, bounded.

Bifrost's 5xx messages are its internals (a SQL error, a wrapped Go error that may quote a DSN). They are
what an operator needs to see, so they are logged, but only after this pass: anything shaped like a
URL, a ``user:password@host``, a ``password=``/``token:``/``dsn=`` assignment, an ``Authorization``
value, a Bifrost key (``sk-bf-...``) or a long opaque token is replaced by a marker, control characters
become spaces (one record stays one line), and the result is cut to a fixed length. UUIDs are kept:
they are ids of Bifrost's own entities and are what makes a log line useful.
"""

from __future__ import annotations

import re

__all__ = ["MAX_REDACTED_CHARS", "redacted"]

MAX_REDACTED_CHARS = 300

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SECRET_NAMES = (
    r"password|passwd|pwd|pass|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|api[_-]?key|"
    r"apikey|access[_-]?key|secret[_-]?key|private[_-]?key|dsn|authorization|auth|credentials?|cookie|session"
)
# Order matters: a URL is replaced whole before its parts could be matched one by one. Runs are matched
# from their first character, without backtracking (lookbehind, possessive quantifiers) and with bounded
# parts, so the time stays about linear in the text's length whatever it holds.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*+://\S+"), "<url>"),
    (re.compile(r"(?<![^\s:@/'\"=])[^\s:@/'\"=]{1,100}+:[^\s@/'\"]{1,200}+@\S+"), "<credentials>"),
    (re.compile(r"\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE), r"\1 <redacted>"),
    (
        re.compile(rf"\b({_SECRET_NAMES})(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&)]+)", re.IGNORECASE),
        r"\1\2<redacted>",
    ),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"), "<redacted>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"), "<address>"),
    (re.compile(r"\[(?=[0-9a-fA-F]*:)[0-9a-fA-F:]*+\](?::\d{1,5})?"), "<address>"),
)
_HOST_PORT = re.compile(r"(?<![\w.-])([\w.-]++):\d{2,5}\b")
_OPAQUE = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def _host_port(match: re.Match[str]) -> str:
    # "db.internal:5432" is an address; "12:30" is a time of day.
    return "<address>" if any(c.isalpha() for c in match.group(1)) else match.group(0)


def _opaque(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if _UUID.fullmatch(text) else "<redacted>"


def redacted(text: str, limit: int = MAX_REDACTED_CHARS) -> str:
    """``text`` without URLs, addresses, credentials or secrets, on one line, at most ``limit`` characters.

    Example:
        >>> redacted("failed to connect: dsn=postgres://bifrost:hunter2@db:5432/bifrost")
        'failed to connect: dsn=<redacted>'
        >>> redacted("UNIQUE constraint failed: governance_virtual_keys.name")
        'UNIQUE constraint failed: governance_virtual_keys.name'
    """
    text = _CONTROL.sub(" ", text[: limit * 2])
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = _HOST_PORT.sub(_host_port, text)
    text = _OPAQUE.sub(_opaque, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
