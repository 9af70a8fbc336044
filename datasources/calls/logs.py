"""A call's append-only logs in Redis (its DTMF digits, its transcription lines): sorted sets whose members sort
as their lines do.

Every member has the score 0, so Redis orders the set by the member's bytes; a member is the JSON array of the
line's UTC time in a fixed-width form, its event id and its value, so ZRANGE 0 -1 reads the lines in time order
(`model.dtmf_of` still sorts them exactly), any event id or value reads back as it was, and adding a line
twice adds nothing: the DTMF set is the log of `voice.state.log_line`, the transcript set that of
`voice.agent.transcript_line` (a line's value is its "speaker: text").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import orjson
from redis.asyncio import Redis

from datasources.calls.model import LogLine
from datasources.instrument import round_trip
from datasources.redis import keys

TIME = "%Y%m%dT%H%M%S.%f"


def member(line: LogLine) -> bytes:
    at = line.occurred_at if line.occurred_at.tzinfo else line.occurred_at.replace(tzinfo=UTC)
    return orjson.dumps([at.astimezone(UTC).strftime(TIME), line.event_id, line.value])


def line_of(value: str | bytes) -> LogLine:
    at, event_id, text = orjson.loads(value)
    return LogLine(datetime.strptime(at, TIME).replace(tzinfo=UTC), event_id, text)


async def _logs(redis: Redis, key: Callable[[int, str], str], account_id: int,
                call_ids: Sequence[str]) -> list[list[LogLine]]:
    if not call_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for call_id in call_ids:
            pipe.zrange(key(account_id, call_id), 0, -1)
        found = await pipe.execute()
    return [[line_of(m) for m in members] for members in found]


@round_trip("redis")
async def dtmf_logs(redis: Redis, *, account_id: int, call_ids: Sequence[str]) -> list[list[LogLine]]:
    """Each call's DTMF log in order (empty for a call with none, or whose log has expired), in one round trip."""
    return await _logs(redis, keys.call_dtmf, account_id, call_ids)


@round_trip("redis")
async def transcript_logs(redis: Redis, *, account_id: int, call_ids: Sequence[str]) -> list[list[LogLine]]:
    """Each call's transcription lines in order (the newest `store.TRANSCRIPT_MAX`), in one round trip."""
    return await _logs(redis, keys.call_transcript, account_id, call_ids)
