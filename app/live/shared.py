"""Work done once per published snapshot, not once per subscriber.

Every subscriber of a key receives the same snapshot objects from the hub, so whatever is computed from them
alone (the GraphQL value of a push, the result of running a document on it) is the same for all of them. A
``SharedResults`` remembers the last few such computations by the identity of their inputs: with a thousand
subscribers on one watched set, a push is built once and executed once per distinct document.

Example:
    >>> shared = SharedResults(4)
    >>> snapshot = {"n": 1}
    >>> first = shared.get((snapshot,), (), lambda: [snapshot["n"]])
    >>> shared.get((snapshot,), (), lambda: [0]) is first
    True
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["SharedResults"]

T = TypeVar("T")


class SharedResults(Generic[T]):
    """An LRU of ``convert()`` results keyed by the identity of ``sources`` (held, so ids stay theirs) and by
    ``extra`` (hashable values compared by equality).

    Args:
        size: how many results are kept (a few per active key is plenty: only the latest push is asked for).
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], tuple[tuple[object, ...], T]] = OrderedDict()

    def get(self, sources: tuple[object, ...], extra: tuple[Hashable, ...], convert: Callable[[], T]) -> T:
        """The result for these sources and extra values, computed by ``convert`` the first time."""
        key = (*(id(source) for source in sources), *extra)
        entry = self._entries.get(key)
        if entry is not None and all(held is given for held, given in zip(entry[0], sources, strict=True)):
            self._entries.move_to_end(key)
            return entry[1]
        value = convert()
        self._entries[key] = (sources, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value
