"""A closer is promised to one call at a time, across replicas: the call's own Redis transaction takes the
closer's claim (`sb:acct:{a}:closer:{user}` -> call id) when its decision promises the hand-over, keeps it while
the call lasts and releases it when the call ends. Real Redis and PostgreSQL; the carrier records what it is
asked (webhooks are fed to the services directly, as two replicas would receive them)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from redis.asyncio import Redis

from datasources.calls import store
from datasources.calls.codec import load_call
from datasources.calls.model import Call, CallEvent, CallState
from datasources.postgres import Database, accounts, call_agent, identity, open_database
from datasources.redis import keys, open_redis
from datasources.stores import Stores
from ops import migrate
from tests.servers import postgres_database
from voice import client_state
from voice.agent import Closer, Conversation
from voice.carriers.base import Carrier
from voice.dialogue import closer_claims
from voice.script import DEFAULT_SCRIPT
from voice.service import CallService

KEY = b"k" * 32
HOT = {"budget": "high", "authority": "decision_maker", "need": "strong", "timeline": "this_month", "opt_out": False}
COLD = {"budget": "low", "authority": "none", "need": "none", "timeline": "none", "opt_out": False}
T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def closers_database(postgres_admin: str) -> Iterator[str]:
    with postgres_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="module")
async def db(closers_database: str) -> AsyncIterator[Database]:
    database = open_database(closers_database)
    await migrate.upgrade(database.engine)
    yield database
    await database.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = open_redis(redis_url)
    yield client
    await client.aclose()


@dataclass
class Recorder:
    """The carrier: records each command as (call control id, kind, its keywords)."""

    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def _log(self, kind: str, kw: dict[str, Any]) -> None:
        self.sent.append((kw["call_control_id"], kind, kw))

    async def hang_up(self, **kw: Any) -> None:
        self._log("hangup", kw)

    async def transfer(self, **kw: Any) -> None:
        self._log("transfer", kw)

    async def speak(self, **kw: Any) -> None:
        self._log("speak", kw)

    async def gather_using_ai(self, **kw: Any) -> None:
        self._log("gather_using_ai", kw)

    async def gather_using_speak(self, **kw: Any) -> None:
        self._log("gather_using_speak", kw)

    async def record_start(self, **kw: Any) -> None:
        self._log("record_start", kw)

    async def transcription_start(self, **kw: Any) -> None:
        self._log("transcription_start", kw)


@dataclass
class Replica:
    """One process's service: its own Redis client, PostgreSQL pool and carrier."""

    service: CallService
    carrier: Recorder
    redis: Redis
    db: Database

    async def close(self) -> None:
        await self.redis.aclose()
        await self.db.close()


@pytest.fixture
async def replicas(redis_url: str, closers_database: str) -> AsyncIterator[list[Replica]]:
    made = []
    for _ in range(2):
        redis, database, carrier = open_redis(redis_url), open_database(closers_database), Recorder()
        # no lead on these calls: MongoDB, the graph and Chroma are never reached
        stores = Stores(db=database, mongo=cast(Any, None), graph=cast(Any, None), vectors=cast(Any, None),
                        redis=redis)
        service = CallService(stores, cast(Carrier, carrier), from_number="+15550100000", client_state_key=KEY,
                              closer_claim_ttl=60)
        made.append(Replica(service, carrier, redis, database))
    yield made
    for replica in made:
        await replica.close()


async def account_with_closers(db: Database, n: int) -> tuple[int, list[int]]:
    slug = f"closers-{uuid.uuid4().hex[:10]}"
    account = (await accounts.create_account(db, name=slug, slug=slug)).id
    users = []
    for i in range(n):
        user = await identity.create_user(db, account_id=account, email=f"closer{i}@{slug}.test",
                                          full_name=f"Closer {i}", role="manager", password_hash=None)
        await call_agent.set_on_duty(db, account_id=account, user_id=user.id, on_duty=True, phone=f"+1312555{i:04d}")
        users.append(user.id)
    return account, users


