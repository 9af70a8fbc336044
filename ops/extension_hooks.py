"""Strawberry's schema-extension hooks, looked up once per extension class instead of on every operation.

For every operation Strawberry wraps each extension's hook of each lifecycle stage anew: a `getattr`, an
`inspect` check and a `contextlib` wrapper (with `functools.update_wrapper`) per extension and stage, for a dozen
extensions and four stages. That was about a third of the time of a cached `{ __typename }`. An extension class's
hooks never change, so `HookedSchema` finds them once per class and stage; an operation only creates the context
managers it enters. Order and semantics are Strawberry's: hooks enter in the extensions' order and exit in
reverse, an async hook refuses a synchronous execution.

A subscription runs `on_stream_result` and `get_results` once per event and subscriber, so with thousands of
subscribers they were a seventh of a fan-out's time: `on_stream_result` is a stage like the others (the result
passed to each hook), and `get_results` is called only on the extensions that define it (SchemaExtension's own
returns `{}`).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from types import TracebackType
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext
from strawberry.utils.await_maybe import await_maybe

type Enter = Callable[..., Any]  # (the extension, the stage's arguments) -> its hook's (async) context manager


class _Generated:
    """A generator hook entered: `contextlib.contextmanager`'s context manager with only its generator. That one
    keeps the function, its arguments and its docstring in a dict of its own, 112 bytes for each of the six
    `on_operation` hooks every subscription holds while it runs, where this is 32; and it is made and entered
    for each event's `on_stream_result` in half the time. An exception is thrown in by contextlib's own exit."""

    __slots__ = ("gen",)

    def __init__(self, gen: Generator[Any]) -> None:
        self.gen = gen

    def __enter__(self) -> Any:
        try:
            return next(self.gen)
        except StopIteration:
            raise RuntimeError("generator didn't yield") from None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
                 ) -> bool:
        if exc_type is not None:
            gen = self.gen
            thrown: Any = contextlib.contextmanager(lambda: gen)()
            return bool(thrown.__exit__(exc_type, exc, tb))
        try:
            next(self.gen)
        except StopIteration:
            return False
        try:
            raise RuntimeError("generator didn't stop")
        finally:
            self.gen.close()


def _wrapped(hook: Callable[..., Any]) -> tuple[Enter, bool]:
    """A hook as a context-manager factory, and whether it is async (Strawberry accepts four shapes)."""
    if inspect.isgeneratorfunction(hook):

        def generated(extension: SchemaExtension, *args: Any) -> _Generated:
            return _Generated(hook(extension, *args))

        return generated, False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    if inspect.iscoroutinefunction(hook):

        @contextlib.asynccontextmanager
        async def awaited(extension: SchemaExtension, *args: Any) -> AsyncIterator[None]:
            await hook(extension, *args)
            yield

        return awaited, True

    @contextlib.contextmanager
    def called(extension: SchemaExtension, *args: Any) -> Iterator[None]:
        hook(extension, *args)
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


_defines: dict[tuple[type[SchemaExtension], str], bool] = {}


def defines(cls: type[SchemaExtension], method: str) -> bool:
    """Whether the class has its own `method` rather than SchemaExtension's."""
    key = (cls, method)
    found = _defines.get(key)
    if found is None:
        found = _defines[key] = getattr(cls, method) is not getattr(SchemaExtension, method)
    return found


class Plan:
    """A stage's hooks, in order: the extension's place, its hook, whether that is async; and whether any is."""

    __slots__ = ("asynchronous", "hooks")

    def __init__(self, classes: tuple[type[SchemaExtension], ...], stage: str) -> None:
        found = ((n, hook_of(cls, stage)) for n, cls in enumerate(classes))
        self.hooks = tuple((n, hook[0], hook[1]) for n, hook in found if hook is not None)
        self.asynchronous = any(is_async for _, _, is_async in self.hooks)


class Plans:
    """Every stage's plan, and the extensions that report results, for operations whose extensions are of
    `classes`: found once for all of them (each socket's subscriptions, each HTTP request), kept by none, and
    looked up once per operation, not once per event."""

    __slots__ = ("reporting", "stages")

    def __init__(self, classes: tuple[type[SchemaExtension], ...]) -> None:
        self.stages = {stage: Plan(classes, stage) for stage in STAGES}
        self.reporting = tuple(n for n, cls in enumerate(classes) if defines(cls, "get_results"))


STAGES = ("on_operation", "on_validate", "on_parse", "on_execute", "on_stream_result")
_plans: dict[tuple[type[SchemaExtension], ...], Plans] = {}


