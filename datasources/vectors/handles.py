"""A bounded, least-recently-used map of open collection handles, so a search on a warm account is one request.

Chroma's clients address a collection by id: a handle is fetched once (`get_collection`) and reused. The bound
keeps a server with many accounts from holding a handle for each; an evicted one costs one more request.
"""

from __future__ import annotations

from collections import OrderedDict


class Handles[K, V]:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity: must be at least 1, got {capacity}")
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def forget(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
