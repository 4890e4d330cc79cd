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

__all__ = ["SharedAnswer", "caller_identity", "query_key", "shared_key"]


class SharedAnswer:
    """What a query's followers receive: the status and body, and the facts their log lines record."""

    __slots__ = ("content", "cost", "outcome", "status")

    def __init__(self, status: int, content: bytes, outcome: str | None, cost: Any) -> None:
        self.status = status
        self.content = content
        self.outcome = outcome
        self.cost = cost


def caller_identity(caller: Caller, credentials: Mapping[str, str]) -> tuple[object, ...]:
    """Who a query runs for, as far as its answer goes: the caller (its kind, gateway key, what it may reveal and a
    key holder's virtual key, which ``Caller`` leaves out of its equality) and every credential header sent
    upstream on its behalf. Made of strings, so a key holding it hashes without calling back into Python.

    Example:
        >>> from app.schema.caller import ANONYMOUS
        >>> caller_identity(ANONYMOUS, {"authorization": "Bearer svc"})
        ('anonymous', None, False, None, (('authorization', 'Bearer svc'),))
    """
    sent = tuple(sorted(credentials.items())) if credentials else ()
    return (caller.kind.value, caller.key_label, caller.can_reveal, caller.virtual_key, sent)


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
    return shared_key(query, operation_name, variables, caller_identity(caller, credentials), media, wants_cost)


def shared_key(
    query: str, operation_name: str | None, variables: Any, identity: tuple[object, ...], media: str, wants_cost: bool
) -> Hashable | None:
    """``query_key`` with the caller's ``caller_identity`` worked out already (``IdentifiedCaller.sharing``)."""
    try:
        canonical = None if variables is None else orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None
    return (query, operation_name, canonical, identity, media, wants_cost)
