"""The slotted executor keeps every attribute in its slots and copies them for each subscription event."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from schema.slotted_executor import ATTRIBUTES, SlottedExecutor

SEEN: list[Any] = []


class Recording(SlottedExecutor):
    __slots__ = ()

    def build_per_event_executor(self, payload: Any) -> Any:
        SEEN.append(self)
        event = super().build_per_event_executor(payload)
        SEEN.append(event)
        return event


@strawberry.type
class Event:
    n: int

    @strawberry.field
    def checked(self) -> int:
        if self.n == 2:
            raise ValueError("two")
        return self.n


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def events(self, count: int) -> AsyncGenerator[Event]:
        for n in range(1, count + 1):
            yield Event(n=n)


SCHEMA = strawberry.Schema(query=Query, subscription=Subscription, execution_context_class=Recording)


def test_the_executor_keeps_no_dict() -> None:
    assert "operation_extensions" in ATTRIBUTES and "root_value" in ATTRIBUTES
    assert Recording.__basicsize__ >= len(ATTRIBUTES) * 8


async def test_each_event_gets_a_copy_with_its_own_root_and_errors() -> None:
    SEEN.clear()
    stream: Any = await SCHEMA.subscribe("subscription { events(count: 3) { checked } }")
    results = [result async for result in stream]
    assert [r.data for r in results] == [{"events": {"checked": 1}}, None, {"events": {"checked": 3}}]
    assert [len(r.errors or ()) for r in results] == [0, 1, 0]
    subscription, events = SEEN[0], SEEN[1::2]
    assert all(executor is subscription for executor in SEEN[0::2])
    assert [event.root_value.n for event in events] == [1, 2, 3]
    assert len({id(event.collected_errors) for event in events}) == 3
    for event in events:
        assert event.schema is subscription.schema and event.operation is subscription.operation
        assert event.background_futures is subscription.background_futures  # shared execution state stays shared
    for executor in (subscription, *events):
        assert vars(executor) == {}, "an attribute set after construction: add it to the slots' copy"
