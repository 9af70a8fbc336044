"""Strawberry's schema-extension hooks, looked up once per extension class instead of on every operation.

For every operation Strawberry wraps each extension's hook of each lifecycle stage anew: a `getattr`, an
`inspect` check and a `contextlib` wrapper (with `functools.update_wrapper`) per extension and stage, for a dozen
extensions and four stages. That was about a third of the time of a cached `{ __typename }`. An extension class's
hooks never change, so `HookedSchema` finds them once per class and stage; an operation only creates the context
managers it enters. Order and semantics are Strawberry's: hooks enter in the extensions' order and exit in
reverse, an async hook refuses a synchronous execution. Streamed results (`on_stream_result`) keep Strawberry's
own runner.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

type Enter = Callable[[SchemaExtension], Any]  # the extension -> its hook's (async) context manager


def _wrapped(hook: Callable[..., Any]) -> tuple[Enter, bool]:
    """A hook as a context-manager factory, and whether it is async (Strawberry accepts four shapes)."""
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    if inspect.iscoroutinefunction(hook):

        @contextlib.asynccontextmanager
        async def awaited(extension: SchemaExtension) -> AsyncIterator[None]:
            await hook(extension)
            yield

        return awaited, True

    @contextlib.contextmanager
    def called(extension: SchemaExtension) -> Iterator[None]:
        hook(extension)
        yield

    return called, False


_hooks: dict[tuple[type[SchemaExtension], str], tuple[Enter, bool] | None] = {}


def hook_of(cls: type[SchemaExtension], stage: str) -> tuple[Enter, bool] | None:
    """The class's hook for `stage` (`on_operation`, ...), None when it keeps SchemaExtension's (no-op) one."""
    key = (cls, stage)
    if key not in _hooks:
        hook = getattr(cls, stage)
        _hooks[key] = None if hook is getattr(SchemaExtension, stage) else _wrapped(hook)
    return _hooks[key]


class Stage:
    """One lifecycle stage of one operation: every extension's hook entered in order, exited in reverse."""

    __slots__ = ("extensions", "stack", "stage")

    def __init__(self, extensions: list[SchemaExtension], stage: str) -> None:
        self.extensions = extensions
        self.stage = stage
        self.stack: Any = None

    def _hooks(self) -> Iterator[tuple[SchemaExtension, Enter, bool]]:
        for extension in self.extensions:
            found = hook_of(type(extension), self.stage)
            if found is not None:
                yield extension, found[0], found[1]

    async def __aenter__(self) -> None:
        self.stack = contextlib.AsyncExitStack()
        await self.stack.__aenter__()
        for extension, enter, is_async in self._hooks():
            if is_async:
                await self.stack.enter_async_context(enter(extension))
            else:
                self.stack.enter_context(enter(extension))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stack.__aexit__(exc_type, exc, tb)  # as Strawberry: a hook cannot swallow the exception

    def __enter__(self) -> None:
        self.stack = contextlib.ExitStack()
        self.stack.__enter__()
        for extension, enter, is_async in self._hooks():
            if is_async:
                raise RuntimeError(
                    f"SchemaExtension hook {extension}.{self.stage} failed to complete synchronously."
                )
            self.stack.enter_context(enter(extension))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stack.__exit__(exc_type, exc, tb)


class HookedRunner(SchemaExtensionsRunner):
    def operation(self) -> Any:
        return Stage(self.extensions, "on_operation")

    def validation(self) -> Any:
        return Stage(self.extensions, "on_validate")

    def parsing(self) -> Any:
        return Stage(self.extensions, "on_parse")

    def executing(self) -> Any:
        return Stage(self.extensions, "on_execute")


class HookedSchema(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return HookedRunner(execution_context=execution_context, extensions=extensions)
