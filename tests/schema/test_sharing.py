"""One execution of a shared subscription event per document and event variables, over a schema of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from graphql import OperationDefinitionNode, parse
from strawberry.extensions import ParserCache

from schema.sharing import SharedEventExecutor, event_variables

RESOLVED: list[int] = []


@strawberry.type
class Event:
    n: int
    shared_executions: strawberry.Private[dict[Any, Any] | None]

    @strawberry.field
    def scaled(self, factor: int = 2) -> int:
        RESOLVED.append(self.n)
        return self.n * factor


@strawberry.type
class Query:
    ok: bool = True


def make_schema(root: Event) -> strawberry.Schema:
    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def events(self, after: str | None = None) -> AsyncGenerator[Event]:
            yield root

    return strawberry.Schema(query=Query, subscription=Subscription, extensions=[ParserCache],
                             execution_context_class=SharedEventExecutor)


DOCUMENT = "subscription($after: String, $factor: Int!) { events(after: $after) { scaled(factor: $factor) } }"


async def first_result(schema: strawberry.Schema, **variables: Any) -> Any:
    stream: Any = await schema.subscribe(DOCUMENT, variable_values=variables)
    async for result in stream:
        await stream.aclose()
        assert not result.errors, result.errors
        return result.data
    raise AssertionError("no event")


def test_the_event_variables_leave_out_the_root_fields_arguments() -> None:
    [operation] = parse(DOCUMENT).definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert event_variables(operation, {}) == ("factor",)


async def test_subscribers_with_the_same_document_share_one_execution() -> None:
    RESOLVED.clear()
    schema = make_schema(Event(n=21, shared_executions={}))
    one = await first_result(schema, after="1-0", factor=2)
    other = await first_result(schema, after="5-0", factor=2)  # another cursor: the same answer
    assert one == other == {"events": {"scaled": 42}} and one is other and RESOLVED == [21]
    assert await first_result(schema, after="1-0", factor=3) == {"events": {"scaled": 63}}
    assert RESOLVED == [21, 21]  # another event variable: executed again


async def test_a_root_without_shared_executions_is_executed_for_each() -> None:
    RESOLVED.clear()
    schema = make_schema(Event(n=1, shared_executions=None))
    assert await first_result(schema, factor=2) == await first_result(schema, factor=2)
    assert RESOLVED == [1, 1]


@strawberry.type
class SlowEvent:
    n: int
    shared_executions: strawberry.Private[dict[Any, Any] | None]

    @strawberry.field
    async def scaled(self, factor: int = 2) -> int:
        RESOLVED.append(self.n)
        await asyncio.sleep(0.01)
        return self.n * factor


async def test_concurrent_subscribers_await_one_execution_and_a_leaver_cancels_nothing() -> None:
    RESOLVED.clear()
    root = SlowEvent(n=5, shared_executions={})

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def events(self, after: str | None = None) -> AsyncGenerator[SlowEvent]:
            yield root

    schema = strawberry.Schema(query=Query, subscription=Subscription, extensions=[ParserCache],
                               execution_context_class=SharedEventExecutor)
    same = [asyncio.ensure_future(first_result(schema, after=f"{n}-0", factor=2)) for n in range(20)]
    other = asyncio.ensure_future(first_result(schema, factor=3))
    await asyncio.sleep(0.001)
    same[0].cancel()  # the one that started the execution leaves while the others wait for it
    results = await asyncio.gather(*same[1:], other)
    assert results[:-1] == [{"events": {"scaled": 10}}] * 19 and results[-1] == {"events": {"scaled": 15}}
    assert all(r is results[0] for r in results[:-1])  # one answer object: encoded once for every socket
    assert RESOLVED == [5, 5]  # one execution per document and event variables, 21 subscribers


async def test_a_shared_result_is_taken_without_a_per_event_executor(monkeypatch: Any) -> None:
    """The first subscriber of a document builds the event's executor; the others take its result as it is."""
    from graphql.execution.executor import Executor

    built: list[object] = []
    build = Executor.build_per_event_executor

    def counted(self: Executor, payload: Any) -> Any:
        built.append(payload)
        return build(self, payload)

    monkeypatch.setattr(Executor, "build_per_event_executor", counted)
    RESOLVED.clear()
    root = Event(n=4, shared_executions={})
    schema = make_schema(root)
    results = [await first_result(schema, after=f"{n}-0", factor=2) for n in range(5)]
    assert all(r is results[0] for r in results) and results[0] == {"events": {"scaled": 8}}
    assert built == [root] and RESOLVED == [4]
    assert await first_result(schema, factor=5) == {"events": {"scaled": 20}}
    assert built == [root, root] and RESOLVED == [4, 4]  # other event variables: an execution of their own


@strawberry.type
class QuickEvent:
    n: int
    shared_executions: strawberry.Private[dict[Any, Any] | None]

    @strawberry.field
    async def scaled(self, factor: int = 2) -> int:  # async, but waits on nothing
        RESOLVED.append(self.n)
        return self.n * factor


async def test_an_execution_that_waits_on_nothing_is_taken_by_the_others_without_waiting(monkeypatch: Any) -> None:
    """Subscribers woken together: the first executes at once (an eager task), the others take its result as a
    value rather than park behind a shield and be woken a second time."""
    shields: list[object] = []
    shield = asyncio.shield

    def counted(awaitable: Any) -> Any:
        shields.append(awaitable)
        return shield(awaitable)

    monkeypatch.setattr(asyncio, "shield", counted)
    RESOLVED.clear()
    root = QuickEvent(n=3, shared_executions={})

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def events(self, after: str | None = None) -> AsyncGenerator[QuickEvent]:
            yield root

    schema = strawberry.Schema(query=Query, subscription=Subscription, extensions=[ParserCache],
                               execution_context_class=SharedEventExecutor)
    results = await asyncio.gather(*(first_result(schema, after=f"{n}-0", factor=2) for n in range(10)))
    assert all(r is results[0] for r in results) and results[0] == {"events": {"scaled": 6}}
    assert RESOLVED == [3] and shields == []
