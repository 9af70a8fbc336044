"""Live calls under load: webhooks at a rate over many calls, one long call, and fan-out to many subscribers.

    .venv/bin/python bench/live_calls.py [--compare /work/main] [--mode webhooks] [--mode long-call]
        [--mode long-transcript] [--mode fanout] [--mode latency] [--rate 500] [--seconds 10] [--calls 100]
        [--connections 50] [--long-call 2000] [--subscribers 1000,5000,10000] [--rounds 2]

- latency: one `callUpdates` subscriber over WebSocket; signed webhooks are posted at `rate` per second on one
  call, one at a time, and each event's latency runs from the start of its POST to its arrival at the subscriber.
- webhooks: `rate` dtmf webhooks a second for `seconds`, round-robin over `calls` calls, through a pool of
  `connections` concurrent HTTP connections, after a 2 s warm-up at the rate over other calls (not measured).
  Open loop: each POST starts at its scheduled time, or as soon as a connection is free. Prints the rate
  achieved, p50/p99 of the response time (POST start to answer) and the server's CPU time per webhook (which a
  busy machine inflates far less than the times).
- long-call: events 1..`long-call` on one call, one at a time: the mean response time, and the server's CPU time,
  of the last 100 over the first 100 (1.0: a webhook costs the same whatever the length of the call).
- long-transcript: the same with final `call.transcription` lines (the voice agent's transcript), not digits.
- fanout: for each count, a fresh server process; `liveCalls` subscriptions (50 per connection,
  graphql-transport-ws) opened, warm-up events until every subscription has had one (one registered after an
  event does not get it), then 5 events one after another: each one's last delivery (POST start to the last
  subscriber's receipt), and the server's RSS growth per subscriber (before opening them to after the warm-up).

Every body is signed before the clock starts. With `--compare ROOT` each measurement also runs against ROOT's
code ("before"; a checkout served unchanged, as `cd ROOT && uvicorn ...` would) over the same stores, alternating
which goes first each round; the ratios after/before are of figures taken in the same run, on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import os
import signal
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets
from stack import ROOT, owner_token, served, stores

from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode, encode
from tests.servers import AppServer, app_client_state_key
from voice.client_state import encode as client_state
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers

PY_SPY = Path("/tmp/tools/bin/py-spy")
PER_CONNECTION = 50
WARM_UP_SECONDS = 2.0  # webhooks at the rate before the measured ones
FANOUT_EVENTS = 5
# one owner's token carries the whole load: a budget, connection and webhook limits no bench run reaches
LIMITS = {"COST_BUDGET": "1000000000", "WS_MAX_CONNECTIONS": "1000", "WS_MAX_SUBSCRIPTIONS": str(PER_CONNECTION),
          "WEBHOOK_RATE_LIMIT": "10000000/minute", "SIMULATOR_PACE": "0"}

type Signed = tuple[bytes, dict[str, str]]


@dataclass
class Target:
    """One version of the code under test, over the bench stores."""

    label: str
    root: Path
    env: dict[str, str]
    key: Any
    token: str = ""
    account_id: int = 0

    @contextmanager
    def serve(self, name: str) -> Iterator[AppServer]:
        with served(self.env, f"live-calls-{self.label}-{name}", self.root, LIMITS) as server:
            if not self.token:
                self.token = owner_token(server)
                body = httpx.post(server.graphql, json={"query": "{ account { id } }"}, timeout=30,
                                  headers={"authorization": f"Bearer {self.token}"}).json()
                self.account_id = int(decode(body["data"]["account"]["id"])[1])
            yield server

    def dtmf(self, call_id: str, digit: str) -> Signed:
        state = client_state(call_id=call_id, account_id=self.account_id, key=app_client_state_key())
        body = envelope("call.dtmf.received", {"call_control_id": "v3:bench", "digit": digit, "client_state": state})
        return body, signed_headers(self.key, body)

    def said(self, call_id: str, n: int) -> Signed:
        """A final transcription line of the agent's (voice/agent.py), as a talkative call sends by the thousand."""
        state = client_state(call_id=call_id, account_id=self.account_id, key=app_client_state_key())
        line = {"transcript": f"line {n}: and another thing about the budget we discussed", "is_final": True,
                "confidence": 0.93, "transcription_track": "inbound" if n % 2 else "outbound"}
        body = envelope("call.transcription", {"call_control_id": "v3:bench", "client_state": state,
                                               "transcription_data": line})
        return body, signed_headers(self.key, body)