@dataclass(frozen=True)
class Dialled:
    """A call's webhooks, in the order a hot lead's conversation sends them."""

    account_id: int
    call_id: str

    @property
    def control_id(self) -> str:
        return f"v3:{self.call_id}"

    def event(self, kind: str, second: float, **payload: Any) -> CallEvent:
        state = client_state.encode(call_id=self.call_id, account_id=self.account_id, key=KEY)
        return CallEvent(id=f"ev-{next(_ids)}", type=kind, occurred_at=T0 + timedelta(seconds=second),
                         payload={"call_control_id": self.control_id, "client_state": state, **payload})

    def answered(self) -> list[CallEvent]:
        return [self.event("call.initiated", 0, direction="outgoing", state="bridging"),
                self.event("call.answered", 1),
                self.event("call.machine.premium.detection.ended", 2, result="human_business")]

    def gathered(self, result: dict[str, Any] = HOT, second: float = 10) -> CallEvent:
        return self.event("call.ai_gather.ended", second, status="valid", result=result)

    def spoken(self) -> CallEvent:
        return self.event("call.speak.ended", 20, status="completed")

    def hangup(self) -> CallEvent:
        return self.event("call.hangup", 30, hangup_cause="normal_clearing", hangup_source="callee")


def new_call(account_id: int) -> Dialled:
    return Dialled(account_id, uuid.uuid4().hex)


async def feed(replica: Replica, *events: CallEvent) -> None:
    for event in events:
        assert await replica.service.handle(event, b"{}") == "applied"


async def call_of(redis: Redis, c: Dialled) -> Call:
    [raw] = await store.calls_by_ids(redis, account_id=c.account_id, ids=[c.call_id])
    assert raw is not None
    return load_call(raw)


def commands(replicas: list[Replica], c: Dialled) -> list[str]:
    return [kind for r in replicas for control, kind, _ in r.carrier.sent if control == c.control_id]


async def holder(redis: Redis, account_id: int, user_id: int) -> str | None:
    return cast(str | None, await redis.get(keys.closer_claim(account_id, user_id)))


async def test_two_replicas_racing_for_one_free_closer_give_it_to_one_call(
    db: Database, redis: Redis, replicas: list[Replica], caplog: pytest.LogCaptureFixture
) -> None:
    """Two hot leads reach the hand-off at the same moment, each on its own replica, with one closer on duty:
    one is handed over, the other promised a callback; both calls end, and the closer is free for the next
    pair. Twenty rounds, so that the decisions really overlap."""
    account, [closer] = await account_with_closers(db, 1)
    first, second = replicas
    lost_races = 0
    for _ in range(20):
        a, b = new_call(account), new_call(account)
        await asyncio.gather(feed(first, *a.answered()), feed(second, *b.answered()))
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="voice.service"):
            await asyncio.gather(feed(first, a.gathered()), feed(second, b.gathered()))
        lost_races += any("deciding again" in r.getMessage() for r in caplog.records)

        outcomes = {c.call_id: str((await call_of(redis, c)).outcome) for c in (a, b)}
        assert sorted(outcomes.values()) == ["callback", "transferred"], outcomes
        won, lost = (a, b) if outcomes[a.call_id] == "transferred" else (b, a)
        assert await holder(redis, account, closer) == won.call_id

        await asyncio.gather(feed(first, a.spoken()), feed(second, b.spoken()))
        assert commands(replicas, won)[-2:] == ["speak", "transfer"]
        assert commands(replicas, lost)[-2:] == ["speak", "hangup"]
        assert "transfer" not in commands(replicas, lost)
        assert (await call_of(redis, won)).closer_id == closer
        assert (await call_of(redis, lost)).closer_id is None

        await asyncio.gather(feed(first, a.hangup()), feed(second, b.hangup()))
        assert await holder(redis, account, closer) is None  # released with the call that held it
    # the claim, not the timing, kept the closer single: most rounds had one decision taken again
    assert lost_races > 0


