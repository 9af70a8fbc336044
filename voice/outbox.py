"""Archives ended calls from a durable Redis stream, until each one lands or is given up on.

The terminal event's transaction appends `{account_id, call_id}` to the outbox stream. Workers (one per
process, in a consumer group) archive each entry and acknowledge it only once every store took its part;
an entry whose archive failed stays pending and is claimed again after `retry_after` seconds, by whichever
process gets to it. A store that is down when a call ends therefore delays its archive; it does not lose it.

Redis stays bounded: acknowledging an archive also gives the call's state and stream a TTL (`retention`), after
which `Query.call` reads the MongoDB log; the outbox is trimmed up to its oldest unacknowledged entry after each
pass; an entry delivered `max_attempts` times without landing moves, with its last error, to the dead-letter
stream (acknowledged off the outbox), where `switchboard outbox list|retry` finds it. The stream machinery is
`datasources.redis.outbox`'s, shared with the agent's command outbox (`voice/command_outbox.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import Any

import orjson
from redis.asyncio import Redis

from datasources.calls.codec import load_call
from datasources.calls.logs import transcript_logs
from datasources.mongo import calls as call_logs
from datasources.redis import keys
from datasources.redis.outbox import ARCHIVE, DeadLetter, Worker
from datasources.stores import Stores
from voice.archive import archive

log = logging.getLogger(__name__)

GROUP = ARCHIVE.group


class ArchiveWorker(Worker):
    def __init__(
        self, stores: Stores, *, consumer: str, wakeup: asyncio.Event, retry_after: float = 5.0, poll: float = 1.0,
        retention: float = 24 * 3600, max_attempts: int = 10,
    ) -> None:
        super().__init__(ARCHIVE, stores.redis, consumer=consumer, wakeup=wakeup, retry_after=retry_after,
                         poll=poll, max_attempts=max_attempts)
        self.stores = stores
        self.retention = max(int(retention), 1)

    async def deliver(self, fields: dict[str, str]) -> str | None:
        """None when every store took the call, else why not."""
        try:
            account_id, call_id = int(fields["account_id"]), fields["call_id"]
        except (KeyError, TypeError, ValueError) as exc:
            return f"malformed outbox entry {fields!r}: {exc!r}"
        redis = self.stores.redis
        raw = await redis.get(keys.call_state(account_id, call_id))
        if raw is None:
            # a job run again (a retried dead letter, a duplicate) after the archive landed and the keys expired
            [logged] = await call_logs.call_logs_by_ids(account_id=account_id, ids=[call_id])
            if logged is not None:
                return None
            log.warning("outbox names call %s of account %s, which Redis no longer holds", call_id, account_id)
            return "Redis no longer holds the call's state, and MongoDB has no log of it"
        rows: Any = await redis.xrange(keys.call_stream(account_id, call_id))
        events = [orjson.loads(fields["event"]) for _, fields in rows]
        history = [{k: e[k] for k in ("type", "event_id", "occurred_at")} for e in events]
        [said] = await transcript_logs(redis, account_id=account_id, call_ids=[call_id])
        try:
            await archive(self.stores, load_call(orjson.loads(raw)), history, said)
        except Exception as exc:
            log.warning("archive of call %s failed, will retry: %r", call_id, exc)
            return repr(exc)
        return None

    async def settle(self, entry_id: str, fields: dict[str, str]) -> None:
        """Acknowledged, and the call's keys start to expire: MongoDB now holds its log."""
        account_id, call_id = int(fields["account_id"]), fields["call_id"]
        async with self.stores.redis.pipeline(transaction=True) as pipe:
            pipe.xack(keys.archive_outbox(), GROUP, entry_id)
            pipe.expire(keys.call_state(account_id, call_id), self.retention)
            pipe.expire(keys.call_stream(account_id, call_id), self.retention)
            pipe.expire(keys.call_dtmf(account_id, call_id), self.retention)
            pipe.expire(keys.call_transcript(account_id, call_id), self.retention)
            await pipe.execute()


async def dead_letters(redis: Redis) -> list[DeadLetter]:
    """The dead-lettered archive jobs, oldest first."""
    return await ARCHIVE.dead_letters(redis)


async def retry_dead_letters(redis: Redis, *, call_ids: Collection[str] | None = None) -> list[DeadLetter]:
    """Puts dead-lettered archive jobs (all, or those of `call_ids`) back on the outbox; returns those moved."""
    return await ARCHIVE.retry(redis, call_ids=call_ids)
