"""The agent's commands survive a crash: the webhook's transaction queues them in the command outbox, the handler
sends them, and a worker sends what a crashed or failing handler left, in order, each command_id once, until it
gives up into the dead letter. Real Redis (a server of its own: the outbox key is global, and the suite's app
workers must not take these jobs) and PostgreSQL; the carrier records what it is asked, and fails on request."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from redis.asyncio import Redis

from datasources.calls import store
from datasources.calls.codec import dump_call
from datasources.calls.model import Call, CallEvent, CallState
from datasources.calls.store import Change
from datasources.mongo import Mongo, leads, open_mongo
from datasources.mongo.leads import NewLead
from datasources.postgres import accounts, open_database
from datasources.redis import keys, open_redis
from datasources.redis.outbox import COMMANDS
from datasources.stores import Stores
from ops import migrate
from ops.embedded.process import ChildServer
from ops.embedded.redis import start_redis
from tests.servers import postgres_database
from voice import client_state
from voice.agent import Command, _fact
from voice.carriers.base import Carrier, CarrierError
from voice.command_outbox import CommandWorker, command_of, facts_of, jobs
from voice.service import CallService, entry

KEY = b"k" * 32
T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
RETRY_AFTER = 0.05
_ids = itertools.count(1)


class Crash(BaseException):
    """The process dying: not an error any handler catches."""


@dataclass
class Recorder:
    """The carrier: records each command it took as (call control id, kind, command id); `failing` maps a command
    kind to how many more times it fails (a CarrierError with no status: the carrier unreachable), `crash` makes
    the next command abort the process."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    failing: dict[str, int] = field(default_factory=dict)
    crash: bool = False

    async def _take(self, kind: str, kw: dict[str, Any]) -> None:
        if self.crash:
            self.crash = False
            raise Crash
        if self.failing.get(kind, 0) > 0:
            self.failing[kind] -= 1
            raise CarrierError("connection reset")
        self.sent.append((kw["call_control_id"], kind, kw["command_id"]))

    async def hang_up(self, **kw: Any) -> None:
        await self._take("hangup", kw)

    async def transfer(self, **kw: Any) -> None:
        await self._take("transfer", kw)

    async def speak(self, **kw: Any) -> None:
        await self._take("speak", kw)

    async def gather_using_ai(self, **kw: Any) -> None:
        await self._take("gather_using_ai", kw)

    async def gather_using_speak(self, **kw: Any) -> None:
        await self._take("gather_using_speak", kw)

    async def record_start(self, **kw: Any) -> None:
        await self._take("record_start", kw)

    async def transcription_start(self, **kw: Any) -> None:
        await self._take("transcription_start", kw)


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    server = start_redis(tmp_path_factory.mktemp("command-outbox-redis"), persist=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def database_url(postgres_admin: str) -> Iterator[str]:
    with postgres_database(postgres_admin) as url:
        yield url


@dataclass
class Replica:
    service: CallService
    carrier: Recorder
    worker: CommandWorker


@pytest.fixture
async def replicas(own_redis: ChildServer, database_url: str) -> AsyncIterator[list[Replica]]:
    """Two processes: their own Redis client, PostgreSQL pool, carrier and command worker."""
    made, closing = [], []
    for i in range(2):
        redis, database, carrier = open_redis(own_redis.url), open_database(database_url), Recorder()
        if i == 0:
            await redis.flushdb()
            await migrate.upgrade(database.engine)
        # no lead on these calls: MongoDB, the graph and Chroma are never reached
        stores = Stores(db=database, mongo=cast(Any, None), graph=cast(Any, None), vectors=cast(Any, None),
                        redis=redis)
        service = CallService(stores, cast(Carrier, carrier), from_number="+15550100000", client_state_key=KEY)
        worker = CommandWorker(service.courier, consumer=f"replica-{i}", retry_after=RETRY_AFTER, max_attempts=3)
        await COMMANDS.create_group(redis)
        made.append(Replica(service, carrier, worker))
        closing.append((redis, database))
    yield made
    for redis, database in closing:
        await redis.aclose()
        await database.close()


@pytest.fixture
async def account(replicas: list[Replica]) -> int:
    slug = f"outbox-{uuid.uuid4().hex[:10]}"
    return (await accounts.create_account(replicas[0].service.stores.db, name=slug, slug=slug)).id


@dataclass(frozen=True)
class Dialled:
    account_id: int
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def control_id(self) -> str:
        return f"v3:{self.call_id}"

    def event(self, kind: str, second: float, **payload: Any) -> CallEvent:
        state = client_state.encode(call_id=self.call_id, account_id=self.account_id, key=KEY)
        return CallEvent(id=f"ev-{next(_ids)}-{self.call_id[:6]}", type=kind,
                         occurred_at=T0 + timedelta(seconds=second),
                         payload={"call_control_id": self.control_id, "client_state": state, **payload})

    def ringing(self) -> list[CallEvent]:
        return [self.event("call.initiated", 0, direction="outgoing", state="bridging"),
                self.event("call.answered", 1)]

    def human(self) -> CallEvent:
        """A person answered: the agent starts recording, transcription and its AI gather, in that order."""
        return self.event("call.machine.premium.detection.ended", 2, result="human_business")


async def feed(replica: Replica, *events: CallEvent) -> None:
    for event in events:
        assert await replica.service.handle(event, b"{}") == "applied"


def sent(replicas: list[Replica], c: Dialled) -> list[tuple[str, str]]:
    """(kind, command_id) of what the carrier took for the call, over both replicas, in the order taken."""
    return [(kind, command_id) for r in replicas for control, kind, command_id in r.carrier.sent
            if control == c.control_id]


async def settled(redis: Redis) -> bool:
    pending: Any = await redis.xpending(keys.command_outbox(), COMMANDS.group)
    return pending["pending"] == 0 and await redis.xlen(keys.command_outbox()) == 0


async def passes(worker: CommandWorker, n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(RETRY_AFTER * 1.5)
        await worker.run_once()


async def reference(replica: Replica, account: int) -> list[tuple[str, str]]:
    """What a human's answer makes the agent send when nothing fails: (kind, command_id) in order."""
    c = Dialled(account)
    await feed(replica, *c.ringing(), c.human())
    return [(kind, command_id) for control, kind, command_id in replica.carrier.sent if control == c.control_id]


async def test_a_crash_between_the_transaction_and_the_carrier_is_recovered_by_another_replica(
    replicas: list[Replica], account: int
) -> None:
    crashing, survivor = replicas
    expected = [kind for kind, _ in await reference(survivor, account)]
    assert len(expected) >= 2
    c = Dialled(account)
    await feed(crashing, *c.ringing())
    crashing.carrier.crash = True
    human = c.human()
    with pytest.raises(Crash):
        await crashing.service.handle(human, b"{}")
    assert sent(replicas, c) == []  # applied, nothing sent

    # Telnyx redelivers the webhook: a duplicate, which sends nothing itself
    assert await survivor.service.handle(human, b"{}") == "duplicate"
    assert sent(replicas, c) == []

    redis = survivor.service.stores.redis
    size, age = await COMMANDS.backlog(redis)  # what the metrics show: switchboard_outbox_backlog{outbox="commands"}
    assert size == len(expected) and age is not None and age >= 0
    assert await survivor.worker.run_once() == 0  # a new job is its handler's for `retry_after` first
    await passes(survivor.worker, 1)
    taken = sent(replicas, c)
    assert [kind for kind, _ in taken] == expected  # in the order the agent decided
    assert len({command_id for _, command_id in taken}) == len(taken)
    assert await settled(redis) and (await COMMANDS.backlog(redis))[0] == 0

    await passes(survivor.worker, 2)
    await passes(crashing.worker, 1)
    assert sent(replicas, c) == taken  # each command_id once


async def test_a_calls_commands_left_by_two_crashed_webhooks_go_out_in_the_order_decided(
    replicas: list[Replica], account: int
) -> None:
    crashing, survivor = replicas
    c = Dialled(account)
    await feed(crashing, *c.ringing())
    later = c.event("call.ai_gather.ended", 10, status="valid",
                    result={"budget": "low", "authority": "none", "need": "none", "timeline": "none",
                            "opt_out": False})
    for event in (c.human(), later):
        crashing.carrier.crash = True
        with pytest.raises(Crash):
            await crashing.service.handle(event, b"{}")
    await passes(survivor.worker, 2)
    taken = [kind for kind, _ in sent(replicas, c)]
    assert taken[-1] == "speak" and taken[:-1] == [kind for kind, _ in await reference(survivor, account)]
    assert await settled(survivor.service.stores.redis)


async def test_the_handler_sends_at_once_and_leaves_nothing_behind(replicas: list[Replica], account: int) -> None:
    replica = replicas[0]
    c = Dialled(account)
    human = c.human()
    await feed(replica, *c.ringing(), human)
    taken = sent(replicas, c)
    assert taken and await settled(replica.service.stores.redis)
    # the same webhook again, on either replica: nothing new is queued or sent
    for r in replicas:
        assert await r.service.handle(human, b"{}") == "duplicate"
    assert await replica.service.stores.redis.xlen(keys.command_outbox()) == 0
    await passes(replica.worker, 2)
    assert sent(replicas, c) == taken


async def test_a_command_that_fails_holds_the_calls_later_commands_back_until_it_lands(
    replicas: list[Replica], account: int
) -> None:
    replica = replicas[0]
    expected = await reference(replicas[1], account)
    second = expected[1][0]
    c = Dialled(account)
    await feed(replica, *c.ringing())
    replica.carrier.failing[second] = 2  # the handler's try and the worker's first both fail
    await feed(replica, c.human())
    assert [kind for kind, _ in sent(replicas, c)] == [expected[0][0]]  # the first went; the rest wait

    await passes(replica.worker, 2)  # custody, then a retry of the second that fails: the third stays back
    assert [kind for kind, _ in sent(replicas, c)] == [expected[0][0]]
    await passes(replica.worker, 1)
    assert [kind for kind, _ in sent(replicas, c)] == [kind for kind, _ in expected]
    assert len({command_id for _, command_id in sent(replicas, c)}) == len(expected)
    assert await settled(replica.service.stores.redis)


async def test_a_command_that_keeps_failing_is_dead_lettered_and_retried(
    replicas: list[Replica], account: int, own_redis: ChildServer
) -> None:
    replica = replicas[0]
    expected = await reference(replicas[1], account)
    first = expected[0][0]
    c = Dialled(account)
    await feed(replica, *c.ringing())
    replica.carrier.failing[first] = 100
    await feed(replica, c.human())
    assert sent(replicas, c) == []

    # deliveries: the handler's (with the custody read), then one per claim: given up on the third
    await passes(replica.worker, 3)
    [letter] = await COMMANDS.dead_letters(replica.service.stores.redis)
    assert (letter.call_id, letter.account_id, letter.attempts) == (c.call_id, account, 3)
    assert "connection reset" in letter.error
    assert command_of(letter.fields).kind == first
    # the call goes on without it: the later commands were sent once it was given up on
    assert [kind for kind, _ in sent(replicas, c)] == [kind for kind, _ in expected[1:]]
    assert await settled(replica.service.stores.redis)

    env = {**os.environ, "REDIS_URL": own_redis.url}
    listed = subprocess.run([sys.executable, "-m", "ops.cli", "outbox", "list", "--outbox", "commands"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if c.call_id in line]
    assert row.startswith("commands ") and first in row and command_of(letter.fields).command_id in row

    replica.carrier.failing.clear()
    retried = subprocess.run([sys.executable, "-m", "ops.cli", "outbox", "retry", "--outbox", "commands",
                              c.call_id], env=env, capture_output=True, text=True, timeout=60)
    assert retried.returncode == 0, retried.stderr
    assert f"requeued {c.call_id}" in retried.stdout
    assert await COMMANDS.dead_letters(replica.service.stores.redis) == []
    await passes(replica.worker, 2)
    taken = sent(replicas, c)
    assert [kind for kind, _ in taken] == [kind for kind, _ in expected[1:]] + [first]
    assert taken[-1][1] == command_of(letter.fields).command_id  # the same command_id as the agent decided
    assert await settled(replica.service.stores.redis)


@pytest.fixture(scope="module")
async def mongo(mongo_url: str) -> AsyncIterator[Mongo]:
    store = await open_mongo(mongo_url, database="switchboard_adapter_test")
    yield store
    await store.close()


async def test_the_lead_facts_of_a_crashed_webhook_are_written_by_the_worker(
    replicas: list[Replica], account: int, mongo: Mongo
) -> None:
    crashing, survivor = replicas
    lead = await leads.create_lead(account_id=account, data=NewLead(first_name="Ada", phone=f"+1415{_phone()}"))
    c = Dialled(account)
    call = Call(id=c.call_id, account_id=account, lead_id=lead.id, state=CallState.queued, direction="outbound",
                to_number=lead.phone, updated_at=T0)

    def create(current: dict[str, Any] | None) -> Change | None:
        return Change(dump_call(call), entry("call.queued", f"local:{call.id}:queued", T0, call), active=True)

    await store.transact(survivor.service.stores.redis, account_id=account, call_id=c.call_id, event_id=None,
                         decide=create)
    await feed(crashing, *c.ringing(), c.human())
    cold = {"budget": "low", "authority": "none", "need": "none", "timeline": "none", "opt_out": False}
    crashing.carrier.crash = True  # the closing's speak: its facts were not written either
    with pytest.raises(Crash):
        await crashing.service.handle(c.event("call.ai_gather.ended", 10, status="valid", result=cold), b"{}")
    [before] = await leads.leads_by_ids(account_id=account, ids=[lead.id])
    assert before is not None and before.status == "new"

    await passes(survivor.worker, 2)
    [after] = await leads.leads_by_ids(account_id=account, ids=[lead.id])
    assert after is not None and after.status == "unqualified" and after.next_follow_up_at is not None
    assert [kind for kind, _ in sent(replicas, c)][-1] == "speak"
    assert await settled(survivor.service.stores.redis)


def _phone() -> str:
    return f"{uuid.uuid4().int % 10**7:07d}"


def test_a_jobs_command_and_facts_read_back_as_decided() -> None:
    call = Call(id="c1", account_id=3, lead_id="l1", call_control_id="v3:c1")
    event = CallEvent(id="e1", type="call.ai_gather.ended", occurred_at=T0, payload={})
    command = Command("speak", {"payload": "hello", "voice": "female"}, "cid-1", "closing")
    facts = [_fact("score_set", "score", score=80, cls="hot", via="ai", at=T0.isoformat(), budget="high"),
             _fact("question_asked", "budget", at=T0.isoformat())]  # not the lead's: left out
    made, lead = jobs(call, event, [command], facts)
    assert (made["kind"], made["call_control_id"], made["call_id"], made["account_id"]) == ("command", "v3:c1",
                                                                                             "c1", "3")
    assert command_of(made) == command
    assert (lead["kind"], lead["lead_id"]) == ("facts", "l1") and facts_of(lead) == facts[:1]
    # no carrier call yet: no command to send; no lead: no facts to write
    assert jobs(Call(id="c2", account_id=3), event, [command], facts) == ()
