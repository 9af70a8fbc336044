"""A result many subscribers of one event await: started at once, taken without a second wake-up when it is there.

An event wakes every local subscriber in the same turn of the loop. The first of a group starts the work they
share (whether their data scope sees the call, the execution of their document); the others used to park on it
behind `asyncio.shield` and be woken again when it was done, twice per event each. Started as an eager task,
work that needs no I/O (an admin's visibility, `{ cursor }`) is done before the next subscriber looks, and each
takes the result as a value; work that waits on a store is awaited as before, shielded, so a subscriber that goes
away while it waits cancels nothing the others wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


def shared_future(awaitable: Awaitable[Any]) -> asyncio.Future[Any]:
    if asyncio.iscoroutine(awaitable):
        return asyncio.Task(awaitable, loop=asyncio.get_running_loop(), eager_start=True)
    return asyncio.ensure_future(awaitable)


def settled(shared: asyncio.Future[Any]) -> Any:
    """The result itself once it is there (raising its error), else a shielded awaitable of it."""
    if shared.done():
        return shared.result()
    return asyncio.shield(shared)
