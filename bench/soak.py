"""A soak: one app process under mixed load for N minutes; memory over time, errors and latency percentiles.

    .venv/bin/python bench/soak.py [--minutes 30] [--subscribers 1000] [--queries 20] [--writes 2]
                                   [--webhooks 20] [--fanout-webhooks 0.2] [--report-every 60]

The load, each kind paced at its rate by lanes that wait for their turn (a lane is busy while its request is in
flight, so an overloaded server shows as a rate below the target rather than an ever-growing backlog):
- queries: `account`, `leads(first: 20)` with nested fields, `searchLeads` (Chroma), and a cross-store query
  (MongoDB leads with their PostgreSQL owner, graph colleagues, Chroma neighbours and Redis live call), in turn;
- writes: `createLead`, then `updateLead` of leads the soak created (one create for every three updates);
- webhooks: whole signed call sequences (initiated, answered, ..., hangup) for synthetic calls of acme, so calls
  end, are archived and their Redis keys expire as in production (the soak sends the hangup of an answered call
  itself: the server's simulated carrier never dialled these calls, so it answers none of the agent's commands);
- subscribers: `liveCalls` over graphql-transport-ws, 20 per connection (WS_MAX_SUBSCRIPTIONS' default). A few
  (`--busy-subscribers`) watch acme, which takes every webhook; the rest watch globex, which gets a trickle
  (`--fanout-webhooks` per second), so the fan-out stays within what two cores can serialise. A subscription
  ended by an error (SUBSCRIBER_TOO_SLOW, or any other) resubscribes after its last cursor, as a client should;
  the error is counted.

Each report line gives the app process's RSS, Redis `used_memory`, requests done, errors by kind (HTTP status,
GraphQL error code, write error type, WebSocket close) and p50/p95/p99 in ms per kind: query, write, webhook
and event (from the webhook's `occurred_at`, set just before its POST, to the subscriber's receipt). At the end:
totals, RSS growth from the first report to the last, and events lost or duplicated by subscribers (each should
have every event applied to its account after the stream's newest entry at the start). A webhook answered with
a 5xx is delivered again, as Telnyx does; when the redelivery is a `duplicate`, the refused delivery had been
applied after all, and that is counted as an error of its own. Each line also gives the CPU use of the app and
of the soak itself, and the machine's load: the soak's client shares the machine with the server.

The app runs with a cost budget large enough for one owner's token to carry all the load, and WS_MAX_CONNECTIONS
raised so that one principal may hold all the subscribers' connections. The stores are bench/stack.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis.asyncio as aioredis
import websockets
from stack import DATA, app, owner_token, stores

from datasources.calls.broker import parse_id
from datasources.redis import keys
from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode
from tests.client import sign_in
from tests.servers import AppServer, app_client_state_key, demo_user, read_demo_users
from voice.client_state import encode as client_state
from voice.signature import load_private_key
from voice.simulator import WEBHOOK_PATH, SimulatedCall, envelope, scenario, signed_headers

PER_CONNECTION = 20
KINDS = ("query", "write", "webhook", "event")
LIVE_CALLS = "subscription($after: String) { liveCalls(after: $after) { cursor occurredAt } }"
QUERIES = {
    "account": "{ account { id name slug timezone } }",
    "leads": """{ leads(first: 20) { edges { cursor node { id fullName email phone status priority score tags
        company { name industry } owner { email fullName } notes { body } syncState } }
        pageInfo { hasNextPage endCursor } } }""",
    "search": """query($text: String!) { searchLeads(text: $text, first: 10) { score
        lead { id fullName status company { name } } } }""",
    "cross-store": """{ leads(first: 5, orderBy: CREATED_AT_DESC) { edges { node { id fullName owner { email }
        colleagues { fullName } similar(first: 3) { score lead { fullName } } liveCall { id state } } } } }""",
}
SEARCHES = ["logistics manager", "warehouse", "interested in a demo", "fleet tracking", "call back next week"]
CREATE = """mutation($input: CreateLeadInput!) { createLead(input: $input) { __typename
    ... on LeadPayload { lead { id } } ... on UserError { message } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateLeadInput!) { updateLead(id: $id, input: $input) { __typename
    ... on LeadPayload { lead { id } } ... on UserError { message } } }"""


@dataclass
class Stats:
    """Samples and counts since the start; each report reads what arrived since the last one."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)  # webhooks applied, per account slug
    outcomes: Counter[str] = field(default_factory=Counter)  # applied, duplicate (changed nothing), ignored

    def record(self, kind: str, started: float) -> None:
        self.latencies[kind].append((time.perf_counter() - started) * 1000)


@dataclass
class Pacer:
    """Turns at `rate` per second, shared by a kind's lanes; a late lane catches up by at most a second."""

    rate: float
    next: float = field(default_factory=time.perf_counter)

    async def turn(self) -> None:
        slot = max(self.next, time.perf_counter() - 1.0)
        self.next = slot + 1.0 / self.rate
        await asyncio.sleep(max(0.0, slot - time.perf_counter()))


@dataclass
class Account:
    slug: str
    id: int
    token: str


@dataclass(eq=False)
class Watcher:
    """One subscription: where it is in its account's stream, and what it got."""

    account: Account
    last: str  # every subscription resumes after it: the stream's newest entry before the load, at first
    received: int = 0
    duplicated: int = 0


def pcts(samples: list[float]) -> str:
    if len(samples) < 2:
        return "-" if not samples else f"{samples[0]:.0f}/{samples[0]:.0f}/{samples[0]:.0f}"
    q = statistics.quantiles(samples, n=100)
    return f"{q[49]:.0f}/{q[94]:.0f}/{q[98]:.0f}"


def graphql_errors(body: Any) -> list[str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [str((e.get("extensions") or {}).get("code") or e.get("message", "?"))[:60] for e in errors or []]


class Load:
    def __init__(self, server: AppServer, accounts: dict[str, Account], key: Any, args: argparse.Namespace) -> None:
        self.server, self.accounts, self.key, self.args = server, accounts, key, args
        self.stats = Stats()
        self.stopping = asyncio.Event()
        self.http = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100))
        self.rng = random.Random(args.seed)
        self.state_key = app_client_state_key()
        self.watchers: list[Watcher] = []

    # -- requests ------------------------------------------------------------------------------------------

    async def graphql(self, kind: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        headers = {"authorization": f"Bearer {self.accounts['acme'].token}"}
        started = time.perf_counter()
        try:
            response = await self.http.post(self.server.graphql, json={"query": query, "variables": variables or {}},
                                            headers=headers)
        except httpx.HTTPError as exc:
            self.stats.errors[f"{kind} {type(exc).__name__}"] += 1
            return None
        self.stats.record(kind, started)
        if response.status_code != 200:
            self.stats.errors[f"{kind} http {response.status_code}"] += 1
            return None
        body = response.json()
        for code in graphql_errors(body):
            self.stats.errors[f"{kind} {code}"] += 1
        return body.get("data")

    async def query_lane(self, pacer: Pacer, lane: int) -> None:
        for name in itertools.islice(itertools.cycle(QUERIES), lane, None):
            await pacer.turn()
            if self.stopping.is_set():
                return
            variables = {"text": self.rng.choice(SEARCHES)} if name == "search" else None
            await self.graphql("query", QUERIES[name], variables)

    async def write_lane(self, pacer: Pacer) -> None:
        """Creates leads and updates its own (no two lanes write one lead, so no ConflictError is expected)."""
        created: list[str] = []
        for n in itertools.count():
            await pacer.turn()
            if self.stopping.is_set():
                return
            if n % 4 == 0 or not created:
                # not from the seeded generator: the stores, and the leads of earlier runs, are kept between runs
                phone = f"+1415{2_000_000 + uuid.uuid4().int % 8_000_000}"
                lead = {"firstName": "Soak", "lastName": f"Lead {uuid.uuid4().hex[:6]}", "phone": phone,
                        "email": f"soak-{uuid.uuid4().hex[:10]}@example.com", "tags": ["soak"],
                        "company": {"name": self.rng.choice(["Acme Freight", "Initech", "Hooli", "Vandelay"]),
                                    "industry": "logistics"},
                        "notes": [self.rng.choice(SEARCHES)]}
                data = await self.graphql("write", CREATE, {"input": lead})
                result = (data or {}).get("createLead")
                if result and result["__typename"] == "LeadPayload":
                    created = [*created[-99:], result["lead"]["id"]]
            else:
                changes = {"score": self.rng.randint(0, 100), "tags": ["soak", f"round-{n % 7}"],
                           "priority": self.rng.choice(["LOW", "MEDIUM", "HIGH", "URGENT"])}
                data = await self.graphql("write", UPDATE, {"id": self.rng.choice(created), "input": changes})
                result = (data or {}).get("updateLead")
            if result and result["__typename"] != "LeadPayload":
                self.stats.errors[f"write {result['__typename']}: {result.get('message', '')[:50]}"] += 1

    async def post_webhook(self, account: Account, kind: str, payload: dict[str, Any]) -> None:
        """Posts one event; a 5xx is delivered again (as Telnyx does) up to three times, after half a second."""
        body = envelope(kind, payload)
        refused: int | None = None
        for _ in range(4):
            started = time.perf_counter()
            try:
                response = await self.http.post(f"{self.server.url}{WEBHOOK_PATH}", content=body,
                                                headers=signed_headers(self.key, body))
            except httpx.HTTPError as exc:
                self.stats.errors[f"webhook {type(exc).__name__}"] += 1
                return
            self.stats.record("webhook", started)
            if response.status_code < 500:
                break
            refused = response.status_code
            self.stats.errors[f"webhook http {refused} ({kind})"] += 1
            await asyncio.sleep(0.5)
        if response.status_code != 200:
            self.stats.errors[f"webhook http {response.status_code} ({kind}), given up"] += 1
            return
        outcome = response.json()["status"]
        self.stats.outcomes[outcome] += 1
        if outcome == "applied":
            self.stats.applied[account.slug] += 1
        elif outcome == "duplicate" and refused is not None:
            # the refused delivery had been applied after all: the 5xx said it was not
            self.stats.errors[f"webhook {kind} applied despite its {refused}"] += 1
            self.stats.applied[account.slug] += 1

    async def call_lane(self, pacer: Pacer, account: Account) -> None:
        """Whole call sequences, one event per turn, in order."""
        while not self.stopping.is_set():
            call_id = uuid.uuid4().hex
            state = client_state(call_id=call_id, account_id=account.id, key=self.state_key)
            call = SimulatedCall(f"v3:soak-{call_id}", str(uuid.uuid4()), str(uuid.uuid4()),
                                 f"+1415555{self.rng.randint(0, 999):03d}0", "+14155550100", state)
            events = scenario(call)
            if events[-1][0] != "call.hangup":
                # `scenario` is only what the dial plays: the server's agent then commands a call its carrier never
                # dialled, so nothing answers it and no hangup would come; the soak hangs up, or the call stays live
                hangup = call.payload(hangup_cause="normal_clearing", hangup_source="callee")
                events.append(("call.hangup", hangup))
            for kind, payload in events:
                await pacer.turn()
                if self.stopping.is_set():
                    return
                await self.post_webhook(account, kind, payload)

    # -- subscribers ---------------------------------------------------------------------------------------

    async def connection(self, account: Account, watchers: list[Watcher], ready: asyncio.Event) -> None:
        """One WebSocket carrying `watchers`; reconnects (resuming each after its cursor) when it is closed."""
        while not self.stopping.is_set():
            try:
                async with websockets.connect(self.server.ws, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                              max_queue=None, open_timeout=30) as ws:
                    await ws.send(json.dumps({"type": "connection_init",
                                              "payload": {"authorization": f"Bearer {account.token}"}}))
                    ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if ack["type"] != "connection_ack":
                        self.stats.errors[f"ws init {ack['type']}"] += 1
                        await asyncio.sleep(1)
                        continue
                    ops: dict[str, Watcher] = {}
                    for watcher in watchers:
                        await self.subscribe(ws, ops, watcher)
                    ready.set()
                    await self.read(ws, ops)
            except websockets.ConnectionClosed as exc:
                if self.stopping.is_set():
                    return
                self.stats.errors[f"ws closed {exc.rcvd.code if exc.rcvd else 'abnormally'}"] += 1
            except (OSError, TimeoutError) as exc:
                self.stats.errors[f"ws {type(exc).__name__}"] += 1
            await asyncio.sleep(0.5)

    async def subscribe(self, ws: websockets.ClientConnection, ops: dict[str, Watcher], watcher: Watcher) -> None:
        op = uuid.uuid4().hex[:12]
        ops[op] = watcher
        payload = {"query": LIVE_CALLS, "variables": {"after": watcher.last}}
        await ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))

    async def read(self, ws: websockets.ClientConnection, ops: dict[str, Watcher]) -> None:
        async for raw in ws:
            message = json.loads(raw)
            kind = message["type"]
            if kind == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            watcher = ops.get(message.get("id", ""))
            if watcher is None:
                continue
            errors = message["payload"] if kind == "error" else (message.get("payload") or {}).get("errors")
            if errors:
                codes = {str((e.get("extensions") or {}).get("code", e.get("message")))[:90] for e in errors}
                for code in codes:
                    self.stats.errors[f"event {code}"] += 1
                del ops[message["id"]]
                # a client resumes after its last cursor, which misses nothing; after a second unless it was slow
                if codes != {"SUBSCRIBER_TOO_SLOW"}:
                    await asyncio.sleep(1)
                if not self.stopping.is_set():
                    await self.subscribe(ws, ops, watcher)
                continue
            if kind == "complete":
                del ops[message["id"]]
                if not self.stopping.is_set():
                    self.stats.errors["event completed by the server"] += 1
                    await self.subscribe(ws, ops, watcher)
                continue
            event = message["payload"]["data"]["liveCalls"]
            occurred = datetime.fromisoformat(event["occurredAt"]).timestamp()
            self.stats.latencies["event"].append((time.time() - occurred) * 1000)
            if parse_id(event["cursor"]) <= parse_id(watcher.last):
                watcher.duplicated += 1
                continue
            watcher.last = event["cursor"]
            watcher.received += 1

    async def open_subscribers(self, redis: aioredis.Redis) -> list[asyncio.Task[None]]:
        newest: dict[str, str] = {}
        for slug, account in self.accounts.items():
            rows: Any = await redis.xrevrange(keys.account_stream(account.id), count=1)
            newest[slug] = rows[0][0] if rows else "0-0"
        busy = min(self.args.busy_subscribers, self.args.subscribers)
        self.watchers = ([Watcher(self.accounts["acme"], newest["acme"]) for _ in range(busy)]
                         + [Watcher(self.accounts["globex"], newest["globex"])
                            for _ in range(self.args.subscribers - busy)])
        tasks: list[asyncio.Task[None]] = []
        for account in self.accounts.values():
            mine = [w for w in self.watchers if w.account is account]
            for n in range(0, len(mine), PER_CONNECTION):
                ready = asyncio.Event()
                tasks.append(asyncio.create_task(self.connection(account, mine[n:n + PER_CONNECTION], ready)))
                await asyncio.wait_for(ready.wait(), 60)
        return tasks


