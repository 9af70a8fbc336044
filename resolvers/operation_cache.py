"""Values an operation's text, name and variables decide (its cost, its compiled plan), kept for the most recent
ones: a client sends the same few operations again and again, and each value costs more to work out than to look
up. An operation without text, or with variables JSON cannot key, is worked out each time."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import orjson


class OperationCache[T]:
    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.values: OrderedDict[tuple[Hashable, ...], T] = OrderedDict()

    def key(self, query: str | None, operation_name: str | None, variables: Mapping[str, Any] | None,
            *more: Hashable) -> tuple[Hashable, ...] | None:
        """The key of (query, operation_name, variables, *more), None when it has none (no text, no cache, or
        variables JSON cannot encode)."""
        if query is None or not self.size:
            return None
        try:
            return (query, operation_name, orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS), *more)
        except TypeError:
            return None

    def find(self, key: tuple[Hashable, ...] | None) -> T | None:
        """The value kept under `key`, or None."""
        if key is None or key not in self.values:
            return None
        self.values.move_to_end(key)
        return self.values[key]

    def keep(self, key: tuple[Hashable, ...] | None, value: T) -> None:
        if key is None:
            return
        self.values[key] = value
        self.values.move_to_end(key)
        if len(self.values) > self.size:
            self.values.popitem(last=False)

    def get(self, compute: Callable[[], T], query: str | None, operation_name: str | None,
            variables: Mapping[str, Any] | None, *more: Hashable) -> T:
        """The value for (query, operation_name, variables, *more): kept, or `compute()`d and kept."""
        key = self.key(query, operation_name, variables, *more)
        if key is not None and key in self.values:
            self.values.move_to_end(key)
            return self.values[key]
        found = compute()
        self.keep(key, found)
        return found
