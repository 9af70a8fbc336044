"""Calls made in one turn of the event loop, sent to a store together.

Under load, many requests reach the same store call in the same turn of the loop: each admits its operation
with one Redis script (datasources/redis/pipelined.py), each prepared query reads its plan's one statement
(datasources/postgres/compiled.py). `Coalescer` gathers the calls of a turn by key and hands each group to
`send`, which makes one round trip for the lot and gives back one answer (or exception) per call, in order. A
call waits at most for the current turn; each caller gets its own answer and its own error; a caller that gives
up (cancelled) leaves the others theirs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

type Send[I] = Callable[[Hashable, list[I]], Awaitable[Sequence[Any]]]


class Coalescer[I]:
    def __init__(self, send: Send[I]) -> None:
        self.send = send
        self.pending: dict[Hashable, list[tuple[I, asyncio.Future[Any]]]] = {}
        self.sending: set[asyncio.Task[None]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop whose turn `pending` waits for

    async def call(self, key: Hashable, item: I) -> Any:
        """`item`'s answer, sent with the other calls of this turn under the same key."""
        loop = asyncio.get_running_loop()
        if self.pending and self.loop is not loop:  # left by a loop that closed before its turn came
            self.pending = {}
        if not self.pending:
            self.loop = loop
            loop.call_soon(self._flush)
        answer: asyncio.Future[Any] = loop.create_future()
        self.pending.setdefault(key, []).append((item, answer))
        return await answer

    def _flush(self) -> None:
        groups, self.pending = self.pending, {}
        loop = asyncio.get_running_loop()
        for key, calls in groups.items():
            task = loop.create_task(self._send(key, calls))
            self.sending.add(task)
            task.add_done_callback(self.sending.discard)

    async def _send(self, key: Hashable, calls: list[tuple[I, asyncio.Future[Any]]]) -> None:
        try:
            answers = await self.send(key, [item for item, _ in calls])
        except BaseException as exc:
            for _, answer in calls:
                if not answer.done():
                    answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, answer), found in zip(calls, answers, strict=True):
            if answer.done():  # its caller gave up
                continue
            if isinstance(found, Exception):
                answer.set_exception(found)
            else:
                answer.set_result(found)


async def settled(awaitable: Awaitable[Any]) -> Any:
    """The awaitable's result, or the exception it raised (an answer `send` gives back for one call)."""
    try:
        return await awaitable
    except Exception as exc:
        return exc
