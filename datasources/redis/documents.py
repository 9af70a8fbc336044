"""Automatic persisted queries: a document's text by its sha256, kept for a while after it was registered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from datasources.instrument import round_trip
from datasources.redis import keys


@round_trip("redis")
async def stored_document(redis: Any, *, sha256: str) -> str | None:
    raw = await redis.get(keys.persisted_query(sha256))
    return raw.decode() if isinstance(raw, bytes) else raw


@round_trip("redis")
async def store_document(redis: Any, *, sha256: str, document: str, ttl: timedelta) -> None:
    await redis.set(keys.persisted_query(sha256), document, ex=max(int(ttl.total_seconds()), 1))
