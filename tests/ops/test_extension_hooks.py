"""HookedSchema runs schema extensions exactly as Strawberry's own runner does: every hook shape, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import strawberry
from strawberry.extensions import SchemaExtension

from ops.extension_hooks import HookedSchema

calls: list[str] = []


class Generators(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        calls.append("operation:enter")
        yield
        calls.append("operation:exit")

    async def on_execute(self) -> AsyncIterator[None]:
        calls.append("execute:enter")
        yield
        calls.append("execute:exit")


class Callables(SchemaExtension):
    def on_parse(self) -> None:  # type: ignore[override]
        calls.append("parse:call")

    async def on_validate(self) -> None:  # type: ignore[override]
        calls.append("validate:await")

    def on_operation(self) -> Iterator[None]:
        calls.append("operation:enter 2")
        yield
        calls.append("operation:exit 2")


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        calls.append("resolve")
        return "hi"


async def run(schema_class: type[strawberry.Schema]) -> list[str]:
    calls.clear()
    schema = schema_class(query=Query, extensions=[Generators, Callables])
    result = await schema.execute("{ hello }")
    assert result.data == {"hello": "hi"}
    return list(calls)


async def test_hooks_run_in_strawberrys_order() -> None:
    ours = await run(HookedSchema)
    assert ours == await run(strawberry.Schema)
    assert ours == [
        "operation:enter", "operation:enter 2", "parse:call", "validate:await", "execute:enter", "resolve",
        "execute:exit", "operation:exit 2", "operation:exit",
    ]


class Failing(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        raise RuntimeError("refused")
        yield


async def test_a_failing_hook_fails_the_operation_as_in_strawberry() -> None:
    for schema_class in (HookedSchema, strawberry.Schema):
        result = await schema_class(query=Query, extensions=[Failing]).execute("{ hello }")
        assert result.data is None and result.errors and "refused" in result.errors[0].message
