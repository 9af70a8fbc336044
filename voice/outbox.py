"""Archives ended calls from a durable Redis stream, until each one lands or is given up on.

The terminal event's transaction appends `{account_id, call_id}` to the outbox stream. Workers (one per
process, in a consumer group) archive each entry and acknowledge it only once every store took its part;
an entry whose archive failed stays pending and is claimed again after `retry_after` seconds, by whichever
process gets to it. A store that is down when a call ends therefore delays its archive; it does not lose it.

Redis stays bounded: acknowledging an archive also gives the call's state and stream a TTL (`retention`), after
which `Query.call` reads the MongoDB log; the outbox is trimmed up to its oldest unacknowledged entry after each
pass; an entry delivered `max_attempts` times without landing moves, with its last error, to the dead-letter
stream (acknowledged off the outbox), where `switchboard outbox list|retry` finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from datasources.calls.codec import load_call
from datasources.calls.logs import transcript_logs
from datasources.mongo import calls as call_logs
from datasources.redis import keys
from datasources.stores import Stores
from voice.archive import archive

log = logging.getLogger(__name__)

GROUP = "archivers"


@dataclass(frozen=True)
class DeadLetter:
    entry_id: str  # in the dead-letter stream
    call_id: str
    account_id: int
    attempts: int
    error: str
    failed_at: str  # ISO 8601, UTC


class ArchiveWorker:
    def __init__(
        self, stores: Stores, *, consumer: str, wakeup: asyncio.Event, retry_after: float = 5.0, poll: float = 1.0,
        retention: float = 24 * 3600, max_attempts: int = 10,
    ) -> None:
        self.stores = stores
        self.consumer = consumer
        self.wakeup = wakeup
        self.retry_after = retry_after
        self.poll = poll
        self.retention = max(int(retention), 1)
        self.max_attempts = max_attempts
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
            error = await self._archive(fields)
            if error is None:
                await self._settle(entry_id, fields)
                done += 1
            else:
                await self._failed(entry_id, fields, error)
        if entries:
            await self._trim()
        return done

    async def _archive(self, fields: dict[str, str]) -> str | None:
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

    async def _settle(self, entry_id: str, fields: dict[str, str]) -> None:
        """Acknowledged, and the call's keys start to expire: MongoDB now holds its log."""
        account_id, call_id = int(fields["account_id"]), fields["call_id"]
        async with self.stores.redis.pipeline(transaction=True) as pipe:
            pipe.xack(keys.archive_outbox(), GROUP, entry_id)
            pipe.expire(keys.call_state(account_id, call_id), self.retention)
            pipe.expire(keys.call_stream(account_id, call_id), self.retention)
            pipe.expire(keys.call_dtmf(account_id, call_id), self.retention)
            pipe.expire(keys.call_transcript(account_id, call_id), self.retention)
            await pipe.execute()

    async def _failed(self, entry_id: str, fields: dict[str, str], error: str) -> None:
        redis = self.stores.redis
        # every delivery (the first read and each claim) counts one attempt
        info: Any = await redis.xpending_range(keys.archive_outbox(), GROUP, min=entry_id, max=entry_id, count=1)
        if not info:
            return  # no longer pending: another worker settled it meanwhile
        attempts = int(info[0]["times_delivered"])
        if attempts < self.max_attempts:
            return
        log.error("archive of %s gave up after %d attempts, dead-lettered: %s", fields, attempts, error)
        letter: dict[Any, Any] = {
            "account_id": fields.get("account_id", ""), "call_id": fields.get("call_id", ""),
            "attempts": str(attempts), "error": error[:2000], "failed_at": datetime.now(UTC).isoformat(),
            "outbox_id": entry_id,
        }
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys.archive_dead_letter(), letter)
            pipe.xack(keys.archive_outbox(), GROUP, entry_id)
            await pipe.execute()

    async def _trim(self) -> None:
        """Drops the outbox entries before the oldest one not yet acknowledged (pending, or not yet read)."""
        redis = self.stores.redis
        outbox = keys.archive_outbox()
        # the group's read position first, the pending entries second: an entry read in between is pending by
        # then, and one read after it lies past the position, so neither is trimmed
        groups: Any = await redis.xinfo_groups(outbox)
        group = next((g for g in groups if g["name"] == GROUP), None)
        if group is None:
            return
        pending: Any = await redis.xpending(outbox, GROUP)
        if pending["pending"]:
            oldest = str(pending["min"])
        else:
            ms, _, seq = str(group["last-delivered-id"]).partition("-")
            oldest = f"{ms}-{int(seq or 0) + 1}"
        await redis.xtrim(outbox, minid=oldest, approximate=False)


async def dead_letters(redis: Redis) -> list[DeadLetter]:
    """The dead-lettered archive jobs, oldest first."""
    rows: Any = await redis.xrange(keys.archive_dead_letter())
    letters = []
    for entry_id, f in rows:
        account = str(f.get("account_id", ""))
        letters.append(DeadLetter(
            entry_id=entry_id, call_id=str(f.get("call_id", "")), account_id=int(account) if account.isdigit() else 0,
            attempts=int(f.get("attempts") or 0), error=str(f.get("error", "")), failed_at=str(f.get("failed_at", "")),
        ))
    return letters


async def retry_dead_letters(redis: Redis, *, call_ids: Collection[str] | None = None) -> list[DeadLetter]:
    """Puts dead-lettered jobs (all, or those of `call_ids`) back on the outbox; returns those moved."""
    moved = []
    for letter in await dead_letters(redis):
        if call_ids is not None and letter.call_id not in call_ids:
            continue
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xadd(keys.archive_outbox(), {"account_id": str(letter.account_id), "call_id": letter.call_id})
            pipe.xdel(keys.archive_dead_letter(), letter.entry_id)
            await pipe.execute()
        moved.append(letter)
    return moved