@dataclass
class Report:
    started: float
    pid: int
    redis: aioredis.Redis
    stats: Stats
    marks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    errors_seen: Counter[str] = field(default_factory=Counter)
    rss: list[float] = field(default_factory=list)
    cpu: dict[str, psutil.Process] = field(default_factory=dict)

    async def line(self) -> str:
        if not self.cpu:
            self.cpu = {"app": psutil.Process(self.pid), "soak": psutil.Process()}
            for process in self.cpu.values():
                process.cpu_percent()
        rss = psutil.Process(self.pid).memory_info().rss / 2**20
        self.rss.append(rss)
        cpu = " ".join(f"{name} {process.cpu_percent():.0f}%" for name, process in self.cpu.items())
        load = psutil.getloadavg()[0]
        try:
            info: Any = await self.redis.info("memory")
            used = f"{int(info['used_memory']) / 2**20:.1f} MB"
        except Exception as exc:  # noqa: BLE001 (a report line must not end the soak)
            used = type(exc).__name__
        parts, done = [], []
        for kind in KINDS:
            samples = self.stats.latencies[kind][self.marks[kind]:]
            self.marks[kind] = len(self.stats.latencies[kind])
            done.append(f"{kind} {len(samples)}")
            parts.append(f"{kind} {pcts(samples)}")
        new = self.stats.errors - self.errors_seen
        self.errors_seen = Counter(self.stats.errors)
        errors = ", ".join(f"{k} {v}" for k, v in sorted(new.items())) or "none"
        return (f"[{time.perf_counter() - self.started:6.0f} s] rss {rss:6.1f} MB  redis {used}  cpu {cpu} "
                f"(load {load:.1f})  "
                f"done: {', '.join(done)}  errors: {errors}  ms p50/p95/p99: {'  '.join(parts)}")


