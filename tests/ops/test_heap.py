"""The cycle collector's settings at start-up, undone at shutdown, and its pauses timed."""

from __future__ import annotations

import gc

import pytest

from ops.heap import GcTimer, settle
from ops.settings import Settings


def test_settle_freezes_the_start_up_heap_and_sets_the_thresholds_until_undone() -> None:
    before = gc.get_threshold()
    kept = [{"n": n} for n in range(1000)]
    undo = settle(freeze=True, threshold=(5000, 15, 25))
    try:
        assert gc.get_freeze_count() >= len(kept) and gc.get_threshold() == (5000, 15, 25)
    finally:
        undo()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
    undo = settle(freeze=False, threshold=None)
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
    undo()


def test_each_collection_is_timed_by_generation() -> None:
    seen: list[tuple[int, float]] = []
    timer = GcTimer(lambda generation, seconds: seen.append((generation, seconds)))
    timer.install()
    timer.install()  # once, however often installed
    try:
        gc.collect(0)
        gc.collect(2)
    finally:
        timer.remove()
    gc.collect(1)
    assert [g for g, _ in seen] == [0, 2] and all(s >= 0 for _, s in seen)


def test_the_thresholds_setting_reads_as_the_gc_takes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_THRESHOLD", "20000,10,10")
    assert Settings().gc_threshold == (20000, 10, 10)  # type: ignore[call-arg]
    monkeypatch.setenv("GC_THRESHOLD", "")
    assert Settings().gc_threshold == ()  # type: ignore[call-arg]
