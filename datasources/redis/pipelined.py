"""Script calls and plain commands made in one turn of the event loop, sent to Redis together as one pipeline
(datasources/coalesce.py).

Under load, many requests reach their admission together (each takes its cost budget with one EVALSHA,
datasources/redis/budget.py), and many webhooks their throttle, their call's read and their call's write
(datasources/calls/store.py). Sent one by one, every call pays a pooled connection, a socket write, a read and
redis-py's command machinery of its own; sent together, they pay one of each for the lot, as ioredis'
auto-pipelining does. The pipeline has no MULTI, so the calls stay as independent as they were. A script Redis
lacks (restarted, flushed) is loaded, and those calls run again. A lone call goes as it is.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from datasources.coalesce import Coalescer, settled


@dataclass(frozen=True)
class _Call:
    script: AsyncScript | None  # None: `args` is a plain command (its name first)
    keys: Sequence[Any]
    args: Sequence[Any]

    async def alone(self, redis: Any) -> Any:
        if self.script is None:
            return await redis.execute_command(*self.args)
        return await self.script(keys=self.keys, args=self.args)


class Pipelined:
    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.calls = Coalescer[_Call](self._send)

    async def run(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's answer, as `await script(keys=keys, args=args)` gives it."""
        return await self.calls.call(None, _Call(script, keys, args))

    async def command(self, *args: Any) -> Any:
        """The command's answer, as `await redis.execute_command(*args)` gives it (a command that reads or writes
        on its own: a WATCH needs a connection of its own, which a shared pipeline is not)."""
        return await self.calls.call(None, _Call(None, (), args))

    async def _send(self, _: Hashable, calls: list[_Call]) -> list[Any]:
        if len(calls) == 1:
            return [await calls[0].alone(self.redis)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for call in calls:
                if call.script is None:
                    pipe.execute_command(*call.args)
                else:
                    pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
            answers: list[Any] = await pipe.execute(raise_on_error=False)
        for i, (call, answer) in enumerate(zip(calls, answers, strict=True)):
            if isinstance(answer, NoScriptError):  # loads the script, and runs the call again
                answers[i] = await settled(call.alone(self.redis))
        return answers


_by_client: WeakKeyDictionary[Any, Pipelined] = WeakKeyDictionary()


def pipelined(redis: Any) -> Pipelined:
    """The client's one `Pipelined` (its calls share the client's pool)."""
    found = _by_client.get(redis)
    if found is None:
        found = _by_client[redis] = Pipelined(redis)
    return found
