"""`/health`, `/health/live` and `/health/ready`: one ping per store, concurrently, each with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse

from datasources.mongo.client import ping as ping_mongo
from datasources.postgres.engine import ping as ping_postgres
from datasources.redis import ping as ping_redis
from datasources.stores import Stores

TIMEOUT = 2.0


@dataclass(frozen=True)
class Check:
    store: str
    up: bool
    latency_ms: float
    error: str | None = None


def probes(stores: Stores) -> dict[str, Callable[[], Awaitable[None]]]:
    return {
        "mongodb": lambda: ping_mongo(stores.mongo),
        "postgresql": lambda: ping_postgres(stores.db),
        "neo4j": stores.graph.ping,
        "redis": lambda: ping_redis(stores.redis),
        "chroma": stores.vectors.ping,
    }


async def _check(store: str, probe: Callable[[], Awaitable[None]]) -> Check:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), TIMEOUT)
    except TimeoutError:
        return Check(store, False, TIMEOUT * 1000, f"no answer within {TIMEOUT:.0f} s")
    except Exception as exc:
        return Check(store, False, (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}"[:300])
    return Check(store, True, round((time.perf_counter() - started) * 1000, 3))


async def check_all(stores: Stores) -> list[Check]:
    return list(await asyncio.gather(*(_check(name, probe) for name, probe in probes(stores).items())))


async def health(request: Request) -> JSONResponse:
    checks = await check_all(request.state.stores)
    up = all(c.up for c in checks)
    body = {
        "status": "ok" if up else "degraded",
        "timestamp": datetime.now(UTC).isoformat(),
        "uptime": round(time.monotonic() - request.state.started, 3),
        "databases": {c.store: "connected" if c.up else f"error: {c.error}" for c in checks},
    }
    return JSONResponse(body, status_code=200 if up else 503)


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "alive", "uptime": round(time.monotonic() - request.state.started, 3)})


async def ready(request: Request) -> JSONResponse:
    checks = await check_all(request.state.stores)
    up = all(c.up for c in checks)
    body = {
        "status": "ready" if up else "not_ready",
        "checks": {
            c.store: {"status": "up" if c.up else "down", "latency_ms": round(c.latency_ms, 3)}
            | ({"error": c.error} if c.error else {})
            for c in checks
        },
    }
    return JSONResponse(body, status_code=200 if up else 503)
