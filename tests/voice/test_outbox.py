"""The archive worker's bookkeeping against a Redis of its own: TTLs on archived calls, trimming, the dead letter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import pytest
from redis.asyncio import Redis

import voice.outbox
from datasources.calls.codec import dump_call
from datasources.calls.logs import member
from datasources.calls.model import Call, LogLine, transcript_of
from datasources.redis import keys, open_redis
from datasources.stores import Stores
from ops.embedded.process import ChildServer
from ops.embedded.redis import start_redis
from voice.outbox import GROUP, ArchiveWorker, dead_letters, retry_dead_letters

ACCOUNT = 7


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    """The outbox key is global: a server of its own keeps the suite's app workers off these entries."""
    server = start_redis(tmp_path_factory.mktemp("outbox-redis"), persist=False)
    yield server
    server.stop()


@pytest.fixture
async def redis(own_redis: ChildServer) -> AsyncIterator[Redis]:
    client = open_redis(own_redis.url)
    await client.flushdb()
    await client.xgroup_create(keys.archive_outbox(), GROUP, id="0", mkstream=True)
    yield client
    await client.aclose()


@pytest.fixture
def archived(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stands in for the stores: a call whose id starts with `bad` fails to archive."""
    done: list[str] = []

    async def archive(stores: Stores, call: Call, events: list[dict[str, Any]], said: list[LogLine]) -> None:
        if call.id.startswith("bad"):
            raise ConnectionError("mongodb is down")
        assert transcript_of(said, ()) == [f"lead: {call.id} said"]  # the call's transcript log goes with it
        done.append(call.id)

    monkeypatch.setattr(voice.outbox, "archive", archive)
    return done


async def ended(redis: Redis, call_id: str) -> str:
    await redis.set(keys.call_state(ACCOUNT, call_id), orjson.dumps(dump_call(Call(id=call_id, account_id=ACCOUNT))))
    await redis.xadd(keys.call_stream(ACCOUNT, call_id),
                     {"event": orjson.dumps({"type": "call.hangup", "event_id": "e", "occurred_at": "now"})})
    line = LogLine(datetime(2026, 11, 29, tzinfo=UTC), "t1", f"lead: {call_id} said")
    await redis.zadd(keys.call_transcript(ACCOUNT, call_id), {member(line): 0})
    return str(await redis.xadd(keys.archive_outbox(), {"account_id": str(ACCOUNT), "call_id": call_id}))


async def outbox(redis: Redis) -> list[tuple[str, dict[str, str]]]:
    rows: Any = await redis.xrange(keys.archive_outbox())  # the client decodes responses: ids and fields are str
    return list(rows)


def worker(redis: Redis) -> ArchiveWorker:
    stores = cast(Stores, type("S", (), {"redis": redis})())
    return ArchiveWorker(stores, consumer="t", wakeup=asyncio.Event(), retry_after=0.01, retention=600,
                         max_attempts=2)


async def test_archived_calls_expire_and_the_outbox_keeps_only_what_is_unacknowledged(
    redis: Redis, archived: list[str]
) -> None:
    await ended(redis, "good-1")
    bad = await ended(redis, "bad-1")
    good = await ended(redis, "good-2")
    w = worker(redis)

    assert await w.run_once() == 2
    assert archived == ["good-1", "good-2"]
    for call_id in archived:
        assert 0 < await redis.ttl(keys.call_state(ACCOUNT, call_id)) <= 600
        assert 0 < await redis.ttl(keys.call_stream(ACCOUNT, call_id)) <= 600
        assert 0 < await redis.ttl(keys.call_transcript(ACCOUNT, call_id)) <= 600
    assert await redis.ttl(keys.call_state(ACCOUNT, "bad-1")) == -1  # not archived: kept
    # trimmed up to the oldest pending entry: the acknowledged one after it waits for the trim past it
    assert [i for i, _ in await outbox(redis)] == [bad, good]

    await asyncio.sleep(0.02)
    assert await w.run_once() == 0  # the second attempt fails too: dead-lettered, acknowledged, trimmed
    assert await redis.xlen(keys.archive_outbox()) == 0
    [letter] = await dead_letters(redis)
    assert (letter.call_id, letter.account_id, letter.attempts) == ("bad-1", ACCOUNT, 2)
    assert "mongodb is down" in letter.error and letter.failed_at
    [group] = cast(list[dict[str, Any]], await redis.xinfo_groups(keys.archive_outbox()))
    assert group["pending"] == 0 and group["lag"] == 0

    # retried: back on the outbox as a new entry, off the dead letter
    assert await retry_dead_letters(redis, call_ids={"other"}) == []
    assert [m.call_id for m in await retry_dead_letters(redis)] == ["bad-1"]
    assert await dead_letters(redis) == []
    [(_, fields)] = await outbox(redis)
    assert fields == {"account_id": str(ACCOUNT), "call_id": "bad-1"}


async def test_an_entry_read_but_not_yet_settled_is_never_trimmed(redis: Redis, archived: list[str]) -> None:
    first = await ended(redis, "good-a")
    w = worker(redis)
    # another process has read an entry and is still archiving it
    fresh: Any = await redis.xreadgroup(GROUP, "other", {keys.archive_outbox(): ">"}, count=1)
    assert fresh[0][1][0][0] == first
    later = await ended(redis, "good-b")
    assert await w.run_once() == 1
    assert [i for i, _ in await outbox(redis)] == [first, later]
