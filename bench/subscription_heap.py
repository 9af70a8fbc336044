"""What one live subscription holds in the server: objects by type and bytes by allocation site, per subscriber.

    .venv/bin/python bench/subscription_heap.py [--subscribers 1000] [--top 25]

The app runs in this process (uvicorn in a thread, over the bench stores), so its heap can be counted:
`liveCalls` subscriptions are opened over graphql-transport-ws (50 per connection), one event is delivered to
all of them, and the census after (less the census before, both after a full collection) is divided by the
number of subscribers. The client's own share (20 sockets for 1,000 subscriptions) is small beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import httpx
import uvicorn
from live_calls import LIMITS, PER_CONNECTION, Target, open_subscriptions
from stack import ROOT, owner_token, stores

from ops.embedded.ports import free_port
from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode
from tests.servers import AppServer
from voice.signature import load_private_key


def census() -> Counter[str]:
    gc.collect()
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


async def measure(server: AppServer, target: Target, subscribers: int, top: int) -> None:
    query = "subscription { liveCalls { cursor } }"
    before, snap = census(), tracemalloc.take_snapshot()
    sizes = [min(PER_CONNECTION, subscribers - n) for n in range(0, subscribers, PER_CONNECTION)]
    sockets = [await open_subscriptions(server.ws, target.token, query, {}, size) for size in sizes]
    got = [0]

    async def read(ws) -> None:  # type: ignore[no-untyped-def]
        async for raw in ws:
            if json.loads(raw)["type"] == "next":
                got[0] += 1

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(60):
            body, headers = target.dtmf("heap-census", "1")
            await http.post(f"{server.url}/webhooks/telnyx", content=body, headers=headers)
            await asyncio.sleep(1)
            if got[0] >= subscribers:
                break
    await asyncio.sleep(1)
    after, snap_after = census(), tracemalloc.take_snapshot()
    print(f"{got[0]} deliveries to {subscribers} subscribers")
    print("objects per subscriber, by type:")
    for name, n in sorted(((k, after[k] - before[k]) for k in after), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / subscribers:8.2f}  {name}")
    total = sum(after.values()) - sum(before.values())
    print(f"  {total / subscribers:8.2f}  all tracked objects")
    print("bytes per subscriber, by allocation site:")
    stats = snap_after.compare_to(snap, "lineno")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        print(f"  {stat.size_diff / subscribers:8.0f} B  {stat.count_diff / subscribers:6.2f} blocks  "
              f"{Path(frame.filename).name}:{frame.lineno}")
    grown = sum(s.size_diff for s in stats)
    print(f"  {grown / subscribers:8.0f} B  in all (traced Python allocations)")
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with stores() as env:
        port = free_port()
        os.environ.update({**env, **LIMITS, "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING",
                           "SIMULATOR_TARGET": f"http://127.0.0.1:{port}"})
        sys.path.insert(0, str(ROOT))
        from ops.app import create_app
        from ops.settings import Settings

        settings = Settings()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, ws="websockets-sansio",
                                ws_per_message_deflate=settings.ws_per_message_deflate, access_log=False,
                                log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.2)
        app = AppServer(f"http://127.0.0.1:{port}", None, Path("/dev/null"))  # type: ignore[arg-type]
        target = Target("census", ROOT, env, load_private_key((Path(env["SWITCHBOARD_DATA_DIR"]) /
                                                                DEV_KEY_FILE).read_text()))
        target.token = owner_token(app)
        body = httpx.post(app.graphql, json={"query": "{ account { id } }"}, timeout=30,
                          headers={"authorization": f"Bearer {target.token}"}).json()
        target.account_id = int(decode(body["data"]["account"]["id"])[1])
        tracemalloc.start(1)
        asyncio.run(measure(app, target, args.subscribers, args.top))
        server.should_exit = True
        thread.join(30)


if __name__ == "__main__":
    main()
