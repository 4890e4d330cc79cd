"""Identical queries in flight at the same moment share one execution and one answer.

A dashboard that many people open at once through one backend asks the same query with the same
credentials again and again. Read coalescing (``app/bifrost/coalesce.py``) already shares the upstream
calls; this shares the rest: a query that arrives while an identical one is executing waits for that
one's answer (status and body) instead of resolving, shaping and serialising the same data again.

What makes two queries identical (``query_key``): the document and operation name, the variables
(canonical JSON), who the caller is (``Caller``: kind, gateway key, what it may reveal, a key holder's
virtual key), every credential
header sent upstream on its behalf, the response media type and whether the cost extension was asked
for. The request id and trace context are not part of it: they change no byte of the answer (a shared
answer's upstream calls carry the first caller's request id, as a shared read does).

What keeps this exact, as for reads: only queries in flight are shared (nothing is kept once the answer
is written), a write sent through this gateway starts a new period (``ReadCoalescer.new_period``, called
by the Bifrost client), and an answer that is not the same for everybody is never handed on: one that
sets a cookie, or the 499 of a leader whose client left (the others then run it themselves).

Example:
    >>> from app.schema.caller import ANONYMOUS
    >>> key = query_key("{ teams { id } }", None, None, ANONYMOUS, {}, "application/json", False)
    >>> key == query_key("{ teams { id } }", None, None, ANONYMOUS, {}, "application/json", False)
    True
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import orjson

from app.schema.caller import Caller

__all__ = ["SharedAnswer", "query_key"]


class SharedAnswer:
    """What a query's followers receive: the status and body, and the facts their log lines record."""

    __slots__ = ("content", "cost", "outcome", "status")

    def __init__(self, status: int, content: bytes, outcome: str | None, cost: Any) -> None:
        self.status = status
        self.content = content
        self.outcome = outcome
        self.cost = cost


def query_key(
    query: str,
    operation_name: str | None,
    variables: Any,
    caller: Caller,
    credentials: Mapping[str, str],
    media: str,
    wants_cost: bool,
) -> Hashable | None:
    """Everything that decides a query's answer, as one hashable value; None when the variables cannot
    be written back as canonical JSON (nested deeper than orjson writes): such a query runs alone."""
    try:
        canonical = None if variables is None else orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None
    sent = tuple(sorted(credentials.items())) if credentials else ()
    # ``Caller`` leaves a key holder's key out of its equality: it is part of the key here.
    return (query, operation_name, canonical, caller, caller.virtual_key, sent, media, wants_cost)
