"""Route-optimisation jobs in Redis: a hash per job (with a TTL) and a stream of its changes.

Each change writes the hash, appends the job's whole new state to its stream and wakes the account's readers
(the calls' StreamBroker serves `optimizationProgress` from that stream). The solver's child process reports
progress with the synchronous client (`SyncJobWriter`); the server writes the rest with the asyncio one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from redis.asyncio import Redis

from datasources.instrument import round_trip
from datasources.redis import keys

JOB_STREAM_MAX = 1_000
TERMINAL = ("done", "failed")


@dataclass(frozen=True)
class JobState:
    id: str
    account_id: int
    status: str  # queued | running | done | failed
    on: str  # the date planned, ISO
    created_at: str
    time_limit_s: float
    objective: str
    best_objective: float | None = None
    progress: float = 0.0
    error: str | None = None
    result: dict[str, Any] | None = None
    fingerprint: dict[str, str] = field(default_factory=dict)
    applied_at: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


_JSON = ("result", "fingerprint")


def _encode(values: dict[str, Any]) -> dict[str, str]:
    return {k: orjson.dumps(v).decode() for k, v in values.items()}


def decode(raw: dict[str, Any]) -> JobState | None:
    if not raw:
        return None
    values = {(k.decode() if isinstance(k, bytes) else k): orjson.loads(v) for k, v in raw.items()}
    known = JobState.__dataclass_fields__
    return JobState(**{k: v for k, v in values.items() if k in known})


def _event(kind: str, state: dict[str, Any]) -> dict[str, bytes]:
    entry = {"type": kind, "occurred_at": datetime.now(UTC).isoformat(), "job": state}
    return {"event": orjson.dumps(entry)}


def _public(state: JobState) -> dict[str, Any]:
    values = {k: getattr(state, k) for k in JobState.__dataclass_fields__}
    values.pop("fingerprint")  # what the plan is checked against at apply: not for subscribers
    return values


@round_trip("redis")
async def create_job(redis_client: Redis, *, state: JobState, ttl_s: int) -> None:
    key = keys.optimization_job(state.account_id, state.id)
    stream = keys.optimization_stream(state.account_id, state.id)
    values = {k: getattr(state, k) for k in JobState.__dataclass_fields__}
    async with redis_client.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping=_encode(values))  # type: ignore[arg-type]
        pipe.expire(key, ttl_s)
        pipe.xadd(stream, _event("queued", _public(state)), maxlen=JOB_STREAM_MAX, approximate=True)  # type: ignore[arg-type]
        pipe.expire(stream, ttl_s)
        pipe.publish(keys.notify_channel(state.account_id), state.id)
        await pipe.execute()


@round_trip("redis")
async def job(redis_client: Redis, *, account_id: int, job_id: str) -> JobState | None:
    raw: Any = await redis_client.hgetall(keys.optimization_job(account_id, job_id))
    return decode(raw)


@round_trip("redis")
async def update_job(
    redis_client: Redis, *, account_id: int, job_id: str, kind: str, ttl_s: int, **changes: Any
) -> JobState | None:
    """Applies `changes` to a job that still exists and appends the new state as a `kind` event."""
    key = keys.optimization_job(account_id, job_id)
    if not await redis_client.exists(key):
        return None
    await redis_client.hset(key, mapping=_encode(changes))  # type: ignore[arg-type]
    raw: Any = await redis_client.hgetall(key)
    state = decode(raw)
    assert state is not None
    stream = keys.optimization_stream(account_id, job_id)
    async with redis_client.pipeline(transaction=True) as pipe:
        pipe.expire(key, ttl_s)
        pipe.xadd(stream, _event(kind, _public(state)), maxlen=JOB_STREAM_MAX, approximate=True)  # type: ignore[arg-type]
        pipe.expire(stream, ttl_s)
        pipe.publish(keys.notify_channel(account_id), job_id)
        await pipe.execute()
    return state


class SyncJobWriter:
    """Progress from the solver's process: the same hash, stream and wake-up, over a blocking client."""

    def __init__(self, url: str, *, account_id: int, job_id: str, ttl_s: int) -> None:
        self.client = redis.Redis.from_url(url)
        self.account_id, self.job_id, self.ttl_s = account_id, job_id, ttl_s

    def update(self, kind: str, **changes: Any) -> None:
        key = keys.optimization_job(self.account_id, self.job_id)
        self.client.hset(key, mapping=_encode(changes))  # type: ignore[arg-type]
        raw: Any = self.client.hgetall(key)
        state = decode(raw)
        if state is None:
            return
        stream = keys.optimization_stream(self.account_id, self.job_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.expire(key, self.ttl_s)
        pipe.xadd(stream, _event(kind, _public(state)), maxlen=JOB_STREAM_MAX, approximate=True)  # type: ignore[arg-type]
        pipe.publish(keys.notify_channel(self.account_id), self.job_id)
        pipe.execute()

    def close(self) -> None:
        self.client.close()


__all__ = ["JobState", "SyncJobWriter", "create_job", "decode", "job", "update_job"]