async def test_three_calls_two_closers_each_closer_once(
    db: Database, redis: Redis, replicas: list[Replica]
) -> None:
    account, closers = await account_with_closers(db, 2)
    calls = [new_call(account) for _ in range(3)]
    await asyncio.gather(*(feed(replicas[i % 2], *c.answered()) for i, c in enumerate(calls)))
    await asyncio.gather(*(feed(replicas[i % 2], c.gathered()) for i, c in enumerate(calls)))
    await asyncio.gather(*(feed(replicas[i % 2], c.spoken()) for i, c in enumerate(calls)))
    ended = [await call_of(redis, c) for c in calls]
    assert sorted(str(c.outcome) for c in ended) == ["callback", "transferred", "transferred"]
    assert sorted(c.closer_id for c in ended if c.closer_id is not None) == sorted(closers)
    for closer in closers:
        assert await holder(redis, account, closer) in {c.call_id for c in calls}
    transfers = [kw["to"] for r in replicas for _, kind, kw in r.carrier.sent if kind == "transfer"]
    assert sorted(transfers) == ["+13125550000", "+13125550001"]


async def test_a_busy_closer_is_passed_over_and_free_again_when_its_call_ends(
    db: Database, redis: Redis, replicas: list[Replica]
) -> None:
    account, [first_closer, second_closer] = await account_with_closers(db, 2)
    r = replicas[0]
    a, b, c, d = (new_call(account) for _ in range(4))
    await feed(r, *a.answered(), a.gathered())
    assert await holder(redis, account, first_closer) == a.call_id
    await feed(r, *b.answered(), b.gathered())  # the first closer is on a's call: b gets the second
    assert await holder(redis, account, second_closer) == b.call_id
    await feed(r, *c.answered(), c.gathered())
    assert (await call_of(redis, c)).outcome == "callback"  # nobody free
    await feed(r, a.spoken(), a.hangup())  # a's lead and closer said goodbye
    assert await holder(redis, account, first_closer) is None
    await feed(r, *d.answered(), d.gathered(), d.spoken())
    assert (await call_of(redis, d)).closer_id == first_closer
    assert await holder(redis, account, first_closer) == d.call_id


async def test_the_claim_is_taken_only_when_a_closer_is_promised(
    db: Database, redis: Redis, replicas: list[Replica]
) -> None:
    """A cold lead reads the closers but claims none; a duplicate of the hot decision changes nothing."""
    account, [closer] = await account_with_closers(db, 1)
    r = replicas[0]
    cold, hot = new_call(account), new_call(account)
    await feed(r, *cold.answered(), cold.gathered(COLD))
    assert (await call_of(redis, cold)).outcome == "cold"
    assert await holder(redis, account, closer) is None
    await feed(r, *hot.answered())
    decision = hot.gathered()
    await feed(r, decision)
    assert await r.service.handle(decision, b"{}") == "duplicate"
    assert await holder(redis, account, closer) == hot.call_id


async def test_the_claim_follows_the_call_renewed_by_its_events_and_released_when_unused(
    db: Database, redis: Redis, replicas: list[Replica]
) -> None:
    """Each event of the live call renews the claim's TTL; an earlier answer delivered late that makes the lead
    cold after all releases the closer before the call ends."""
    account, [closer] = await account_with_closers(db, 1)
    r = replicas[0]
    a = new_call(account)
    await feed(r, *a.answered(), a.gathered(second=10))
    claim = keys.closer_claim(account, closer)
    assert 55 < await redis.ttl(claim) <= 60
    await redis.expire(claim, 5)
    await feed(r, a.event("call.transcription", 12, transcription_data={"transcript": "great", "is_final": True}))
    assert 55 < await redis.ttl(claim) <= 60
    await feed(r, a.gathered(COLD, second=9))  # the gather that really ended first said cold
    assert (await call_of(redis, a)).outcome == "cold"
    assert await holder(redis, account, closer) is None
    assert not (await call_of(redis, a)).terminal