def sign_in_owner(server: AppServer, slug: str) -> Account:
    if slug == "acme":
        token = owner_token(server)
    else:
        owner = demo_user(read_demo_users(DATA / "app"), slug, "owner")
        token = str(sign_in(server.graphql, owner["email"], owner["password"])["accessToken"])
    body = httpx.post(server.graphql, json={"query": "{ account { id } }"},
                      headers={"authorization": f"Bearer {token}"}, timeout=60).json()
    return Account(slug, int(decode(body["data"]["account"]["id"])[1]), token)


async def soak(server: AppServer, env: dict[str, str], args: argparse.Namespace) -> None:
    key = load_private_key((Path(env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
    accounts = {slug: sign_in_owner(server, slug) for slug in ("acme", "globex")}
    load = Load(server, accounts, key, args)
    redis = aioredis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
    opened = time.perf_counter()
    connections = await load.open_subscribers(redis)
    watching = Counter(w.account.slug for w in load.watchers)
    print(f"{len(load.watchers)} subscribers on {len(connections)} connections in "
          f"{time.perf_counter() - opened:.1f} s; load for {args.minutes:g} min: {args.queries:g} queries/s, "
          f"{args.writes:g} writes/s, {args.webhooks:g} webhooks/s to acme ({watching['acme']} subscribers), "
          f"{args.fanout_webhooks:g}/s to globex ({watching['globex']} subscribers)", flush=True)

    queries, writes = Pacer(args.queries), Pacer(args.writes)
    webhooks, fanout = Pacer(args.webhooks), Pacer(args.fanout_webhooks)
    lanes: list[Awaitable[None]] = [load.query_lane(queries, n) for n in range(max(2, int(args.queries)))]
    lanes += [load.write_lane(writes) for _ in range(max(1, int(args.writes) * 2))]
    lanes += [load.call_lane(webhooks, accounts["acme"]) for _ in range(max(2, int(args.webhooks)))]
    lanes += [load.call_lane(fanout, accounts["globex"])]
    report = Report(time.perf_counter(), server.process.pid, redis, load.stats)
    await report.line()  # starts the CPU counters; the first line covers the first interval
    report.rss.clear()
    workers = [asyncio.ensure_future(lane) for lane in lanes]
    deadline = report.started + args.minutes * 60
    while (now := time.perf_counter()) < deadline:
        await asyncio.sleep(min(args.report_every, deadline - now))
        print(await report.line(), flush=True)
        if server.process.poll() is not None:
            print(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
            break
    load.stopping.set()
    await asyncio.gather(*workers, return_exceptions=True)
    await settle(load)
    load.stopping.set()
    for task in connections:
        task.cancel()
    await asyncio.gather(*connections, return_exceptions=True)
    summary(load, report)
    await load.http.aclose()
    await redis.aclose()


async def settle(load: Load, seconds: float = 30) -> None:
    """Gives the subscribers time to receive the last events."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and any(missing(load, w) for w in load.watchers):
        await asyncio.sleep(0.5)


def missing(load: Load, watcher: Watcher) -> int:
    return load.stats.applied[watcher.account.slug] - watcher.received


def summary(load: Load, report: Report) -> None:
    stats = load.stats
    print("totals:")
    for kind in KINDS:
        samples = stats.latencies[kind]
        print(f"  {kind:8} {len(samples):9d} done, ms p50/p95/p99 {pcts(samples)}, max {max(samples, default=0):.0f}")
    print(f"  webhooks applied per account: {dict(stats.applied)}; outcomes {dict(stats.outcomes)}")
    print(f"  errors: {dict(sorted(stats.errors.items())) or 'none'}")
    if len(report.rss) >= 2:
        first, last = report.rss[0], report.rss[-1]
        print(f"  server RSS: {first:.1f} MB at the first report, {last:.1f} MB at the last "
              f"({last - first:+.1f} MB, {(last - first) / first * 100:+.1f} %); peak {max(report.rss):.1f} MB")
    lost = sum(max(0, missing(load, w)) for w in load.watchers)
    extra = sum(max(0, -missing(load, w)) for w in load.watchers)
    duplicated = sum(w.duplicated for w in load.watchers)
    behind = sum(1 for w in load.watchers if missing(load, w) > 0)
    print(f"  subscribers: {len(load.watchers)}, events received {sum(w.received for w in load.watchers)}, "
          f"lost {lost} (subscribers short: {behind}), duplicated {duplicated}, unexpected {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--busy-subscribers", type=int, default=10, help="of --subscribers, watching acme")
    parser.add_argument("--queries", type=float, default=20, help="per second")
    parser.add_argument("--writes", type=float, default=2, help="per second")
    parser.add_argument("--webhooks", type=float, default=20, help="per second, to acme")
    parser.add_argument("--fanout-webhooks", type=float, default=0.2, help="per second, to globex")
    parser.add_argument("--report-every", type=float, default=60, help="seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="start the stores from scratch")
    args = parser.parse_args()
    with stores(fresh=args.fresh) as env, app(env, "soak", COST_BUDGET="1000000000", WS_MAX_CONNECTIONS="1000",
                                             WEBHOOK_RATE_LIMIT="100000/minute") as server:
        asyncio.run(soak(server, env, args))


if __name__ == "__main__":
    main()
