"""Call state and event streams against a real Redis."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from datasources.calls import logs, store
from datasources.calls.broker import Entry, Overflow, StreamBroker, parse_id
from datasources.calls.model import LogLine, dtmf_of, transcript_of
from datasources.calls.store import Change, Json
from datasources.redis import backup as redis_backup
from datasources.redis import keys, open_redis


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = open_redis(redis_url)
    yield client
    await client.aclose()


def bump(kind: str) -> Callable[[Json | None], Change]:
    def decide(call: Json | None) -> Change:
        count = (call or {"n": 0})["n"] + 1
        return Change(call={"n": count}, entry={"type": kind, "n": count}, active=True)

    return decide


async def test_concurrent_updates_of_one_call_all_land(redis_url: str, redis: Redis) -> None:
    """Four clients (as four replicas would) race on one call: optimistic retries lose no update."""
    account = random.randint(1, 2**40)
    clients = [open_redis(redis_url) for _ in range(4)]
    try:
        await asyncio.gather(
            *(
                store.transact(clients[i % 4], account_id=account, call_id="c1", event_id=f"e{account}-{i}",
                               decide=bump("x"))
                for i in range(40)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    [call] = await store.calls_by_ids(redis, account_id=account, ids=["c1"])
    assert call == {"n": 40}
    assert await redis.xlen(keys.call_stream(account, "c1")) == 40
    assert await redis.xlen(keys.account_stream(account)) == 40


async def test_a_duplicate_event_id_changes_nothing(redis: Redis) -> None:
    account = random.randint(1, 2**40)
    first = await store.transact(redis, account_id=account, call_id="c", event_id=f"dup{account}", decide=bump("a"))
    again = await store.transact(redis, account_id=account, call_id="c", event_id=f"dup{account}", decide=bump("a"))
    assert first is not None and again is None
    assert await redis.xlen(keys.call_stream(account, "c")) == 1
    assert await store.active_call_ids(redis, account_id=account) == ["c"]


async def test_changes_of_one_turn_share_its_pipeline_and_each_gets_its_own_answer(
    redis: Redis, batches: list[int]
) -> None:
    """Thirty calls' events at once (as concurrent webhooks): their reads go as one pipeline, their writes as
    another, and each change lands on its own call with its own cursors; a duplicate among them is its own."""
    account = random.randint(1, 2**40)
    await store.transact(redis, account_id=account, call_id="c0", event_id=f"e{account}-0", decide=bump("first"))
    batches.clear()
    done = await asyncio.gather(*(store.transact(redis, account_id=account, call_id=f"c{i}",
                                                 event_id=f"e{account}-{i}", decide=bump(f"k{i}"))
                                  for i in range(30)))
    assert done[0] is None  # the duplicate
    assert batches[:2] == [30, 29]  # the reads, then the writes of the 29 new events
    assert all(a is not None and a.call == {"n": 1} for a in done[1:])
    cursors = [a.call_cursor for a in done[1:] if a is not None]
    for i, cursor in enumerate(cursors, start=1):
        found: Any = await redis.xrange(keys.call_stream(account, f"c{i}"))
        [(entry_id, fields)] = found
        assert entry_id == cursor and orjson.loads(fields["event"]) == {"type": f"k{i}", "n": 1}
    assert len({a.account_cursor for a in done[1:] if a is not None}) == 29


async def test_a_claim_taken_between_the_read_and_the_write_fails_the_write_and_the_change_is_decided_again(
    redis_url: str, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write checks the claims' holders as it checks the call: a claim another call took after they were
    read leaves nothing written, and deciding again finds it taken."""
    account = random.randint(1, 2**40)
    claim = keys.closer_claim(account, 7)
    attempts: list[int] = []

    def take(current: Json | None) -> Change:
        attempts.append(1)
        return Change({"n": 1}, {"type": "t"}, active=True, claims=(store.Claim(claim, "take", 30),))

    real_holders = store._holders

    async def raced(lane: Any, claims: Any, call_id: str) -> list[str | None]:
        holders = await real_holders(lane, claims, call_id)
        with SyncRedis.from_url(redis_url) as other:  # another replica's call takes the closer meanwhile
            other.set(claim, "other", ex=60)
        return holders

    monkeypatch.setattr(store, "_holders", raced)
    with pytest.raises(store.ClaimTaken):
        await store.transact(redis, account_id=account, call_id="c", event_id=f"e{account}", decide=take)
    assert len(attempts) == 2
    assert await redis.get(claim) == "other"
    assert await store.calls_by_ids(redis, account_id=account, ids=["c"]) == [None]
    assert await redis.get(keys.webhook_seen(f"e{account}")) is None
    assert await redis.xlen(keys.call_stream(account, "c")) == 0


