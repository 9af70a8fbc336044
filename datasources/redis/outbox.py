"""A durable outbox on a Redis stream, delivered at least once by workers in every replica.

A transaction appends a job to the outbox stream in the same MULTI as the change that implies it, so the job
exists iff the change was applied. Workers share the stream through one consumer group: each pass reads the
entries not yet delivered to anyone and claims (XAUTOCLAIM) those left pending longer than `retry_after`, by
whichever process read them and then died or failed. A job is acknowledged once delivered; one delivered
`max_attempts` times without landing moves, with its last error, to the outbox's dead-letter stream
(acknowledged off the outbox), where `switchboard outbox list|retry` finds it. After each pass the stream is
trimmed up to its oldest unacknowledged entry, so it holds only what is still to do.

`Outbox` is the stream's bookkeeping (one instance per outbox, stateless); `Worker` the loop around it, with the
delivery left to its subclass. Entries that name the same `sequence` are delivered in stream order: one that
fails holds the later ones of its sequence back until the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from datasources.instrument import round_trip
from datasources.redis import keys

log = logging.getLogger(__name__)

# what the dead letter adds to the job's own fields (a retried job goes back without them)
LETTER_FIELDS = frozenset({"attempts", "error", "failed_at", "outbox_id"})

type Entry = tuple[str, dict[str, str]]


@dataclass(frozen=True)
class DeadLetter:
    outbox: str  # the outbox's name
    entry_id: str  # in the dead-letter stream
    fields: dict[str, str]  # the job as it was queued
    attempts: int
    error: str
    failed_at: str  # ISO 8601, UTC

    @property
    def call_id(self) -> str:
        return self.fields.get("call_id", "")

    @property
    def account_id(self) -> int:
        account = self.fields.get("account_id", "")
        return int(account) if account.isdigit() else 0


def entry_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class Outbox:
    """One outbox: its stream, its dead-letter stream and its consumer group. The client decodes responses."""

    name: str
    stream: str
    dead: str
    group: str

    async def create_group(self, redis: Redis) -> None:
        try:
            await redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    @round_trip("redis")
    async def take(self, redis: Redis, consumer: str, *, retry_after: float, count: int = 50,
                   fresh: bool = True) -> list[Entry]:
        """Entries to deliver now, oldest first: those not yet read by anyone (unless `fresh` is False: then they
        are only taken into the group's custody, and come back once idle `retry_after`) and those pending longer
        than `retry_after`."""
        read: Any = await redis.xreadgroup(self.group, consumer, {self.stream: ">"}, count=count)
        entries: list[Entry] = [e for _, stream_entries in read for e in stream_entries] if fresh else []
        claimed: Any = await redis.xautoclaim(
            self.stream, self.group, consumer, min_idle_time=int(retry_after * 1000), count=count
        )
        entries += [(i, f) for i, f in claimed[1] if f is not None]
        return sorted(entries, key=lambda e: entry_order(e[0]))

    @round_trip("redis")
    async def attempts(self, redis: Redis, entry_id: str) -> int | None:
        """How many times the entry was delivered (the first read and each claim); None: no longer pending."""
        info: Any = await redis.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(info[0]["times_delivered"]) if info else None

    @round_trip("redis")
    async def ack(self, redis: Redis, *entry_ids: str) -> None:
        """Done: acknowledged and deleted (an entry nobody has read yet is then never read)."""
        if not entry_ids:
            return
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, *entry_ids)
            pipe.xdel(self.stream, *entry_ids)
            await pipe.execute()

    @round_trip("redis")
    async def give_up(self, redis: Redis, entry_id: str, fields: dict[str, str], *, attempts: int,
                      error: str) -> None:
        letter: dict[Any, Any] = {
            **fields, "attempts": str(attempts), "error": error[:2000], "failed_at": datetime.now(UTC).isoformat(),
            "outbox_id": entry_id,
        }
        async with redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead, letter)
            pipe.xack(self.stream, self.group, entry_id)
            await pipe.execute()

    @round_trip("redis")
    async def trim(self, redis: Redis) -> None:
        """Drops the entries before the oldest one not yet acknowledged (pending, or not yet read)."""
        # the group's read position first, the pending entries second: an entry read in between is pending by
        # then, and one read after it lies past the position, so neither is trimmed
        groups: Any = await redis.xinfo_groups(self.stream)
        group = next((g for g in groups if g["name"] == self.group), None)
        if group is None:
            return
        pending: Any = await redis.xpending(self.stream, self.group)
        if pending["pending"]:
            oldest = str(pending["min"])
        else:
            ms, seq = entry_order(str(group["last-delivered-id"]))
            oldest = f"{ms}-{seq + 1}"
        await redis.xtrim(self.stream, minid=oldest, approximate=False)

    @round_trip("redis")
    async def backlog(self, redis: Redis) -> tuple[int, float | None]:
        """(entries, seconds since the oldest was queued); an entry's stream id starts with its time in ms."""
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self.stream)
            pipe.xrange(self.stream, count=1)
            size, first = await pipe.execute()
        if not first:
            return int(size), None
        entry_id = first[0][0]
        millis = entry_order(entry_id.decode() if isinstance(entry_id, bytes) else entry_id)[0]
        return int(size), max(0.0, time.time() - millis / 1000)

    @round_trip("redis")
    async def dead_letters(self, redis: Redis) -> list[DeadLetter]:
        """The dead-lettered jobs, oldest first."""
        rows: Any = await redis.xrange(self.dead)
        return [
            DeadLetter(
                outbox=self.name, entry_id=entry_id, fields={k: v for k, v in f.items() if k not in LETTER_FIELDS},
                attempts=int(f.get("attempts") or 0), error=str(f.get("error", "")),
                failed_at=str(f.get("failed_at", "")),
            )
            for entry_id, f in rows
        ]

    async def retry(self, redis: Redis, *, call_ids: Collection[str] | None = None) -> list[DeadLetter]:
        """Puts dead-lettered jobs (all, or those of `call_ids`) back on the outbox; returns those moved."""
        moved = []
        for letter in await self.dead_letters(redis):
            if call_ids is not None and letter.call_id not in call_ids:
                continue
            async with redis.pipeline(transaction=True) as pipe:
                pipe.xadd(self.stream, dict(letter.fields))  # type: ignore[arg-type]  # str fields
                pipe.xdel(self.dead, letter.entry_id)
                await pipe.execute()
            moved.append(letter)
        return moved


