"""graphql-core's executor with its attributes in slots: a subscription keeps its executor for as long as it runs.

graphql-core's executor sets 31 attributes and Strawberry's one more; CPython keeps at most 30 of a class's
attribute values inline in the object, so every executor got a dict of its own, 1.6 KB of the 3.9 KB each
subscription's executor holds (`bench/subscription_heap.py`). In slots they take 8 bytes each. The names are
read from an executor built once at import, so those a later graphql-core sets in its constructor are slots too;
one it would set only later would land in the dict, which `__copy__` does not copy: the tests say if it does.

graphql-core copies the executor for each subscription event (`build_per_event_executor`) and `@defer` group
(`create_sub_executor`) with `copy.copy`, which goes through `__reduce_ex__` for a slotted object: `__copy__`
copies the slots directly (a per-event executor in 2.4 us, 2.9 through `__reduce_ex__`, 2.0 with the dict).
"""

from __future__ import annotations

from typing import Any

from graphql import build_schema, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


def _attributes() -> tuple[str, ...]:
    executor = StrawberryGraphQLCoreExecutionContext.build(build_schema("type Query { a: Int }"), parse("{ a }"),
                                                           operation_extensions=None)
    assert isinstance(executor, StrawberryGraphQLCoreExecutionContext), executor
    return tuple(sorted(vars(executor)))


ATTRIBUTES = _attributes()


class SlottedExecutor(StrawberryGraphQLCoreExecutionContext):
    __slots__ = ATTRIBUTES

    def __copy__(self) -> Any:
        copied = object.__new__(type(self))
        for name in ATTRIBUTES:
            setattr(copied, name, getattr(self, name))
        return copied
