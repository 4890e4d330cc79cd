"""Upstream bodies parsed once while they do not change.

A dashboard that polls the same lists gets the same bytes from Bifrost again and again; parsing them into
models is then the largest single cost of the request, and the models it allocates are what the garbage
collector spends its time on. The memo keeps, per GET (model, path and query), the last body and the models
parsed from it, and hands those models out again only when the new body is byte-for-byte the same, so the
answer is exactly what parsing it would give. Models are frozen and never mutated, so sharing them between
requests is safe. It is bounded in entries and bytes; bodies above a size are not kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from pydantic import BaseModel

__all__ = ["ParseMemo"]

M = TypeVar("M", bound=BaseModel)


class ParseMemo:
    """A bounded LRU of ``key -> (body, parsed)``.

    Example:
        >>> from app.bifrost.models import MessageEnvelope
        >>> memo, body = ParseMemo(), b'{"message": "ok"}'
        >>> parse = lambda model, content: model.model_validate_json(content)
        >>> memo.parse(MessageEnvelope, "/x", body, parse) is memo.parse(MessageEnvelope, "/x", bytes(body), parse)
        True
    """

    def __init__(
        self, *, max_entries: int = 256, max_bytes: int = 32 * 1024 * 1024, max_entry_bytes: int = 4 * 1024 * 1024
    ):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Hashable, tuple[bytes, BaseModel]] = OrderedDict()
        self._bytes = 0
        self.hits = 0

    def parse(self, model: type[M], key: Hashable, content: bytes, parse: Callable[[type[M], bytes], M]) -> M:
        """The models of ``content``: remembered ones when ``key`` last answered exactly these bytes."""
        entries = self._entries
        full_key = (model, key)
        entry = entries.get(full_key)
        if entry is not None and entry[0] == content:
            entries.move_to_end(full_key)
            self.hits += 1
            return entry[1]  # type: ignore[return-value]
        parsed = parse(model, content)
        if len(content) <= self.max_entry_bytes:
            if entry is not None:  # the key's new body in place of its last: no entry removed and made again
                self._bytes -= len(entry[0])
                entries.move_to_end(full_key)
            entries[full_key] = (content, parsed)
            self._bytes += len(content)
            while len(entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (body, _) = entries.popitem(last=False)
                self._bytes -= len(body)
        elif entry is not None:
            del entries[full_key]
            self._bytes -= len(entry[0])
        return parsed