def plans_of(classes: tuple[type[SchemaExtension], ...]) -> Plans:
    plans = _plans.get(classes)
    if plans is None:
        plans = _plans[classes] = Plans(classes)
    return plans


class Stage:
    """One lifecycle stage of one operation: every extension's hook in the plan entered in order, exited in
    reverse; `args` are passed to each hook (the result, for `on_stream_result`). An empty plan enters nothing.

    While the stage runs it holds the shared plan, the operation's extensions and the context managers it entered,
    nothing more: an operation's stage runs as long as its subscription, and the hooks' list and an exit stack
    held all that time (its deque, a bound `__exit__` and a tuple per hook) were 2 KB of each subscription
    (`bench/subscription_heap.py`). The exit stack that exits them, with contextlib's semantics, is built when the
    stage exits."""

    __slots__ = ("args", "entered", "extensions", "plan", "stage")

    def __init__(self, plan: Plan, extensions: list[SchemaExtension], stage: str, args: tuple[Any, ...] = ()
                 ) -> None:
        self.plan = plan
        self.extensions = extensions
        self.stage = stage
        self.args = args
        self.entered: list[Any] | None = None  # the context managers entered, in the plan's order

    async def __aenter__(self) -> None:
        if not self.plan.asynchronous:
            self.__enter__()  # no async hook (a stream result's, say): no async exit either
            return
        extensions, args = self.extensions, self.args
        entered = self.entered = []
        for n, enter, is_async in self.plan.hooks:
            manager = enter(extensions[n], *args)
            if is_async:
                await manager.__aenter__()
            else:
                manager.__enter__()
            entered.append(manager)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        entered = self.entered
        if not entered:
            return
        if not self.plan.asynchronous:
            self.__exit__(exc_type, exc, tb)
            return
        self.entered = None
        stack = contextlib.AsyncExitStack()
        for manager, (_, _, is_async) in zip(entered, self.plan.hooks, strict=False):
            if is_async:
                stack.push_async_exit(manager)
            else:
                stack.push(manager)
        await stack.__aexit__(exc_type, exc, tb)  # as Strawberry: a hook cannot swallow the exception

    def __enter__(self) -> None:
        hooks = self.plan.hooks
        if not hooks:
            return
        extensions, args = self.extensions, self.args
        entered = self.entered = []
        for n, enter, is_async in hooks:
            if is_async:
                raise RuntimeError(
                    f"SchemaExtension hook {extensions[n]}.{self.stage} failed to complete synchronously."
                )
            manager = enter(extensions[n], *args)
            manager.__enter__()
            entered.append(manager)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        entered, self.entered = self.entered, None
        if not entered:
            return
        if len(entered) == 1:  # what an exit stack of one does, without building one (a stream result's hook)
            entered[0].__exit__(exc_type, exc, tb)
            return
        stack = contextlib.ExitStack()
        for manager in entered:
            stack.push(manager)
        stack.__exit__(exc_type, exc, tb)


class HookedRunner(SchemaExtensionsRunner):
    """A stage's hooks, and the extensions that report results, looked up by the extensions' classes: a
    subscription's events enter `on_stream_result` and read `get_results` once per event and subscriber."""

    def __init__(self, execution_context: ExecutionContext, extensions: list[SchemaExtension]) -> None:
        super().__init__(execution_context=execution_context, extensions=extensions)
        self._plans = plans_of(tuple(type(e) for e in extensions))

    def _stage(self, stage: str, *args: Any) -> Stage:
        return Stage(self._plans.stages[stage], self.extensions, stage, args)

    def operation(self) -> Any:
        return self._stage("on_operation")

    def validation(self) -> Any:
        return self._stage("on_validate")

    def parsing(self) -> Any:
        return self._stage("on_parse")

    def executing(self) -> Any:
        return self._stage("on_execute")

    def on_stream_result(self, result: Any) -> Any:
        return self._stage("on_stream_result", result)

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        data: dict[str, Any] = {}
        extensions = self.extensions
        for n in self._plans.reporting:
            found = extensions[n].get_results()
            if type(found) is not dict:  # an async hook's: the others skip await_maybe's inspect.isawaitable
                found = await await_maybe(found)
            if found:
                data.update(found)
        if ctx.extensions_results:
            data.update(ctx.extensions_results)
        return data

    def get_extensions_results_sync(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for extension in self.extensions:
            if defines(type(extension), "get_results"):
                if inspect.iscoroutinefunction(extension.get_results):
                    raise RuntimeError("Cannot use async extension hook during sync execution")
                data.update(extension.get_results())  # type: ignore[arg-type]
        return data


class HookedSchema(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return HookedRunner(execution_context=execution_context, extensions=extensions)
