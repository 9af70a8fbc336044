"""10,000 call events through two replicas: every subscriber gets every event of its account exactly once, in order.

Two fresh replicas over the suite's stores take signed dtmf webhooks alternately, 20 posts in flight: 8,000 events
across 40 calls of acme and 2,000 across 10 calls of globex, shuffled. Six `liveCalls` subscribers (four of acme,
two of globex, both WebSocket protocols) each drop their connection at random points (seeded) and resume with
`after:` their last cursor on a random replica; a subscriber the server ends (SUBSCRIBER_TOO_SLOW, or `complete`
from a replica shutting down) resumes the same way. Replica B is stopped and started again on its port while the
events flow: posts it refuses go to A (the event id de-duplicates a retried delivery), and its subscribers resume
on A. The truth is the account's stream in Redis: each subscriber's list must be exactly it, in stream order.

The seed is printed with the figures (`-s`) and appended to `exactly-once.log` next to the replicas' logs;
EXACTLY_ONCE_SEED replays a run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import websockets

from datasources.calls.broker import parse_id
from datasources.calls.store import ACCOUNT_STREAM_MAX
from datasources.redis import keys
from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode
from resolvers.ids import encode as encode_id
from tests.client import sign_in
from tests.servers import AppServer, app_client_state_key, demo_user, start_app
from voice.client_state import encode as client_state
from voice.signature import load_private_key
from voice.simulator import WEBHOOK_PATH, envelope, signed_headers

LIVE_CALLS = "subscription($after: String) { liveCalls(after: $after) { cursor type call { id } } }"
# account slug -> (events, calls); each account's share must fit its capped stream, or cursors would expire
PLAN = {"acme": (8_000, 40), "globex": (2_000, 10)}
SUBSCRIBERS = [("acme", "graphql-transport-ws"), ("acme", "graphql-ws"), ("acme", "graphql-transport-ws"),
               ("acme", "graphql-ws"), ("globex", "graphql-transport-ws"), ("globex", "graphql-ws")]
IN_FLIGHT = 20
RESTART_AT = 0.4  # replica B restarts once this share of the events has been accepted
DROP_EVERY = (50, 1_500)  # a subscriber drops its connection after a random number of events in this range
DEADLINE = 480.0  # seconds, for the whole run: about 110 s on an idle 2-core machine, 4 times that under heavy load


@dataclass
class Replica:
    name: str
    server: AppServer
    env: dict[str, str]
    log: Path
    restarts: int = 0

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ws(self) -> str:
        return self.server.ws

    def restart(self) -> None:
        """Stops the process (SIGTERM, as a deploy does) and starts a new one on the same port."""
        self.server.stop()
        port = int(self.url.rsplit(":", 1)[1])
        self.server = start_app(self.env, self.log, port=port)
        self.restarts += 1


@pytest.fixture(scope="module")
def replicas(app_server: AppServer, store_env: dict[str, str], data_root: Path) -> Iterator[list[Replica]]:
    """Two replicas of our own over the suite's stores (the session's app server seeded them): B is restarted."""
    env = {**store_env, "SEED_DEMO": "0", "WEBHOOK_RATE_LIMIT": "1000000/minute"}
    started: list[Replica] = []
    try:
        for name in ("a", "b"):
            log = data_root / f"exactly-once-{name}.log"
            started.append(Replica(name, start_app(env, log), env, log))
        yield started
    finally:
        for replica in started:
            replica.server.stop()


@dataclass
class Account:
    slug: str
    id: int
    token: str
    calls: list[str]
    events: int
    start: str = "0-0"  # the stream's newest entry before the run: every subscriber starts after it

    @property
    def stream(self) -> str:
        return keys.account_stream(self.id)


@dataclass
class Posting:
    accepted: int = 0
    retries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_replica: Counter[str] = field(default_factory=Counter)  # accepted, by the replica (and its restarts)


@dataclass
class Subscriber:
    """A raw WebSocket client of either protocol that keeps dropping its connection and resuming from its cursor."""

    name: str
    account: Account
    protocol: str
    rng: random.Random
    received: list[dict[str, Any]] = field(default_factory=list)
    resumes: Counter[str] = field(default_factory=Counter)

    @property
    def cursor(self) -> str:
        return self.received[-1]["cursor"] if self.received else self.account.start

    async def run(self, replicas: list[Replica], deadline: float) -> None:
        while len(self.received) < self.account.events:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {len(self.received)} of {self.account.events} events by the "
                                     f"deadline; resumes {dict(self.resumes)}")
            replica = self.rng.choice(replicas)
            try:
                reason = await self.session(replica, self.rng.randint(*DROP_EVERY))
            except TimeoutError:  # (an OSError too) nothing for 20 s: resume, and count it
                reason = "stalled"
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, EOFError):
                reason = "connection lost"
                await asyncio.sleep(0.1)  # the replica is restarting: the next pick may be the other one
            self.resumes[reason] += 1

    async def session(self, replica: Replica, budget: int) -> str:
        """Subscribes after the cursor and reads until `budget` events arrived (then drops) or the server ends it."""
        start, data, stop = (("subscribe", "next", "complete") if self.protocol == "graphql-transport-ws"
                             else ("start", "data", "stop"))
        async with websockets.connect(replica.ws, subprotocols=[self.protocol],  # type: ignore[list-item]
                                      open_timeout=10, max_queue=None) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": f"Bearer {self.account.token}"}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert ack["type"] == "connection_ack", ack
            op = uuid.uuid4().hex[:8]
            await ws.send(json.dumps({"id": op, "type": start,
                                      "payload": {"query": LIVE_CALLS, "variables": {"after": self.cursor}}}))
            got = 0
            while len(self.received) < self.account.events:
                message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                kind = message["type"]
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                if kind in ("ka", "pong"):
                    continue
                if kind == "complete":
                    return "ended by the server"
                # an error ending the subscription: `error` in graphql-transport-ws, `data` with errors in graphql-ws
                errors = message["payload"] if kind == "error" else message.get("payload", {}).get("errors")
                if errors:
                    codes = {e.get("extensions", {}).get("code") for e in _errors(errors)}
                    assert codes == {"SUBSCRIBER_TOO_SLOW"}, f"{self.name}: {message}"
                    return "too slow"
                assert kind == data, f"{self.name}: {message}"
                self.received.append(message["payload"]["data"]["liveCalls"])
                got += 1
                if got >= budget:
                    if self.rng.random() < 0.5:  # half the drops say goodbye, the rest just vanish
                        await ws.send(json.dumps({"id": op, "type": stop}))
                    return "dropped"
            return "done"


def _errors(payload: Any) -> list[dict[str, Any]]:
    return payload if isinstance(payload, list) else list(payload.get("errors") or [payload])


def _account(app_server: AppServer, users: list[dict[str, str]], slug: str) -> Account:
    owner = demo_user(users, slug, "owner")
    token = str(sign_in(app_server.graphql, owner["email"], owner["password"])["accessToken"])
    account = httpx.post(app_server.graphql, json={"query": "{ account { id } }"},
                         headers={"authorization": f"Bearer {token}"}, timeout=30).json()["data"]["account"]["id"]
    events, calls = PLAN[slug]
    return Account(slug, int(decode(account)[1]), token, [uuid.uuid4().hex for _ in range(calls)], events)


def _bodies(accounts: list[Account], rng: random.Random) -> list[bytes]:
    state_key = app_client_state_key()
    bodies: list[bytes] = []
    for account in accounts:
        states = [client_state(call_id=c, account_id=account.id, key=state_key) for c in account.calls]
        for i in range(account.events):
            state = states[i % len(states)]
            payload = {"call_control_id": "v3:exactly-once", "digit": str(i % 10), "client_state": state}
            bodies.append(envelope("call.dtmf.received", payload))
    rng.shuffle(bodies)
    return bodies


async def _post_all(replicas: list[Replica], bodies: list[bytes], key: Any, posting: Posting) -> None:
    """Each body alternately to A and B; a refused or failed post goes to the other replica (same event id)."""
    slots = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=2 * IN_FLIGHT, max_keepalive_connections=2 * IN_FLIGHT)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def post(i: int, body: bytes) -> None:
            async with slots:
                for attempt in range(40):
                    replica = replicas[(i + attempt) % len(replicas)]
                    try:
                        response = await http.post(f"{replica.url}{WEBHOOK_PATH}", content=body,
                                                   headers=signed_headers(key, body))
                    except httpx.TransportError:
                        response = None
                    if response is not None and response.status_code == 200:
                        outcome = response.json()["status"]
                        # a retry of a delivery the stopped replica applied before answering is a duplicate
                        assert outcome == "applied" or (outcome == "duplicate" and attempt), response.text
                        posting.outcomes[outcome] += 1
                        posting.accepted += 1
                        posting.by_replica[f"{replica.name}{replica.restarts or ''}"] += 1
                        return
                    posting.retries += 1
                    await asyncio.sleep(0.05 * min(attempt + 1, 10))
                raise AssertionError(f"event {i}: no replica accepted it")

        await asyncio.gather(*(post(i, body) for i, body in enumerate(bodies)))


async def _restart_midway(replica: Replica, posting: Posting, total: int) -> float:
    while posting.accepted < RESTART_AT * total:
        await asyncio.sleep(0.05)
    began = time.monotonic()
    await asyncio.to_thread(replica.restart)
    return time.monotonic() - began


async def test_ten_thousand_events_reach_every_subscriber_exactly_once_in_order(
    replicas: list[Replica], app_server: AppServer, store_env: dict[str, str], demo_users: list[dict[str, str]],
    data_root: Path,
) -> None:
    seed = int(os.environ.get("EXACTLY_ONCE_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    began = time.monotonic()
    key = load_private_key((Path(store_env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
    accounts = {slug: _account(app_server, demo_users, slug) for slug in PLAN}
    store = redis.Redis.from_url(store_env["REDIS_URL"], decode_responses=True)
    for account in accounts.values():
        assert account.events < ACCOUNT_STREAM_MAX, "the account's events must fit its capped stream"
        newest: Any = store.xrevrange(account.stream, count=1)
        account.start = newest[0][0] if newest else "0-0"
    bodies = _bodies(list(accounts.values()), rng)
    total = len(bodies)

    subscribers = [Subscriber(f"{slug}-{n}-{protocol}", accounts[slug], protocol, random.Random(rng.random()))
                   for n, (slug, protocol) in enumerate(SUBSCRIBERS)]
    deadline = time.monotonic() + DEADLINE
    listening = [asyncio.create_task(s.run(replicas, deadline)) for s in subscribers]
    posting = Posting()
    restart = asyncio.create_task(_restart_midway(replicas[1], posting, total))
    await _post_all(replicas, bodies, key, posting)
    posted = time.monotonic() - began
    restart_seconds = await restart
    await asyncio.gather(*listening)
    elapsed = time.monotonic() - began

    lines: list[str] = [f"seed {seed}: {total} events posted in {posted:.1f} s ({posting.retries} retried, "
                        f"outcomes {dict(posting.outcomes)}, accepted by {dict(posting.by_replica)}); "
                        f"replica b restarted in {restart_seconds:.1f} s"]
    lost = duplicated = foreign = disordered = 0
    truths: dict[str, list[str]] = {}
    for account in accounts.values():
        rows: Any = store.xrange(account.stream, min=f"({account.start}")
        truth = truths[account.slug] = [entry_id for entry_id, _ in rows]
        assert len(truth) == account.events, f"{account.slug}: {len(truth)} events applied, {account.events} posted"
        expected = set(truth)
        own_calls = {encode_id("Call", c) for c in account.calls}
        for sub in (s for s in subscribers if s.account is account):
            cursors = [e["cursor"] for e in sub.received]
            sub_lost = len(expected - set(cursors))
            sub_dup = len(cursors) - len(set(cursors))
            sub_foreign = sum(1 for e in sub.received
                              if e["cursor"] not in expected or e["call"]["id"] not in own_calls)
            positions = [parse_id(c) for c in cursors]
            sub_disordered = sum(1 for a, b in zip(positions, positions[1:], strict=False) if b <= a)
            lost, duplicated = lost + sub_lost, duplicated + sub_dup
            foreign, disordered = foreign + sub_foreign, disordered + sub_disordered
            lines.append(f"  {sub.name}: {len(cursors)} received, lost {sub_lost} duplicated {sub_dup} "
                         f"foreign {sub_foreign} out of order {sub_disordered}; resumed {dict(sub.resumes)}; "
                         f"exact: {cursors == truth}")
    store.close()
    lines.append(f"10k events: lost {lost} duplicated {duplicated} (foreign {foreign}, out of order {disordered}) "
                 f"in {elapsed:.1f} s")
    report = "\n".join(lines)
    print("\n" + report)
    with open(data_root / "exactly-once.log", "a") as out:
        out.write(report + "\n")

    assert (lost, duplicated, foreign, disordered) == (0, 0, 0, 0), report
    for sub in subscribers:
        assert [e["cursor"] for e in sub.received] == truths[sub.account.slug], sub.name
    assert replicas[1].restarts == 1 and posting.by_replica["b1"] > 0, "replica b took no events after its restart"
    for sub in subscribers:
        assert sum(n for reason, n in sub.resumes.items() if reason != "done"), f"{sub.name} never resumed"
