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

    def get(self, compute: Callable[[], T], query: str | None, operation_name: str | None,
            variables: Mapping[str, Any] | None, *more: Hashable) -> T:
        """The value for (query, operation_name, variables, *more): kept, or `compute()`d and kept."""
        key = None
        if query is not None and self.size:
            try:
                key = (query, operation_name, orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS), *more)
            except TypeError:
                key = None
        if key is not None and key in self.values:
            self.values.move_to_end(key)
            return self.values[key]
        found = compute()
        if key is not None:
            self.values[key] = found
            if len(self.values) > self.size:
                self.values.popitem(last=False)
        return found
