"""The stream broker's bookkeeping under racing subscribers, and entries it cannot read, against a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from datasources.calls import store
from datasources.calls.broker import CursorExpired, Entry, StreamBroker
from datasources.calls.store import Change, Json
from datasources.redis import keys, open_redis


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = open_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def broker(redis_url: str) -> AsyncIterator[StreamBroker]:
    broker = StreamBroker(open_redis(redis_url), sweep_seconds=0.2)
    await broker.start()
    yield broker
    await broker.close()
    await broker.redis.aclose()


def counted(kind: str) -> Callable[[Json | None], Change]:
    def decide(call: Json | None) -> Change:
        n = (call or {"n": 0})["n"] + 1
        return Change(call={"n": n}, entry={"type": kind, "n": n}, active=True)

    return decide


async def write(redis: Redis, account: int, kind: str = "x") -> None:
    await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=counted(kind))


async def take(stream: AsyncIterator[Entry], n: int) -> list[Entry]:
    """The first `n` entries; then the subscription ends, as a client's would."""
    assert isinstance(stream, AsyncGenerator)
    out: list[Entry] = []
    async with contextlib.aclosing(stream):
        async for entry in stream:
            out.append(entry)
            if len(out) == n:
                break
    return out


async def until(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.005)


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Gate:
    """Holds the next registration of a subscriber (after=None) inside its Redis read, until opened."""

    def __init__(self, broker: StreamBroker, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()
        self.armed = False
        self.reads_done = 0
        real: Callable[..., Awaitable[Any]] = broker.redis.xrevrange

        async def xrevrange(*args: Any, **kwargs: Any) -> Any:
            if self.armed:
                self.armed = False
                self.entered.set()
                await self.opened.wait()
            try:
                return await real(*args, **kwargs)
            finally:
                self.reads_done += 1

        monkeypatch.setattr(broker.redis, "xrevrange", xrevrange)


async def test_a_subscriber_registering_as_the_last_one_leaves_still_gets_live_events(
    redis: Redis, broker: StreamBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A is the stream's only subscriber; B starts registering; A leaves before B is in: B is still fed."""
    account = random.randint(1, 2**40)
    key = keys.account_stream(account)
    gate = Gate(broker, monkeypatch)
    first = asyncio.create_task(take(broker.subscribe(account, key, after=None), 1))
    await until(lambda: broker.subscriber_count == 1)

    gate.armed = True
    second = asyncio.create_task(take(broker.subscribe(account, key, after=None), 1))
    await gate.entered.wait()  # B holds the stream's state, mid-registration
    await stop(first)  # A, the last registered subscriber, leaves
    reads = gate.reads_done
    gate.opened.set()
    await until(lambda: gate.reads_done > reads)

    await write(redis, account, "live")
    got = await asyncio.wait_for(second, 3)
    assert [e.event["type"] for e in got] == ["live"]
    assert broker.subscriber_count == 0


async def test_leaving_a_stream_never_removes_a_newer_subscriber(
    redis: Redis, broker: StreamBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above, then C subscribes and B leaves: C keeps getting live events (B's leaving must not drop C)."""
    account = random.randint(1, 2**40)
    key = keys.account_stream(account)
    gate = Gate(broker, monkeypatch)
    first = asyncio.create_task(take(broker.subscribe(account, key, after=None), 1))
    await until(lambda: broker.subscriber_count == 1)

    gate.armed = True
    second = asyncio.create_task(take(broker.subscribe(account, key, after=None), 1))
    await gate.entered.wait()
    await stop(first)
    third = asyncio.create_task(take(broker.subscribe(account, key, after=None), 2))
    reads = gate.reads_done
    gate.opened.set()
    await until(lambda: gate.reads_done >= reads + 2)  # B and C both registered
    await asyncio.sleep(0.01)
    await stop(second)  # B leaves

    await write(redis, account, "one")
    await write(redis, account, "two")
    got = await asyncio.wait_for(third, 3)
    assert [e.event["type"] for e in got] == ["one", "two"]


@pytest.mark.parametrize("round_", range(10))  # each round hits the race about one time in three
async def test_many_racing_subscribers_all_get_live_events(redis: Redis, broker: StreamBroker, round_: int) -> None:
    """Subscribers come and go on one stream while others join; every one that stays gets the next event."""
    account = random.randint(1, 2**40)
    key = keys.account_stream(account)
    stayers: list[asyncio.Task[list[Entry]]] = []

    async def churn() -> None:
        for _ in range(30):
            task = asyncio.create_task(take(broker.subscribe(account, key, after=None), 1))
            await asyncio.sleep(random.random() * 0.004)
            await stop(task)

    async def join() -> None:
        for _ in range(10):
            await asyncio.sleep(random.random() * 0.01)
            stayers.append(asyncio.create_task(take(broker.subscribe(account, key, after=None), 1)))

    await asyncio.gather(*(churn() for _ in range(10)), join())
    await until(lambda: broker.subscriber_count == len(stayers))
    await write(redis, account, "after-churn")
    for got in await asyncio.wait_for(asyncio.gather(*stayers), 3):
        assert [e.event["type"] for e in got] == ["after-churn"]
    assert broker.subscriber_count == 0


async def test_a_new_subscriber_does_not_skip_entries_an_older_one_has_not_been_given(
    redis: Redis, redis_url: str
) -> None:
    """Entries land but the broker has not read them yet (the wake-up is in flight) when B registers: A gets them."""
    account = random.randint(1, 2**40)
    key = keys.account_stream(account)
    broker = StreamBroker(open_redis(redis_url), sweep_seconds=3600)
    await broker.start()
    try:
        first = asyncio.create_task(take(broker.subscribe(account, key, after=None), 3))
        await until(lambda: broker.subscriber_count == 1)
        # appended without the wake-up, as if its notification had not reached the broker yet
        await redis.xadd(key, {"event": '{"type": "quiet-1"}'})
        await redis.xadd(key, {"event": '{"type": "quiet-2"}'})
        second = asyncio.create_task(take(broker.subscribe(account, key, after=None), 1))
        await until(lambda: broker.subscriber_count == 2)
        await write(redis, account, "loud")
        assert [e.event["type"] for e in await asyncio.wait_for(first, 3)] == ["quiet-1", "quiet-2", "loud"]
        assert [e.event["type"] for e in await asyncio.wait_for(second, 3)] == ["loud"]
    finally:
        await broker.close()
        await broker.redis.aclose()


MALFORMED: list[dict[Any, Any]] = [
    {"other": "no event field"},
    {"event": "{not json"},
    {"event": "[1, 2, 3]"},
    {"event": '"a string"'},
]


async def test_a_malformed_entry_is_skipped_and_the_following_ones_still_arrive(
    redis: Redis, broker: StreamBroker, caplog: pytest.LogCaptureFixture
) -> None:
    account = random.randint(1, 2**40)
    key = keys.account_stream(account)
    live = asyncio.create_task(take(broker.subscribe(account, key, after=None), 3))
    await until(lambda: broker.subscriber_count == 1)
    caplog.set_level(logging.WARNING, logger="datasources.calls.broker")

    await write(redis, account, "before")
    bad_ids = [str(await redis.xadd(key, fields)) for fields in MALFORMED]
    await write(redis, account, "after")
    await write(redis, account, "later")

    got = await asyncio.wait_for(live, 3)
    assert [e.event["type"] for e in got] == ["before", "after", "later"]
    assert not set(bad_ids) & {e.cursor for e in got}
    skipped = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    for bad in bad_ids:
        assert any(bad in message for message in skipped)

    # a replay across the same entries skips them too
    replay = await asyncio.wait_for(take(broker.subscribe(account, key, after="0"), 3), 3)
    assert [e.event["type"] for e in replay] == ["before", "after", "later"]
    # and the reader still follows live
    more = asyncio.create_task(take(broker.subscribe(account, key, after=None), 1))
    await until(lambda: broker.subscriber_count == 1)
    await write(redis, account, "still-live")
    assert [e.event["type"] for e in await asyncio.wait_for(more, 3)] == ["still-live"]


async def _entries(redis: Redis, key: str, n: int) -> list[str]:
    return [str(await redis.xadd(key, {"event": f'{{"type": "e{i}"}}'})) for i in range(n)]


async def test_a_cursor_older_than_the_retained_stream_is_refused(redis: Redis, broker: StreamBroker) -> None:
    account = random.randint(1, 2**40)
    key = keys.account_stream(account)
    ids = await _entries(redis, key, 5)
    await redis.xtrim(key, maxlen=2, approximate=False)  # as MAXLEN caps the account stream
    for trimmed in ids[:3]:  # which entries were trimmed is not kept: any cursor before the oldest kept is refused
        with pytest.raises(CursorExpired, match=rf"after cursor {trimmed} .*subscribe again without `after`"):
            await take(broker.subscribe(account, key, after=trimmed), 1)
    # the oldest retained entry, or any later one, misses nothing
    assert [e.cursor for e in await asyncio.wait_for(take(broker.subscribe(account, key, after=ids[3]), 1), 3)] \
        == ids[4:]
    # "0" means whatever the stream still holds
    assert [e.cursor for e in await asyncio.wait_for(take(broker.subscribe(account, key, after="0"), 2), 3)] \
        == ids[3:]
    assert broker.subscriber_count == 0


async def test_a_cursor_into_a_stream_that_has_expired_is_refused(redis: Redis, broker: StreamBroker) -> None:
    account = random.randint(1, 2**40)
    key = keys.call_stream(account, "gone")
    [only] = await _entries(redis, key, 1)
    await redis.delete(key)  # as the TTL of an archived call's stream does
    with pytest.raises(CursorExpired):
        await take(broker.subscribe(account, key, after=only), 1)
    # from the beginning, or from now on, is no error: the subscriber just waits
    for after in ("0", None):
        waiting = asyncio.create_task(take(broker.subscribe(account, key, after=after), 1))
        await until(lambda: broker.subscriber_count == 1)
        await stop(waiting)
        await until(lambda: broker.subscriber_count == 0)


async def test_an_old_cursor_into_an_untrimmed_stream_replays_it_all(redis: Redis, broker: StreamBroker) -> None:
    account = random.randint(1, 2**40)
    key = keys.account_stream(account)
    ids = await _entries(redis, key, 2)
    assert [e.cursor for e in await asyncio.wait_for(take(broker.subscribe(account, key, after="1-0"), 2), 3)] \
        == ids
