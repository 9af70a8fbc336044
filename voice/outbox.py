"""Archives ended calls from a durable Redis stream, until each one lands.

The terminal event's transaction appends `{account_id, call_id}` to the outbox stream. Workers (one per
process, in a consumer group) archive each entry and acknowledge it only once every store took its part;
an entry whose archive failed stays pending and is claimed again after `retry_after` seconds, by whichever
process gets to it. A store that is down when a call ends therefore delays its archive; it does not lose it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from redis.exceptions import ResponseError

from datasources.calls.codec import load_call
from datasources.redis import keys
from datasources.stores import Stores
from voice.archive import archive

log = logging.getLogger(__name__)

GROUP = "archivers"


class ArchiveWorker:
    def __init__(
        self, stores: Stores, *, consumer: str, wakeup: asyncio.Event, retry_after: float = 5.0, poll: float = 1.0
    ) -> None:
        self.stores = stores
        self.consumer = consumer
        self.wakeup = wakeup
        self.retry_after = retry_after
        self.poll = poll
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await self.stores.redis.xgroup_create(keys.archive_outbox(), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("archive outbox pass failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.poll)
            self.wakeup.clear()

    async def run_once(self) -> int:
        """New entries, then entries another pass (or process) left pending too long. Returns how many landed."""
        redis = self.stores.redis
        # the client decodes responses: ids and fields are str
        fresh: Any = await redis.xreadgroup(GROUP, self.consumer, {keys.archive_outbox(): ">"}, count=50)
        entries: list[tuple[str, dict[str, str]]] = [e for _, stream_entries in fresh for e in stream_entries]
        claimed: list[Any] = await redis.xautoclaim(
            keys.archive_outbox(), GROUP, self.consumer, min_idle_time=int(self.retry_after * 1000), count=50
        )
        entries += claimed[1]
        done = 0
        for entry_id, fields in entries:
            if await self._archive(fields):
                await redis.xack(keys.archive_outbox(), GROUP, entry_id)
                done += 1
        return done

    async def _archive(self, fields: dict[str, str]) -> bool:
        account_id, call_id = int(fields["account_id"]), fields["call_id"]
        redis = self.stores.redis
        raw = await redis.get(keys.call_state(account_id, call_id))
        if raw is None:
            log.error("outbox names call %s of account %s, which Redis no longer holds", call_id, account_id)
            return True
        rows: Any = await redis.xrange(keys.call_stream(account_id, call_id))
        events = [orjson.loads(fields["event"]) for _, fields in rows]
        history = [{k: e[k] for k in ("type", "event_id", "occurred_at")} for e in events]
        try:
            await archive(self.stores, load_call(orjson.loads(raw)), history)
        except Exception as exc:
            log.warning("archive of call %s failed, will retry: %r", call_id, exc)
            return False
        return True
