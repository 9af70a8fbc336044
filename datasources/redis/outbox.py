"""The archive outbox's size, for the metrics: entries not yet archived and trimmed, and the age of the oldest."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from datasources.instrument import round_trip
from datasources.redis import keys


@round_trip("redis")
async def backlog(redis: Redis) -> tuple[int, float | None]:
    """(entries, seconds since the oldest was queued); an entry's stream id starts with its time in ms."""
    outbox = keys.archive_outbox()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xlen(outbox)
        pipe.xrange(outbox, count=1)
        size, first = await pipe.execute()
    if not first:
        return int(size), None
    entry_id = first[0][0]
    millis = int((entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")[0])
    return int(size), max(0.0, time.time() - millis / 1000)
