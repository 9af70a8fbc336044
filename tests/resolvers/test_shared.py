"""A result many subscribers await: started eagerly, taken as a value when done, shielded while pending."""

from __future__ import annotations

import asyncio

import pytest

from resolvers.shared import settled, shared_future


async def test_work_that_waits_on_nothing_is_done_when_started() -> None:
    ran: list[str] = []

    async def work() -> str:
        ran.append("ran")
        return "answer"

    shared = shared_future(work())
    assert shared.done() and ran == ["ran"]
    assert settled(shared) == "answer"  # a value: the taker is not woken again


async def test_a_failure_is_raised_to_every_taker() -> None:
    async def work() -> str:
        raise ValueError("broken")

    shared = shared_future(work())
    for _ in range(2):
        with pytest.raises(ValueError, match="broken"):
            settled(shared)


async def test_a_taker_that_leaves_while_it_waits_cancels_nothing_for_the_others() -> None:
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "late"

    shared = shared_future(work())
    assert not shared.done()

    async def take() -> str:
        found: str = await settled(shared)
        return found

    leaver, stayer = asyncio.ensure_future(take()), asyncio.ensure_future(take())
    await asyncio.sleep(0)
    leaver.cancel()
    release.set()
    assert await stayer == "late" and not shared.cancelled()
    with pytest.raises(asyncio.CancelledError):
        await leaver
