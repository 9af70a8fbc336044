"""Script calls made in one turn of the event loop, sent to Redis together as one pipeline.

Under load, many requests reach their admission together (each takes its cost budget with one EVALSHA,
datasources/redis/budget.py). Sent one by one, every call pays a pooled connection, a socket write, a read and
redis-py's command machinery of its own; sent together, they pay one of each for the lot, as ioredis'
auto-pipelining does. A call waits at most for the current turn of the loop. Each call's answer and error are its
own: the pipeline has no MULTI, so the calls stay as independent as they were. A script Redis lacks (restarted,
flushed) is loaded, and those calls run again. A lone call goes as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError


@dataclass(frozen=True)
class _Call:
    script: AsyncScript
    keys: Sequence[Any]
    args: Sequence[Any]
    answer: asyncio.Future[Any]


class Pipelined:
    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.pending: list[_Call] = []
        self.sending: set[asyncio.Task[None]] = set()

    async def run(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's answer, as `await script(keys=keys, args=args)` gives it."""
        loop = asyncio.get_running_loop()
        if not self.pending:
            loop.call_soon(self._flush)
        call = _Call(script, keys, args, loop.create_future())
        self.pending.append(call)
        return await call.answer

    def _flush(self) -> None:
        calls, self.pending = self.pending, []
        task = asyncio.get_running_loop().create_task(self._send(calls))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            if len(calls) == 1:
                (call,) = calls
                answers: list[Any] = [await call.script(keys=call.keys, args=call.args)]
            else:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for call in calls:
                        pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
                    answers = await pipe.execute(raise_on_error=False)
                for i, (call, answer) in enumerate(zip(calls, answers, strict=True)):
                    if isinstance(answer, NoScriptError):  # loads the script, and runs the call again
                        answers[i] = await _settled(call.script(keys=call.keys, args=call.args))
        except BaseException as exc:
            for call in calls:
                if not call.answer.done():
                    call.answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for call, answer in zip(calls, answers, strict=True):
            if call.answer.done():  # its caller gave up (cancelled)
                continue
            if isinstance(answer, Exception):
                call.answer.set_exception(answer)
            else:
                call.answer.set_result(answer)


async def _settled(awaitable: Any) -> Any:
    """The awaitable's result, or the exception it raised (as a pipeline's answers hold errors)."""
    try:
        return await awaitable
    except Exception as exc:
        return exc


_by_client: WeakKeyDictionary[Any, Pipelined] = WeakKeyDictionary()


def pipelined(redis: Any) -> Pipelined:
    """The client's one `Pipelined` (its calls share the client's pool)."""
    found = _by_client.get(redis)
    if found is None:
        found = _by_client[redis] = Pipelined(redis)
    return found