def lead_call(lead_id: str, *, active: bool, presses: tuple[int, ...] = ()) -> Callable[[Json | None], Change]:
    """A change of a call of `lead_id`; `presses` are DTMF events by their second (the digit pressed is n % 10)."""
    at = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    lines = tuple(LogLine(at + timedelta(seconds=n), f"d{n}", str(n % 10)) for n in presses)
    return lambda call: Change(call={"lead_id": lead_id}, entry={"type": "x"}, active=active, dtmf=lines)


async def test_the_lead_index_moves_with_the_active_set(redis: Redis) -> None:
    """The lead -> live call index is written in the script that keeps the active set: never out of step."""
    account = random.randint(1, 2**40)
    for call_id in ("c1", "c2"):
        await store.transact(redis, account_id=account, call_id=call_id, event_id=None,
                             decide=lead_call("lead-a", active=True))
    await store.transact(redis, account_id=account, call_id="c3", event_id=None,
                         decide=lead_call("lead-b", active=True))
    found = await store.live_call_ids_of_leads(redis, account_id=account, lead_ids=["lead-a", "lead-b", "lead-c"])
    assert found == [["c1", "c2"], ["c3"], []]
    await store.transact(redis, account_id=account, call_id="c1", event_id=None,
                         decide=lead_call("lead-a", active=False))
    found = await store.live_call_ids_of_leads(redis, account_id=account, lead_ids=["lead-a"])
    assert found == [["c2"]] and await store.active_call_ids(redis, account_id=account) == ["c2", "c3"]


async def test_the_dtmf_log_is_a_set_read_in_order(redis: Redis) -> None:
    """Digits added twice, or out of order, read back once each in time order; the call's JSON holds none."""
    account = random.randint(1, 2**40)
    for presses in ((1, 3), (3, 2, 1), (2,)):
        await store.transact(redis, account_id=account, call_id="c", event_id=None,
                             decide=lead_call("lead-a", active=True, presses=presses))
    [lines, none] = await logs.dtmf_logs(redis, account_id=account, call_ids=["c", "other"])
    assert dtmf_of(lines) == "123" and [line.value for line in lines] == ["1", "2", "3"] and none == []
    assert await redis.get(keys.call_state(account, "c")) == '{"lead_id":"lead-a"}'


def said(*seconds: int, call: Json | None = None) -> Callable[[Json | None], Change]:
    """A change that adds transcription lines by their second ("lead: line n"), and writes `call` (else n + 1)."""
    at = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    lines = tuple(LogLine(at + timedelta(seconds=n), f"t{n}", f"lead: line {n}") for n in seconds)
    return lambda current: Change(call=call if call is not None else {"n": (current or {"n": 0})["n"] + 1},
                                  entry={"type": "call.transcription"}, active=True, transcript=lines)


async def transcript(redis: Redis, account: int, call_id: str = "c") -> list[str]:
    [lines] = await logs.transcript_logs(redis, account_id=account, call_ids=[call_id])
    return transcript_of(lines, ())


async def test_the_transcript_log_is_written_in_the_calls_transaction(redis_url: str, redis: Redis) -> None:
    """A transaction that loses its race writes none of its lines; the retry writes its own, with the call. A
    duplicate event adds no line. The call's JSON holds no line."""
    account = random.randint(1, 2**40)
    attempts: list[int] = []

    def racing(current: Json | None) -> Change:
        attempts.append(1)
        if len(attempts) == 1:  # another replica writes the call between our read and our write
            with SyncRedis.from_url(redis_url) as other:
                other.set(keys.call_state(account, "c"), '{"n": 10}')
        return said(len(attempts))(current)

    done = await store.transact(redis, account_id=account, call_id="c", event_id=f"e{account}", decide=racing)
    assert done is not None and len(attempts) == 2
    assert await transcript(redis, account) == ["lead: line 2"]
    assert await redis.get(keys.call_state(account, "c")) == '{"n":11}'
    again = await store.transact(redis, account_id=account, call_id="c", event_id=f"e{account}", decide=said(9))
    assert again is None and await transcript(redis, account) == ["lead: line 2"]


async def test_the_transcript_log_keeps_its_newest_lines_whatever_the_order(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "TRANSCRIPT_MAX", 5)
    seconds = list(range(12))
    finals = []
    for order in (seconds, seconds[::-1], random.sample(seconds, len(seconds))):
        account = random.randint(1, 2**40)
        for n in order:
            await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=said(n))
            assert await redis.zcard(keys.call_transcript(account, "c")) <= 5
        finals.append(await transcript(redis, account))
    assert finals[0] == finals[1] == finals[2] == [f"lead: line {n}" for n in range(7, 12)]


