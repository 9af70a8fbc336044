"""`ops.once.exclusive`: one holder at a time per lock file; the next waiter takes over when the holder lets go."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ops.once import exclusive


async def test_a_second_holder_waits_for_the_first(tmp_path: Path) -> None:
    lock = tmp_path / "work.lock"
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with exclusive(lock, poll=0.01):
            order.append("first in")
            await release.wait()
            order.append("first out")

    async def second() -> None:
        async with exclusive(lock, poll=0.01):
            order.append("second in")

    holding = asyncio.create_task(first())
    await asyncio.sleep(0.05)
    waiting = asyncio.create_task(second())
    await asyncio.sleep(0.1)
    assert order == ["first in"]  # the second polls: the lock is held
    release.set()
    await asyncio.wait_for(asyncio.gather(holding, waiting), 5)
    assert order == ["first in", "first out", "second in"]

