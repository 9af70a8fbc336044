"""Per-request round-trip accounting for every store call.

Adapters wrap each function that talks to a store with `@round_trip("mongodb")`. When a request has
installed a `StoreStats` (ops does so for the debug-stats extension), each call adds its count and time;
otherwise the wrapper costs one context-variable lookup. An exception leaving the function carries the store's
name (`datasources.outage`), so an outage can be reported as the store's.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from datasources import outage, signals

STORES = ("postgresql", "mongodb", "neo4j", "chroma", "redis")


@dataclass
class StoreCounter:
    calls: int = 0
    seconds: float = 0.0


@dataclass
class StoreStats:
    stores: dict[str, StoreCounter] = field(default_factory=dict)

    def add(self, store: str, seconds: float) -> None:
        counter = self.stores.setdefault(store, StoreCounter())
        counter.calls += 1
        counter.seconds += seconds

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            name: {"calls": c.calls, "ms": round(c.seconds * 1000, 3)} for name, c in sorted(self.stores.items())
        }


_current: ContextVar[StoreStats | None] = ContextVar("switchboard_store_stats", default=None)
@contextmanager
def collecting(stats: StoreStats) -> Iterator[StoreStats]:
    token = _current.set(stats)
    try:
        yield stats
    finally:
        _current.reset(token)


def record(store: str, operation: str, seconds: float) -> None:
    stats = _current.get()
    if stats is not None:
        stats.add(store, seconds)
    signals.store_round_trip.send(store, operation=operation, seconds=seconds)


def round_trip[**P, R](store: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        operation = fn.__qualname__

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                outage.mark(exc, store)
                raise
            finally:
                record(store, operation, time.perf_counter() - started)

        return wrapper

    return decorate
