"""One Redis reader per process, fanning stream entries out to local subscribers through bounded queues.

A subscriber names a stream and a cursor. It first gets every entry after the cursor (a replay read from the
stream itself), then the live ones, with no gap and no duplicate: registration and the broker's own reads of
that stream hold the same lock, and each subscriber only takes entries past the last one it was given.
Wake-ups come from a pattern subscription on the accounts' notify channels; a periodic sweep covers any
notification lost while the reader reconnects. A subscriber that falls `max_queue` entries behind is closed
with `Overflow` rather than buffered without limit. A cursor older than the oldest entry the stream still holds
(the stream is capped, and an archived call's stream expires) fails with `CursorExpired` rather than skipping
the events that are gone.

A stream's state lives while anyone holds it, counting subscribers still registering: taking it (or making it)
and letting it go happen without an await in between, so a subscriber never registers into a state that has
already been dropped, and a departing subscriber drops only its own state, never a newer one of the same key.
An entry the broker cannot read (no `event` field, not a JSON object) is logged and skipped; it is delivered to
no one and the entries after it still arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from datasources.redis import keys

log = logging.getLogger(__name__)

type StreamId = tuple[int, int]


def parse_id(value: str) -> StreamId:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def valid_cursor(value: str) -> bool:
    ms, sep, seq = value.partition("-")
    return ms.isdigit() and (not sep or seq.isdigit())


@dataclass(frozen=True)
class Entry:
    """One stream entry, decoded once and handed to every local subscriber of its stream as the same object.

    `memo` holds what the consumers derive from it (resolvers/calls/subscriptions.py), so that work too is done
    once per entry rather than once per subscriber; it lives as long as the entry, which no one keeps."""

    cursor: str
    event: dict[str, Any]
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


class Overflow(Exception):
    """The subscriber fell too far behind; it may resubscribe with its last cursor and miss nothing."""


class CursorExpired(Exception):
    """Events after the cursor were trimmed or expired: the subscriber must re-read the state and start afresh."""


class Stop:
    """Ends the subscriptions that were given it, at once and all together (`stop`): each one's iteration
    returns as soon as it runs again, whether it is replaying or waiting for a live entry. One per principal
    (resolvers/streams.py) ends every subscription of a session that has ended, with no timer of their own."""

    __slots__ = ("_ends", "stopped")

    def __init__(self) -> None:
        self.stopped = False
        self._ends: set[Callable[[], None]] = set()

    def add(self, end: Callable[[], None]) -> None:
        if self.stopped:
            end()
        else:
            self._ends.add(end)

    def discard(self, end: Callable[[], None]) -> None:
        self._ends.discard(end)

    def stop(self) -> None:
        self.stopped = True
        ends, self._ends = self._ends, set()
        for end in ends:
            end()


class _Mailbox:
    """A subscriber's queue: a list and, only while the subscriber waits, one future. asyncio.Queue keeps four
    deques (about 3 KB) per subscriber, most of what a waiting subscriber cost the broker; the bound is the
    broker's (`max_queue`, checked before each put)."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[Entry | None] = []
        self.waiter: asyncio.Future[None] | None = None

    def put(self, item: Entry | None) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def end(self) -> None:
        self.put(None)

    async def get(self) -> Entry | None:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None  # cancelled or woken: nothing taken, nothing lost
        return self.items.pop(0)


@dataclass(eq=False, slots=True)
class _Subscriber:
    queue: _Mailbox
    last: StreamId
    overflowed: bool = False


