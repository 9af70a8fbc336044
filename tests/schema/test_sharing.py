"""One execution of a shared subscription event per document and event variables, over a schema of its own."""

from __future__ import annotations

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