async def test_a_claim_whose_call_vanished_expires(
    db: Database, redis: Redis, replicas: list[Replica]
) -> None:
    account, [closer] = await account_with_closers(db, 1)
    short = CallService(replicas[0].service.stores, cast(Carrier, Recorder()), from_number="+15550100000",
                        client_state_key=KEY, closer_claim_ttl=1)
    gone, later = new_call(account), new_call(account)
    for event in [*gone.answered(), gone.gathered()]:
        assert await short.handle(event, b"{}") == "applied"
    assert await holder(redis, account, closer) == gone.call_id
    # its end never comes, and its record is gone: the claim's TTL frees the closer
    await redis.delete(keys.call_state(account, gone.call_id))
    await asyncio.sleep(1.5)
    await feed(replicas[1], *later.answered(), later.gathered())
    assert (await call_of(redis, later)).outcome == "transferred"
    assert await holder(redis, account, closer) == later.call_id


async def test_a_claim_another_call_holds_fails_the_whole_change(redis: Redis) -> None:
    """At the store: a change that must take a claim held by another call writes nothing; one that keeps or
    releases it leaves it to its holder."""
    account = 10**9 + next(_ids)
    claim = keys.closer_claim(account, 1)
    await redis.set(claim, "other", ex=60)

    def change(op: Any) -> Any:
        return lambda _: store.Change({"n": 1}, {"type": "t"}, active=True, claims=(store.Claim(claim, op, 30),))

    with pytest.raises(store.ClaimTaken) as taken:
        await store.transact(redis, account_id=account, call_id="c", event_id=f"e{account}", decide=change("take"))
    assert (taken.value.key, taken.value.holder) == (claim, "other")
    assert await store.calls_by_ids(redis, account_id=account, ids=["c"]) == [None]
    assert await redis.get(keys.webhook_seen(f"e{account}")) is None  # the event was not applied: redelivered
    for op in ("keep", "release"):
        assert await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=change(op))
        assert await redis.get(claim) == "other"
    await redis.delete(claim)
    await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=change("take"))
    assert await redis.get(claim) == "c" and 0 < await redis.ttl(claim) <= 30
    await store.transact(redis, account_id=account, call_id="c", event_id=None, decide=change("release"))
    assert await redis.get(claim) is None


def test_claims_follow_the_promise() -> None:
    """Pure: take when the decision fixes and promises a closer, keep while it stands, release at the end or when
    the promise is withdrawn; inbound calls and other outcomes claim nothing."""
    closer = Closer(5, "Dana", "+13125550199")
    hot = Conversation(ai=((T0, "g"), "valid", HOT), closer=closer, closer_fixed=True)
    cold = Conversation(ai=((T0, "g"), "valid", COLD), closer=closer, closer_fixed=True)
    live = Call(id="c", account_id=3, direction="outbound")
    ended = Call(id="c", account_id=3, direction="outbound", state=CallState.completed)
    key = keys.closer_claim(3, 5)

    def ops(call: Call, before: Conversation, after: Conversation) -> list[tuple[str, str]]:
        return [(c.key, c.op) for c in closer_claims(call, before, after, DEFAULT_SCRIPT, ttl=9)]

    assert ops(live, Conversation(), hot) == [(key, "take")]
    assert ops(live, hot, hot) == [(key, "keep")]
    assert ops(ended, hot, hot) == [(key, "release")]
    assert ops(live, hot, cold) == [(key, "release")]
    assert ops(live, cold, hot) == [(key, "keep")]  # fixed earlier: kept when free, never fought over
    assert ops(live, Conversation(), cold) == []
    assert ops(Call(id="c", account_id=3, direction="inbound"), Conversation(), hot) == []