@dataclass(eq=False)
class _Stream:
    last: StreamId | None = None  # the newest entry read for the subscribers; None until the first registers
    subscribers: set[_Subscriber] = field(default_factory=set)
    holders: int = 0  # subscribers registered or registering: the state is dropped when this reaches 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StreamBroker:
    def __init__(self, redis: Redis, *, max_queue: int = 1000, sweep_seconds: float = 1.0, batch: int = 500) -> None:
        self.redis = redis
        self.max_queue = max_queue
        self.sweep_seconds = sweep_seconds
        self.batch = batch
        self._streams: dict[str, _Stream] = {}
        self._by_account: dict[int, set[str]] = defaultdict(set)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._sweep())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for stream in self._streams.values():
            for sub in stream.subscribers:
                sub.queue.put(None)  # ends the subscription cleanly

    @property
    def subscriber_count(self) -> int:
        return sum(len(s.subscribers) for s in self._streams.values())

    async def subscribe(
        self, account_id: int, stream_key: str, after: str | None, stop: Stop | None = None
    ) -> AsyncGenerator[Entry]:
        """Entries of `stream_key` after `after` (or from now on when None), then live, until cancelled or `stop`.

        The replay pages through the stream straight to the caller, at the caller's pace, so a long history does
        not count against the live queue; only the tail that arrives while it joins the live readers is queued.
        """
        stream = self._hold(stream_key)
        sub = _Subscriber(_Mailbox(), (0, 0))
        end = sub.queue.end
        if stop is not None:
            stop.add(end)
        try:
            if after is not None:
                sub.last = parse_id(after)
                await self._check_retained(stream_key, sub.last, after)
                start = f"({after}"
                while True:
                    rows = await self._range(stream_key, start)
                    for entry_id, fields in rows:
                        entry = self._decode(stream_key, entry_id, fields)
                        sub.last = parse_id(entry_id)  # past a malformed entry too
                        if stop is not None and stop.stopped:
                            return
                        if entry is not None:
                            yield entry
                    if len(rows) < self.batch:
                        break
                    start = f"({rows[-1][0]}"
            async with stream.lock:
                if after is None:
                    newest: Any = await self.redis.xrevrange(stream_key, count=1)
                    sub.last = parse_id(newest[0][0]) if newest else (0, 0)
                else:
                    # what arrived while the replay ran, read under the lock the live reader takes: no gap
                    start = "(" + "-".join(map(str, sub.last))
                    while True:
                        rows = await self._range(stream_key, start)
                        for entry_id, fields in rows:
                            entry = self._decode(stream_key, entry_id, fields)
                            if entry is not None:
                                self._deliver(sub, entry)
                            else:
                                sub.last = max(sub.last, parse_id(entry_id))
                        if len(rows) < self.batch:
                            break
                        start = f"({rows[-1][0]}"
                if not stream.subscribers or stream.last is None:
                    stream.last = sub.last
                else:
                    # never past what the others were given: entries they still lack may lie in between, and
                    # each subscriber skips what it already has
                    stream.last = min(stream.last, sub.last)
                stream.subscribers.add(sub)
                self._by_account[account_id].add(stream_key)
            while True:
                item = await sub.queue.get()
                if item is None:
                    if sub.overflowed:
                        raise Overflow(
                            f"subscriber fell more than {self.max_queue} events behind; "
                            f"resubscribe with after: {'-'.join(map(str, sub.last))} to miss nothing"
                        )
                    return
                yield item
        finally:
            if stop is not None:
                stop.discard(end)
            stream.subscribers.discard(sub)
            self._release(account_id, stream_key, stream)

    def _hold(self, stream_key: str) -> _Stream:
        stream = self._streams.get(stream_key)
        if stream is None:
            stream = self._streams[stream_key] = _Stream()
        stream.holders += 1
        return stream

    def _release(self, account_id: int, stream_key: str, stream: _Stream) -> None:
        stream.holders -= 1
        if stream.holders > 0 or self._streams.get(stream_key) is not stream:
            return
        del self._streams[stream_key]
        keys_of_account = self._by_account.get(account_id)
        if keys_of_account is not None:
            keys_of_account.discard(stream_key)
            if not keys_of_account:
                del self._by_account[account_id]

    async def _check_retained(self, stream_key: str, cursor: StreamId, after: str) -> None:
        """Raises CursorExpired when entries past `cursor` are gone from the stream (or the stream is)."""
        if cursor == (0, 0):
            return  # "from the beginning": whatever the stream still holds
        try:
            info: Any = await self.redis.xinfo_stream(stream_key)
        except ResponseError as exc:
            if "no such key" not in str(exc).lower():
                raise
            info = None
        if info is None:
            gone = True  # a stream that existed (a cursor came from it) and has expired
        elif int(info["length"]) == int(info["entries-added"]):
            gone = False  # nothing was ever trimmed: every entry past any cursor is still here
        elif info["first-entry"]:
            gone = cursor < parse_id(info["first-entry"][0])
        else:
            gone = cursor < parse_id(info["last-generated-id"])
        if gone:
            raise CursorExpired(
                f"the events after cursor {after} are no longer kept (the stream is capped, and an ended call's "
                "events expire once it is archived); re-read the current state with Query.call or "
                "Query.activeCalls, then subscribe again without `after`"
            )

    async def _range(self, stream_key: str, start: str) -> list[tuple[str, dict[str, Any]]]:
        # the client decodes responses, so ids and fields are str
        rows: Any = await self.redis.xrange(stream_key, min=start, count=self.batch)
        return list(rows)

    def _decode(self, stream_key: str, entry_id: str, fields: dict[str, Any]) -> Entry | None:
        """The entry as subscribers get it, decoded once for all of them; None (logged) when it is malformed."""
        try:
            event = orjson.loads(fields["event"])
        except (KeyError, TypeError, orjson.JSONDecodeError) as exc:
            event, reason = None, f"{type(exc).__name__}: {exc}"
        else:
            reason = f"event is a JSON {type(event).__name__}, not an object"
        if not isinstance(event, dict):
            log.warning("skipping malformed entry %s of %s (%s)", entry_id, stream_key, reason)
            return None
        return Entry(entry_id, event)

    def _deliver(self, sub: _Subscriber, entry: Entry, position: StreamId | None = None) -> None:
        if position is None:
            position = parse_id(entry.cursor)
        if sub.overflowed or position <= sub.last:
            return
        if len(sub.queue.items) >= self.max_queue - 1:
            sub.overflowed = True
            sub.queue.put(None)
            return
        sub.queue.put(entry)
        sub.last = position

    async def _pull(self, stream_key: str) -> None:
        stream = self._streams.get(stream_key)
        if stream is None or stream.last is None:
            return
        async with stream.lock:
            while stream.subscribers:
                start = "(" + "-".join(map(str, stream.last))
                rows = await self._range(stream_key, start)
                for entry_id, fields in rows:
                    entry = self._decode(stream_key, entry_id, fields)
                    position = parse_id(entry_id)  # once for all the subscribers
                    if entry is not None:
                        for sub in list(stream.subscribers):
                            self._deliver(sub, entry, position)
                    stream.last = position  # past a malformed entry too, so it cannot wedge the reader
                if len(rows) < self.batch:
                    break

    async def _pull_account(self, account_id: int) -> None:
        for stream_key in list(self._by_account.get(account_id, ())):
            await self._pull(stream_key)

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.psubscribe(keys.notify_pattern())
                    # a reconnect may have missed wake-ups: read everything once
                    await self._pull_all()
                    async for message in pubsub.listen():
                        if message["type"] != "pmessage":
                            continue
                        account_id = keys.account_of_channel(message["channel"])
                        if account_id is not None:
                            await self._pull_account(account_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("event reader lost Redis; reconnecting", exc_info=True)
                await asyncio.sleep(0.5)

    async def _pull_all(self) -> None:
        for stream_key in list(self._streams):
            await self._pull(stream_key)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            try:
                await self._pull_all()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("event sweep failed", exc_info=True)