async def test_a_calls_logs_survive_a_backup_and_restore(redis: Redis) -> None:
    """The call's JSON, its DTMF log and its transcript log are dumped and restored as they were (every `sb:` key
    is, by DUMP/RESTORE: datasources/redis/backup.py)."""
    account = random.randint(1, 2**40)
    await store.transact(redis, account_id=account, call_id="c", event_id=None,
                         decide=lead_call("lead-a", active=True, presses=(1, 2)))
    await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=said(1, 2, call={"x": 1}))
    raw = redis_backup.raw_client(redis)
    try:
        mine = f"{keys.PREFIX}:acct:{account}:"
        records = [r async for r in redis_backup.dump(raw) if r["key"].startswith(mine)]
        names = {r["key"] for r in records}
        wanted = {keys.call_state(account, "c"), keys.call_dtmf(account, "c"), keys.call_transcript(account, "c")}
        assert wanted <= names
        await raw.delete(*names)
        assert await transcript(redis, account) == []
        await redis_backup.load(raw, records)
    finally:
        await raw.aclose(close_connection_pool=True)
    assert await transcript(redis, account) == ["lead: line 1", "lead: line 2"]
    [lines] = await logs.dtmf_logs(redis, account_id=account, call_ids=["c"])
    assert dtmf_of(lines) == "12" and await redis.get(keys.call_state(account, "c")) == '{"x":1}'


async def collect(stream: AsyncIterator[Entry], n: int) -> list[Entry]:
    out = []
    async for entry in stream:
        out.append(entry)
        if len(out) == n:
            break
    return out


async def test_replay_then_live_without_gap_or_duplicate(redis_url: str, redis: Redis) -> None:
    account = random.randint(1, 2**40)
    broker = StreamBroker(open_redis(redis_url), sweep_seconds=0.2)
    await broker.start()
    try:
        applied = [
            await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=bump("early"))
            for _ in range(3)
        ]
        cursor = applied[0].account_cursor if applied[0] else None
        stream = broker.subscribe(account, keys.account_stream(account), after=cursor)
        reader = asyncio.create_task(collect(stream, 5))
        await asyncio.sleep(0.05)
        for _ in range(3):
            await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=bump("late"))
        got = await asyncio.wait_for(reader, 5)
        assert [e.event["n"] for e in got] == [2, 3, 4, 5, 6]
        live = broker.subscribe(account, keys.account_stream(account), after=None)
        live_reader = asyncio.create_task(collect(live, 1))
        await asyncio.sleep(0.05)
        await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=bump("new"))
        assert [e.event["n"] for e in await asyncio.wait_for(live_reader, 5)] == [7]
    finally:
        await broker.close()
        await broker.redis.aclose()


async def test_a_slow_subscriber_is_closed_with_a_reason(redis_url: str, redis: Redis) -> None:
    account = random.randint(1, 2**40)
    broker = StreamBroker(open_redis(redis_url), max_queue=5)
    await broker.start()
    try:
        stream = broker.subscribe(account, keys.account_stream(account), after=None)
        first = asyncio.ensure_future(anext(stream))  # subscribed live from here on
        await asyncio.sleep(0.3)
        for _ in range(10):
            await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=bump("x"))
        await first
        with pytest.raises(Overflow, match="resubscribe with after: "):
            async for _ in stream:
                await asyncio.sleep(0.05)
    finally:
        await broker.close()
        await broker.redis.aclose()


async def test_a_replay_longer_than_the_queue_arrives_whole(redis_url: str, redis: Redis) -> None:
    """The replay goes to the subscriber at its own pace: history does not count against the live queue."""
    account = random.randint(1, 2**40)
    for _ in range(30):
        await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=bump("x"))
    broker = StreamBroker(open_redis(redis_url), max_queue=5, batch=4)
    await broker.start()
    try:
        stream = broker.subscribe(account, keys.account_stream(account), after="0")
        got = []
        async for entry in stream:
            got.append(entry.cursor)
            await asyncio.sleep(0.01)
            if len(got) == 30:
                break
        await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=bump("x"))
        live = await asyncio.wait_for(anext(stream), 10)  # then live, after the replay
        assert len(set(got)) == 30 and parse_id(live.cursor) > parse_id(got[-1])
    finally:
        await broker.close()
        await broker.redis.aclose()
