from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from resolvers.pagination import Page

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):  # noqa: UP046 - Strawberry resolves generics through TypeVar

    cursor: str
    node: T


@strawberry.type(description="A Relay connection: `first` is capped by the server's maximum page size.")
class Connection(Generic[T]):  # noqa: UP046

    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[R], wrap: Callable[[R], T]) -> Connection[T]:
        edges = [Edge(cursor=c, node=wrap(item)) for item, c in zip(page.items, page.cursors, strict=True)]
        info = PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        )
        return cls(edges=edges, page_info=info)