def server_cpu(server: AppServer) -> float:
    """The server process's CPU seconds so far (user and system)."""
    times = psutil.Process(server.process.pid).cpu_times()
    return float(times.user + times.system)


def pcts(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=100)
    return q[49], q[98]


async def open_subscriptions(url: str, token: str, query: str, variables: dict[str, Any],
                             count: int) -> websockets.ClientConnection:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None,  # type: ignore[list-item]
                                  open_timeout=60)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    await ws.recv()
    for i in range(count):
        await ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": query,
                                                                                 "variables": variables}}))
    return ws


# -- one call, one subscriber ------------------------------------------------------------------------------


async def latency(server: AppServer, target: Target, rate: float, seconds: float) -> str:
    call_id = uuid.uuid4().hex
    query = "subscription($id: ID!) { callUpdates(callId: $id) { cursor } }"
    ws = await open_subscriptions(server.ws, target.token, query, {"id": encode("Call", call_id)}, 1)
    await asyncio.sleep(0.5)
    total = int(rate * seconds)
    bodies = [target.dtmf(call_id, str(i % 10)) for i in range(total)]
    sent: list[float] = []
    received: list[float] = []

    async def receive() -> None:
        while len(received) < total:
            message = json.loads(await ws.recv())
            if message["type"] == "next":
                received.append(time.perf_counter())

    reader = asyncio.create_task(receive())
    async with httpx.AsyncClient(timeout=60) as http:
        start = time.perf_counter()
        for i, (body, headers) in enumerate(bodies):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            sent.append(time.perf_counter())
            response = await http.post(f"{server.url}/webhooks/telnyx", content=body, headers=headers)
            assert response.status_code == 200, response.text
        elapsed = time.perf_counter() - start
    await asyncio.wait_for(reader, 60)
    await ws.close()
    p50, p99 = pcts([(r - s) * 1000 for s, r in zip(sent, received, strict=True)])
    return f"{total / elapsed:.0f}/s achieved of {rate:.0f}/s; webhook -> subscriber p50 {p50:.1f} ms, p99 {p99:.1f} ms"


# -- many calls at a rate, a pool of connections -----------------------------------------------------------


async def webhooks(server: AppServer, target: Target, rate: float, seconds: float, calls: int,
                   connections: int, profile: Path | None = None) -> tuple[str, float, float]:
    """A warm-up of WARM_UP_SECONDS at the rate over calls of its own comes first and is not measured: a server
    just started answers its first second or two at a fraction of the rate (imports, caches, pools filling)."""
    total = int(rate * seconds)
    warm_ids = [uuid.uuid4().hex for _ in range(calls)]
    warm = [target.dtmf(warm_ids[i % calls], str(i % 10)) for i in range(int(rate * WARM_UP_SECONDS))]
    call_ids = [uuid.uuid4().hex for _ in range(calls)]
    bodies = [target.dtmf(call_ids[i % calls], str(i % 10)) for i in range(total)]
    times: list[float] = []
    failures: list[int | str] = []
    pool = asyncio.Semaphore(connections)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def post(body: bytes, headers: dict[str, str], record: bool) -> None:
            async with pool:
                began = time.perf_counter()
                try:
                    response = await http.post(f"{server.url}/webhooks/telnyx", content=body, headers=headers)
                except httpx.HTTPError as exc:  # counted, as Telnyx would count an undelivered webhook
                    if record:
                        failures.append(type(exc).__name__)
                    return
                if record:
                    times.append((time.perf_counter() - began) * 1000)
                    if response.status_code != 200:
                        failures.append(response.status_code)

        async def drive(signed: list[Signed], record: bool) -> float:
            start = time.perf_counter()
            tasks = []
            for i, (body, headers) in enumerate(signed):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(post(body, headers, record)))
            await asyncio.gather(*tasks)
            return time.perf_counter() - start

        await drive(warm, record=False)
        spy = profiler(server, profile, f"webhooks-{target.label}")
        cpu = server_cpu(server)
        elapsed = await drive(bodies, record=True)
        cpu_ms = (server_cpu(server) - cpu) * 1000 / max(len(times), 1)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
    p50, p99 = pcts(times)
    failed = f", {len(failures)} failed ({sorted(set(map(str, failures)))})" if failures else ""
    return (f"{len(times) / elapsed:.0f}/s achieved of {rate:.0f}/s over {calls} calls, {connections} connections: "
            f"response p50 {p50:.1f} ms, p99 {p99:.1f} ms{failed}; server CPU {cpu_ms:.2f} ms per webhook", p99, cpu_ms)