class Worker:
    """One replica's worker on an outbox: `deliver` a job (None, or why it did not land); `settle` it once
    landed (by default: acknowledged). `fresh` False leaves a new entry to its writer, which delivers it itself,
    for `retry_after` before a worker takes it on."""

    fresh = True

    def __init__(self, outbox: Outbox, redis: Redis, *, consumer: str, wakeup: asyncio.Event,
                 retry_after: float, poll: float, max_attempts: int) -> None:
        self.outbox = outbox
        self.redis = redis
        self.consumer = consumer
        self.wakeup = wakeup
        self.retry_after = retry_after
        self.poll = poll
        self.max_attempts = max_attempts
        self._task: asyncio.Task[None] | None = None

    async def deliver(self, fields: dict[str, str]) -> str | None:
        raise NotImplementedError

    def sequence(self, fields: dict[str, str]) -> str | None:
        """Entries of one sequence are delivered in order (None: no order to keep)."""
        return None

    async def settle(self, entry_id: str, fields: dict[str, str]) -> None:
        await self.redis.xack(self.outbox.stream, self.outbox.group, entry_id)

    async def start(self) -> None:
        await self.outbox.create_group(self.redis)
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
                log.warning("%s outbox pass failed", self.outbox.name, exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.poll)
            self.wakeup.clear()

    async def run_once(self) -> int:
        """Delivers what is due (new entries, then those another pass or process left pending too long), in
        stream order. Returns how many landed."""
        entries = await self.outbox.take(self.redis, self.consumer, retry_after=self.retry_after, fresh=self.fresh)
        done = 0
        held: set[str] = set()
        for entry_id, fields in entries:
            sequence = self.sequence(fields)
            if sequence is not None and sequence in held:
                continue  # an earlier entry of its sequence did not land: it waits for its turn
            error = await self.deliver(fields)
            if error is None:
                await self.settle(entry_id, fields)
                done += 1
                continue
            if sequence is not None:
                held.add(sequence)
            attempts = await self.outbox.attempts(self.redis, entry_id)
            if attempts is not None and attempts >= self.max_attempts:
                log.error("%s outbox job %s gave up after %d attempts, dead-lettered: %s", self.outbox.name,
                          fields, attempts, error)
                await self.outbox.give_up(self.redis, entry_id, fields, attempts=attempts, error=error)
                if sequence is not None:
                    held.discard(sequence)  # given up on: the sequence goes on without it
        if entries:
            await self.outbox.trim(self.redis)
        return done


# the outboxes, by the name `switchboard outbox` and the metrics give them
ARCHIVE = Outbox("archive", keys.archive_outbox(), keys.archive_dead_letter(), "archivers")
COMMANDS = Outbox("commands", keys.command_outbox(), keys.command_dead_letter(), "senders")
OUTBOXES = {o.name: o for o in (ARCHIVE, COMMANDS)}
