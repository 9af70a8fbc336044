"""The cycle collector in a process that holds many subscriptions: timed, and kept off the start-up heap.

A full collection walks every tracked container. After start-up most of them (the stores' clients, the schema,
the embedder, the caches) live as long as the process, so `settle` collects once and freezes what is left
(`gc.freeze`: the permanent generation, which no collection walks) and sets the generation thresholds
(GC_THRESHOLD). `GcTimer` times every collection through `gc.callbacks` for the metrics
(`switchboard_gc_pause_seconds` by generation), which is how a pause during a fan-out shows.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


class GcTimer:
    """Calls `record(generation, seconds)` after each collection while installed."""

    def __init__(self, record: Callable[[int, float], None]) -> None:
        self.record = record
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.record(int(info["generation"]), time.perf_counter() - self._started)

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)


def settle(*, freeze: bool, threshold: tuple[int, ...] | None) -> Callable[[], None]:
    """Once the process has started: a full collection, then the survivors frozen (`freeze`), and the thresholds
    set. Returns what undoes it at shutdown (an app made again in the same process, as tests do, starts afresh)."""
    previous = gc.get_threshold()
    if freeze:
        gc.collect()
        gc.freeze()
    if threshold:
        gc.set_threshold(*threshold)

    def undo() -> None:
        gc.set_threshold(*previous)
        if freeze:
            gc.unfreeze()

    return undo
