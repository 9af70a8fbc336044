"""Budgets kept in Redis, shared by every replica.

A principal's cost budget is a leaky bucket of points: it holds up to `capacity`, refills at `rate` points a
second, and an operation takes its cost from it or is refused. One Lua script reads, refills, takes and
writes under Redis' own clock, so replicas racing on one bucket neither spend a point twice nor lose a
refill. Counted limits per client address (sign-in attempts, webhooks) use the `limits` library's moving
window over the app's own connection pool.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from datasources.instrument import round_trip
from datasources.redis import keys

# KEYS[1] the bucket; ARGV capacity, restore rate (points/s), cost. The level and the time it was written (µs,
# Redis' clock) live in one hash; an idle bucket expires once it would be full again, which reads as full.
TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local saved = redis.call('HMGET', KEYS[1], 'level', 'at')
local level, at = tonumber(saved[1]), tonumber(saved[2])
if level == nil or at == nil then
  level, at = capacity, now
end
level = math.min(capacity, level + math.max(0, now - at) * rate / 1000000)
if cost > level then
  return {0, string.format('%.17g', level)}
end
level = level - cost
redis.call('HSET', KEYS[1], 'level', string.format('%.17g', level), 'at', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - level) / rate * 1000) + 1000)
return {1, string.format('%.17g', level)}
"""


@dataclass(frozen=True)
class Taken:
    allowed: bool
    available: float  # points left after the take, or before it when it was refused
    retry_after: float  # seconds until the refused cost fits; 0 when it was taken


_scripts: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


@round_trip("redis")
async def take(redis: Any, *, subject: str, cost: int, capacity: int, rate: float) -> Taken:
    """Takes `cost` points from the subject's bucket, or none when fewer are left."""
    script = _scripts.get(redis)
    if script is None:
        script = _scripts[redis] = redis.register_script(TAKE)  # EVALSHA, loading the script when Redis lacks it
    allowed, level = await script(keys=[keys.cost_bucket(subject)], args=[capacity, repr(float(rate)), cost])
    available = float(level)
    return Taken(bool(allowed), available, 0.0 if allowed else (cost - available) / rate)


async def bucket_level(redis: Any, *, subject: str) -> tuple[float, int] | None:
    """(points left when last written, Redis time of that write in µs), or None for a full, idle bucket."""
    level, at = await redis.hmget(keys.cost_bucket(subject), "level", "at")
    return None if level is None else (float(level), int(at))


_limiters: WeakKeyDictionary[Any, MovingWindowRateLimiter] = WeakKeyDictionary()


def _limiter(redis: Any) -> MovingWindowRateLimiter:
    limiter = _limiters.get(redis)
    if limiter is None:
        storage = RedisStorage("async+redis://", implementation="redispy", key_prefix=keys.limits_prefix(),
                               connection_pool=redis.connection_pool)
        limiter = _limiters[redis] = MovingWindowRateLimiter(storage)
    return limiter


@round_trip("redis")
async def hit(redis: Any, *, limit: RateLimitItem, name: str) -> float | None:
    """Counts one request against `limit` for `name`: None when it is within the limit, else the seconds until
    the window lets one more through."""
    limiter = _limiter(redis)
    if await limiter.hit(limit, name):
        return None
    reset, _ = await limiter.get_window_stats(limit, name)
    return max(0.0, reset - time.time())
