"""Webhook-to-subscriber latency at a steady rate, and fan-out of one event to many subscribers.

    .venv/bin/python bench/live_calls.py [--rate 50] [--seconds 10] [--subscribers 1000]

Latency: one `callUpdates` subscriber over WebSocket; signed webhooks are posted at `rate` per second and
each event's latency runs from the start of its POST to its arrival at the subscriber.
Fan-out: `subscribers` liveCalls subscriptions (50 per connection, graphql-transport-ws), one webhook, time
until the last subscriber has it; memory per subscriber from the server process's RSS before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path

import httpx
import psutil
import websockets
from stack import app, owner_token, stores

from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode, encode
from tests.servers import app_client_state_key
from voice.client_state import encode as client_state
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers

PER_CONNECTION = 50


def dtmf(call_id: str, account_id: int, digit: str) -> bytes:
    state = client_state(call_id=call_id, account_id=account_id, key=app_client_state_key())
    return envelope("call.dtmf.received", {"call_control_id": "v3:bench", "digit": digit, "client_state": state})


TOKEN: dict[str, str] = {}


async def open_subscriptions(url: str, query: str, variables: dict, count: int) -> websockets.ClientConnection:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"], max_queue=None)  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {TOKEN['owner']}"}}))
    await ws.recv()
    for i in range(count):
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": payload}))
    return ws


async def latency(server_url: str, ws_url: str, key, account_id: int, rate: float, seconds: float) -> list[float]:
    call_id = uuid.uuid4().hex
    query = "subscription($id: ID!) { callUpdates(callId: $id) { cursor } }"
    ws = await open_subscriptions(ws_url, query, {"id": encode("Call", call_id)}, 1)
    await asyncio.sleep(0.5)
    total = int(rate * seconds)
    sent: list[float] = []
    received: list[float] = []

    async def receive() -> None:
        while len(received) < total:
            message = json.loads(await ws.recv())
            if message["type"] == "next":
                received.append(time.perf_counter())

    reader = asyncio.create_task(receive())
    async with httpx.AsyncClient() as http:
        start = time.perf_counter()
        for i in range(total):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            body = dtmf(call_id, account_id, str(i % 10))
            sent.append(time.perf_counter())
            response = await http.post(f"{server_url}/webhooks/telnyx", content=body, headers=signed_headers(key, body))
            assert response.status_code == 200
    await asyncio.wait_for(reader, 30)
    await ws.close()
    return [(r - s) * 1000 for s, r in zip(sent, received, strict=True)]


async def fan_out(
    server_url: str, ws_url: str, key, account_id: int, subscribers: int, pid: int
) -> tuple[float, float]:
    process = psutil.Process(pid)
    before = process.memory_info().rss
    query = "subscription { liveCalls { cursor } }"
    connections = [
        await open_subscriptions(ws_url, query, {}, min(PER_CONNECTION, subscribers - n))
        for n in range(0, subscribers, PER_CONNECTION)
    ]
    await asyncio.sleep(2)
    after = process.memory_info().rss
    arrived: list[float] = []

    async def first_event(ws: websockets.ClientConnection, expected: int) -> None:
        while expected:
            message = json.loads(await ws.recv())
            if message["type"] == "next":
                arrived.append(time.perf_counter())
                expected -= 1

    readers = [asyncio.create_task(first_event(ws, min(PER_CONNECTION, subscribers - i * PER_CONNECTION)))
               for i, ws in enumerate(connections)]
    body = dtmf(uuid.uuid4().hex, account_id, "1")
    started = time.perf_counter()
    async with httpx.AsyncClient() as http:
        await http.post(f"{server_url}/webhooks/telnyx", content=body, headers=signed_headers(key, body))
    await asyncio.wait_for(asyncio.gather(*readers), 60)
    for ws in connections:
        await ws.close()
    return (max(arrived) - started) * 1000, (after - before) / subscribers / 1024


async def run(args: argparse.Namespace) -> None:
    with stores() as env, app(env, "live-calls", SIMULATOR_PACE="0") as server:
        key = load_private_key((Path(env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
        TOKEN["owner"] = owner_token(server)
        account = httpx.post(server.graphql, json={"query": "{ account { id } }"},
                             headers={"authorization": f"Bearer {TOKEN['owner']}"}).json()["data"]["account"]["id"]
        account_id = int(decode(account)[1])
        samples = await latency(server.url, server.ws, key, account_id, args.rate, args.seconds)
        quantiles = statistics.quantiles(samples, n=100)
        print(f"webhook -> subscriber at {args.rate:.0f}/s for {args.seconds:.0f} s ({len(samples)} events): "
              f"p50 {quantiles[49]:.1f} ms, p99 {quantiles[98]:.1f} ms, max {max(samples):.1f} ms")
        last, per_sub = await fan_out(server.url, server.ws, key, account_id, args.subscribers, server.process.pid)
        print(f"fan-out of one event to {args.subscribers} subscribers: last delivery after {last:.1f} ms; "
              f"server memory {per_sub:.1f} KiB per subscriber")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--subscribers", type=int, default=1000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
