"""Relay-style connections mapped onto Bifrost's limit/offset paging.

Cursors are opaque to clients (base64 of ``offset:N``); ``first`` is 1..100 as upstream clamps it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from app.schema.errors import GatewayError, GatewayErrorCode

__all__ = ["MAX_PAGE_SIZE", "Connection", "Edge", "PageInfo", "PageWindow", "connection_of", "page_window"]

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
T = TypeVar("T")


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One item of a page, with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(resolver=lambda self: encode_cursor(self.offset))  # made only when asked for
    node: T
    offset: strawberry.Private[int]


@strawberry.type(description="A page of a list.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Items in the whole (filtered) list.")

    @strawberry.field(description="The page's items without cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


@dataclass(frozen=True)
class PageWindow:
    """The upstream ``limit``/``offset`` for a ``first``/``after`` pair."""

    limit: int
    offset: int

    @property
    def params(self) -> dict[str, str | int]:
        """Upstream query parameters."""
        return {"limit": self.limit, "offset": self.offset}


def encode_cursor(offset: int) -> str:
    """The opaque cursor of the item at ``offset``."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def page_window(first: int | None, after: str | None) -> PageWindow:
    """Validate ``first`` and ``after``; raise a BAD_USER_INPUT GraphQL error naming the argument."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise GatewayError(
            f"first must be between 1 and {MAX_PAGE_SIZE}", GatewayErrorCode.BAD_USER_INPUT, argument="first"
        )
    offset = 0
    if after is not None:
        try:
            kind, _, value = base64.urlsafe_b64decode(after.encode()).decode().partition(":")
            offset = int(value) + 1
            if kind != "offset" or offset < 1 or offset > 10_000_000:
                raise ValueError(after)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise GatewayError(
                "after is not a valid cursor", GatewayErrorCode.BAD_USER_INPUT, argument="after"
            ) from None
    return PageWindow(limit=size, offset=offset)


def connection_of(items: list[T], window: PageWindow, total: int | None) -> Connection[T]:
    """A connection for one upstream page starting at ``window.offset``."""
    total_count = total if total is not None else window.offset + len(items)
    offset = window.offset
    edges = _edges(items, offset)
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=offset + len(items) < total_count,
            has_previous_page=offset > 0,
            start_cursor=encode_cursor(offset) if edges else None,
            end_cursor=encode_cursor(offset + len(edges) - 1) if edges else None,
        ),
        total_count=total_count,
    )


_new_object = object.__new__


def _edges(items: list[T], offset: int) -> list[Edge[T]]:
    """``[Edge(node=item, offset=offset + i) ...]``, made without the dataclass ``__init__`` (a page of a hundred).

    ``Edge.__init__`` only sets its two fields (Strawberry adds no ``__post_init__``), so setting them on a new
    instance makes equal edges, at half the cost.
    """
    edges = []
    for index, item in enumerate(items, offset):
        edge = _new_object(Edge)
        edge.node = item
        edge.offset = index
        edges.append(edge)
    return edges