async def long_call(server: AppServer, target: Target, events: int,
                    kind: str = "dtmf") -> tuple[str, float, float]:
    call_id = uuid.uuid4().hex
    if kind == "transcript":
        bodies = [target.said(call_id, i) for i in range(events)]
    else:
        bodies = [target.dtmf(call_id, str(i % 10)) for i in range(events)]
    times: list[float] = []
    cpu: list[float] = []  # the server's CPU seconds before each webhook: robust to a busy machine
    async with httpx.AsyncClient(timeout=60) as http:
        start = time.perf_counter()
        for body, headers in bodies:
            cpu.append(server_cpu(server))
            began = time.perf_counter()
            response = await http.post(f"{server.url}/webhooks/telnyx", content=body, headers=headers)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
        elapsed = time.perf_counter() - start
        cpu.append(server_cpu(server))
    first, last = statistics.mean(times[:100]), statistics.mean(times[-100:])
    cpu_first, cpu_last = (cpu[100] - cpu[0]) * 10, (cpu[-1] - cpu[-101]) * 10  # ms per webhook
    return (f"{events} {kind} events on one call, one at a time: {events / elapsed:.0f}/s; first 100 {first:.2f} ms, "
            f"last 100 {last:.2f} ms each: last/first {last / first:.2f}; server CPU first 100 {cpu_first:.2f} ms, "
            f"last 100 {cpu_last:.2f} ms each: last/first {cpu_last / cpu_first:.2f}", last / first,
            cpu_last / cpu_first)


# -- fan-out ------------------------------------------------------------------------------------------------


@dataclass
class Arrivals:
    expected: int
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)


def gc_pauses(server: AppServer) -> dict[str, tuple[float, int]]:
    """The server's cycle collections so far by generation: (seconds, count), from its metrics (ops/heap.py); empty
    when the server does not report them (an older checkout)."""
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    found: dict[str, list[float]] = {}
    for line in text.splitlines():
        for suffix, at in (("_sum", 0), ("_count", 1)):
            if line.startswith(f"switchboard_gc_pause_seconds{suffix}{{"):
                generation = line.split('generation="')[1].split('"')[0]
                found.setdefault(generation, [0.0, 0.0])[at] = float(line.rsplit(" ", 1)[1])
    return {g: (v[0], int(v[1])) for g, v in found.items()}


