"""DEMO_CALLS_PER_MINUTE: a server with it on dials demo leads by itself (no agent: nobody clicked)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis

from datasources.redis import keys
from resolvers.ids import decode
from tests.servers import AppServer, start_app


@pytest.fixture(scope="module")
def busy_app(app_server: AppServer, store_env: dict[str, str], data_root: Path) -> Iterator[AppServer]:
    server = start_app({**store_env, "SEED_DEMO": "0", "DEMO_CALLS_PER_MINUTE": "240"}, data_root / "app-demo.log")
    yield server
    server.stop()


def test_demo_calls_are_placed_without_anyone_clicking(
    busy_app: AppServer, store_env: dict[str, str], auth_headers: dict[str, str]
) -> None:
    account = httpx.post(busy_app.graphql, json={"query": "{ account { id } }"},
                         headers=auth_headers).json()["data"]["account"]["id"]
    stream = keys.account_stream(int(decode(account)[1]))
    client = redis.Redis.from_url(store_env["REDIS_URL"], decode_responses=True)
    start = f"{int(time.time() * 1000)}-0"
    try:
        deadline = time.monotonic() + 30
        while True:
            rows: Any = client.xrange(stream, min=start)
            events = [orjson.loads(f["event"]) for _, f in rows]
            demo = [e for e in events if e["type"] == "call.queued" and e["call"]["agent_id"] is None]
            if demo or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        client.close()
    assert demo, f"no demo call in 30 s:\n{busy_app.log_tail()}"
    assert demo[0]["call"]["lead_id"] and demo[0]["call"]["direction"] == "outbound"
