"""HookedSchema runs schema extensions exactly as Strawberry's own runner does: every hook shape, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

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


class StreamHooks(SchemaExtension):
    def on_stream_result(self, result: object) -> Iterator[None]:  # type: ignore[override]
        calls.append(f"stream:enter {result.data}")  # type: ignore[attr-defined]
        yield
        calls.append("stream:exit")

    def get_results(self) -> dict[str, object]:
        return {"mine": len(calls)}


class AsyncStreamHooks(SchemaExtension):
    async def on_stream_result(self, result: object) -> None:  # type: ignore[override]
        calls.append(f"stream:await {result.data}")  # type: ignore[attr-defined]

    async def get_results(self) -> dict[str, object]:  # type: ignore[override]
        return {"theirs": True}


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def count(self) -> AsyncIterator[int]:
        for n in range(2):
            calls.append(f"event {n}")
            yield n


async def streamed(schema_class: type[strawberry.Schema]) -> tuple[list[str], list[Any]]:
    calls.clear()
    schema = schema_class(query=Query, subscription=Subscription,
                          extensions=[Generators, StreamHooks, Callables, AsyncStreamHooks])
    results: list[Any] = []
    stream = await schema.subscribe("subscription { count }")
    async for result in stream:  # type: ignore[union-attr]
        results.append((result.data, result.extensions))
    return list(calls), results


async def test_stream_results_and_extension_results_as_in_strawberry() -> None:
    ours = await streamed(HookedSchema)
    assert ours == await streamed(strawberry.Schema)
    assert "stream:enter {'count': 1}" in ours[0] and "stream:await {'count': 0}" in ours[0]
    assert ours[1][0] == ({"count": 0}, {"mine": ours[1][0][1]["mine"], "theirs": True})  # type: ignore[index]


class FailingExit(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        raise RuntimeError("exit failed")


class Watching(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        try:
            yield
        except RuntimeError as exc:
            calls.append(f"outer saw {exc}")
            raise


async def failed_exit(schema_class: type[strawberry.Schema]) -> tuple[list[str], list[str]]:
    calls.clear()
    schema = schema_class(query=Query, extensions=[Watching, FailingExit])
    result = await schema.execute("{ hello }")
    return list(calls), [error.message for error in result.errors or ()]


async def test_an_exit_that_raises_reaches_the_hooks_outside_it_as_in_strawberry() -> None:
    ours = await failed_exit(HookedSchema)
    assert ours == await failed_exit(strawberry.Schema)
    assert ours[0] == ["resolve", "outer saw exit failed"]


class Swallowing(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except RuntimeError as exc:
            calls.append(f"swallowed {exc}")


class NoYield(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        calls.append("no yield")
        return
        yield


class TwoYields(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        calls.append("second yield")
        yield


async def outcome(schema_class: type[strawberry.Schema], extensions: list[Any]) -> tuple[list[str], str]:
    calls.clear()
    try:
        result = await schema_class(query=Query, extensions=extensions).execute("{ hello }")
    except Exception as exc:  # noqa: BLE001 (what either runner lets out is the outcome compared)
        return list(calls), f"raised {type(exc).__name__}: {exc}"
    return list(calls), f"data {result.data}, errors {[e.message for e in result.errors or ()]}"


async def test_generator_hooks_that_swallow_do_not_yield_or_yield_twice_end_as_in_strawberry() -> None:
    for extensions in ([Swallowing, FailingExit], [NoYield], [TwoYields], [Generators, TwoYields]):
        ours = await outcome(HookedSchema, extensions)
        assert ours == await outcome(strawberry.Schema, extensions), extensions