def profiler(server: AppServer, folder: Path | None, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server while the measured events run (`--profile DIR`), if it is installed."""
    if folder is None or not PY_SPY.exists():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}-{server.process.pid}.txt"
    return subprocess.Popen([str(PY_SPY), "record", "-p", str(server.process.pid), "-r", "250", "-f", "raw",
                             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def fan_out(server: AppServer, target: Target, subscribers: int,
                  profile: Path | None = None) -> tuple[str, float, float]:
    process = psutil.Process(server.process.pid)
    before = process.memory_info().rss
    query = "subscription { liveCalls { cursor } }"
    sizes = [min(PER_CONNECTION, subscribers - n) for n in range(0, subscribers, PER_CONNECTION)]
    connections = [await open_subscriptions(server.ws, target.token, query, {}, size) for size in sizes]
    current = Arrivals(subscribers)
    live: set[tuple[int, str]] = set()  # (connection, operation id) of the subscriptions that had an event
    quiet = [time.perf_counter()]  # the last delivery's time: the warm-up is over once nothing arrives

    async def read(ws: websockets.ClientConnection, number: int) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "next":
                live.add((number, message["id"]))
                quiet[0] = time.perf_counter()
                current.times.append(time.perf_counter())
                if len(current.times) == current.expected:
                    current.done.set()
            elif message["type"] in ("error", "complete"):
                current.errors.append(str(message)[:200])

    readers = [asyncio.create_task(read(ws, n)) for n, ws in enumerate(connections)]
    call_id = uuid.uuid4().hex
    lasts: list[float] = []
    everyone: list[float] = []
    async with httpx.AsyncClient(timeout=60) as http:
        # warm-up events until every subscription has had one: a subscription registered after an event misses it
        for n in itertools.count():
            body, headers = target.dtmf(call_id, "0")
            await http.post(f"{server.url}/webhooks/telnyx", content=body, headers=headers)
            await asyncio.sleep(2)
            if len(live) == subscribers:
                break
            if n == 150:
                raise RuntimeError(f"{len(live)} of {subscribers} subscriptions live after 5 minutes: "
                                   f"{current.errors[:3]}")
        while time.perf_counter() - quiet[0] < 1.5:  # the last warm-up event's deliveries are not measured
            await asyncio.sleep(0.5)
        after = process.memory_info().rss
        gc_before = gc_pauses(server)
        spy = profiler(server, profile, f"fanout-{subscribers}")
        for digit in range(1, FANOUT_EVENTS + 1):
            body, headers = target.dtmf(call_id, str(digit))
            current = Arrivals(subscribers)
            started = time.perf_counter()
            await http.post(f"{server.url}/webhooks/telnyx", content=body, headers=headers)
            try:
                await asyncio.wait_for(current.done.wait(), 300)
            except TimeoutError:
                raise RuntimeError(f"{len(current.times)} of {subscribers} deliveries: {current.errors[:3]}") from None
            lasts.append((max(current.times) - started) * 1000)
            everyone += [(t - started) * 1000 for t in current.times]
            await asyncio.sleep(0.5)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        gc_spent = {g: round((n - gc_before.get(g, (0, 0))[0]) * 1000 / FANOUT_EVENTS, 1)
                    for g, (n, _) in gc_pauses(server).items()}
        gc_counts = {g: (n - gc_before.get(g, (0, 0))[1]) // FANOUT_EVENTS for g, (_, n) in gc_pauses(server).items()}
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(ws.close() for ws in connections), return_exceptions=True)
    per_sub = (after - before) / subscribers / 1024
    last = statistics.median(lasts)
    return (f"{subscribers} subscribers: last delivery median {last:.0f} ms, max {max(lasts):.0f} ms "
            f"(p99 of all deliveries {pcts(everyone)[1]:.0f} ms); RSS +{per_sub:.1f} KiB per subscriber; cycle "
            f"collections per event by generation: {gc_counts or 'not reported'}, ms per event: {gc_spent or '-'}",
            last, per_sub)


# -- the run ------------------------------------------------------------------------------------------------


def ratio(label: str, figures: dict[str, list[float]]) -> None:
    """Each target's median over the first's (before, when comparing)."""
    medians = {k: statistics.median(v) for k, v in figures.items() if v}
    if len(medians) < 2 or not all(medians.values()):
        return
    (first, base), *others = medians.items()
    for name, value in others:
        print(f"  {label}: {name}/{first} {value / base:.2f}", flush=True)


async def measure(targets: list[Target], args: argparse.Namespace) -> None:
    def rounds() -> Iterator[list[Target]]:
        for r in range(args.rounds):
            yield targets if r % 2 == 0 else targets[::-1]

    async def each(name: str, run: Callable[[AppServer, Target], Any]) -> dict[str, list[Any]]:
        got: dict[str, list[Any]] = {t.label: [] for t in targets}
        for order in rounds():
            for target in order:
                with target.serve(name) as server:
                    try:
                        result = await run(server, target)
                    except (RuntimeError, OSError, websockets.WebSocketException) as exc:  # a figure, not a crash
                        print(f"  {target.label:>6}: failed: {exc}"[:400], flush=True)
                        continue
                text = result if isinstance(result, str) else result[0]
                print(f"  {target.label:>6}: {text}", flush=True)
                got[target.label].append(result)
        return got

    if "latency" in args.mode:
        print(f"latency, one call at {args.latency_rate:.0f}/s for {args.seconds:.0f} s, one subscriber:", flush=True)
        await each("latency", lambda s, t: latency(s, t, args.latency_rate, args.seconds))
    if "webhooks" in args.mode:
        print(f"webhooks at {args.rate:.0f}/s for {args.seconds:.0f} s over {args.calls} calls:", flush=True)
        got = await each("webhooks", lambda s, t: webhooks(s, t, args.rate, args.seconds, args.calls,
                                                           args.connections, args.profile))
        ratio("response p99", {k: [r[1] for r in v] for k, v in got.items()})
        ratio("server CPU per webhook", {k: [r[2] for r in v] for k, v in got.items()})
    if "long-call" in args.mode:
        print(f"one long call of {args.long_call} events:", flush=True)
        got = await each("long", lambda s, t: long_call(s, t, args.long_call))
        ratio("response last/first", {k: [r[1] for r in v] for k, v in got.items()})
        ratio("server CPU last/first", {k: [r[2] for r in v] for k, v in got.items()})
    if "long-transcript" in args.mode:
        print(f"one long call of {args.long_call} transcription lines:", flush=True)
        got = await each("transcript", lambda s, t: long_call(s, t, args.long_call, "transcript"))
        ratio("response last/first", {k: [r[1] for r in v] for k, v in got.items()})
        ratio("server CPU last/first", {k: [r[2] for r in v] for k, v in got.items()})
    if "fanout" in args.mode:
        for count in args.subscribers:
            print(f"fan-out to {count} subscribers:", flush=True)
            got = await each(f"fanout-{count}", functools.partial(fan_out, subscribers=count, profile=args.profile))
            ratio("last delivery", {k: [r[1] for r in v] for k, v in got.items()})
            ratio("RSS per subscriber", {k: [r[2] for r in v] for k, v in got.items()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", action="append", choices=["latency", "webhooks", "long-call", "long-transcript",
                                                              "fanout"])
    parser.add_argument("--compare", type=Path, help="another checkout, measured as 'before'")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--latency-rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--long-call", type=int, default=2000)
    parser.add_argument("--subscribers", type=lambda v: [int(n) for n in v.split(",")], default=[1000])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--compare-env", default="", metavar="NAME=VALUE[;NAME=VALUE]",
                        help="settings of the 'before' server only (WS_PER_MESSAGE_DEFLATE=true: as it was served)")
    parser.add_argument("--profile", type=Path, help="a folder for py-spy's samples of each run (fanout, webhooks)")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL:NAME=VALUE[;NAME=VALUE]",
                        help="this checkout again with other settings, measured in the same rounds")
    args = parser.parse_args()
    args.mode = args.mode or ["latency", "webhooks", "long-call", "fanout"]
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}, {psutil.cpu_count()} cpus",
          flush=True)
    with stores() as env:
        after = Target("after", ROOT, env, None)
        with after.serve("sign-in"):  # the first start seeds the demo data and writes the development key
            pass
        after.key = load_private_key((Path(env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
        targets = [after]
        for variant in args.variant:
            label, _, pairs = variant.partition(":")
            extra = dict(pair.split("=", 1) for pair in pairs.split(";") if pair)
            targets.append(Target(label, ROOT, env | extra, after.key, after.token, after.account_id))
        if args.compare:
            before_env = env | dict(pair.split("=", 1) for pair in args.compare_env.split(";") if pair)
            targets.insert(0, Target("before", args.compare.resolve(), before_env, after.key, after.token,
                                     after.account_id))
        asyncio.run(measure(targets, args))
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

if __name__ == "__main__":
    main()
