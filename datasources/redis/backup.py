"""Switchboard's Redis keys (the `sb:` prefix) as DUMP payloads with their time to live, and back.

A restored key gets the time to live it had when it was dumped (RESTORE's ttl is relative)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterable
from typing import Any

from redis.asyncio import ConnectionPool, Redis

from datasources.redis.keys import PREFIX

PATTERN = f"{PREFIX}:*"


def raw_client(redis: Redis) -> Redis:
    """A client of the same server that answers bytes (DUMP payloads are binary)."""
    pool = redis.connection_pool
    kwargs = {**pool.connection_kwargs, "decode_responses": False}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))


def count_key(record: dict[str, Any]) -> str:
    return "keys"


async def dump(redis: Redis) -> AsyncIterator[dict[str, Any]]:
    """`{"key", "ttl_ms" (0: none), "value" (base64 DUMP)}` per key, in key order."""
    keys = sorted([key async for key in redis.scan_iter(match=PATTERN, count=1000)])
    for key in keys:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.dump(key)
            pipe.pttl(key)
            value, ttl = await pipe.execute()
        if value is None or ttl == -2:  # expired between the scan and now
            continue
        name = key.decode() if isinstance(key, bytes) else str(key)
        yield {"key": name, "ttl_ms": max(int(ttl), 0), "value": base64.b64encode(value).decode()}


async def wipe(redis: Redis) -> None:
    keys = [key async for key in redis.scan_iter(match=PATTERN, count=1000)]
    for start in range(0, len(keys), 500):
        await redis.unlink(*keys[start:start + 500])


async def load(redis: Redis, records: Iterable[dict[str, Any]]) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for n, record in enumerate(records, 1):
            pipe.restore(record["key"], int(record["ttl_ms"]), base64.b64decode(record["value"]), replace=True)
            if n % 500 == 0:
                await pipe.execute()
        await pipe.execute()
