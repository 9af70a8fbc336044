"""Budgets kept in Redis, shared by every replica.

A principal's cost budget is a leaky bucket of points: it holds up to `capacity`, refills at `rate` points a
second, and an operation takes its cost from it or is refused. One Lua script reads, refills, takes and
writes under Redis' own clock, so replicas racing on one bucket neither spend a point twice nor lose a
refill. A signed-in user's operation checks its session marks (datasources/redis/auth.py) in the same script
(`take_in_session`): one round trip admits it, where a read of the marks and then a take were two, a
quarter of the CPU an operation as small as `{ __typename }` cost. The takes of operations admitted in the same
turn of the event loop go to Redis as one pipeline (datasources/redis/pipelined.py). Counted limits per client address
(sign-in attempts, webhooks) use the `limits` library's moving window over the app's own connection pool, its
counts sent in the same pipeline.
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
from datasources.redis.pipelined import pipelined

# KEYS[#KEYS] the bucket; ARGV capacity, restore rate (points/s), cost. The level and the time it was written
# (µs, Redis' clock) live in one hash; an idle bucket expires once it would be full again, which reads as full.
TAKE = """
local bucket = KEYS[#KEYS]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local saved = redis.call('HMGET', bucket, 'level', 'at')
local level, at = tonumber(saved[1]), tonumber(saved[2])
if level == nil or at == nil then
  level, at = capacity, now
end
level = math.min(capacity, level + math.max(0, now - at) * rate / 1000000)
if cost > level then
  return {0, string.format('%.17g', level)}
end
level = level - cost
redis.call('HSET', bucket, 'level', string.format('%.17g', level), 'at', string.format('%.0f', now))
redis.call('PEXPIRE', bucket, math.ceil((capacity - level) / rate * 1000) + 1000)
return {1, string.format('%.17g', level)}
"""


# KEYS the user's session epoch, the sign-in's revoked mark (when the token names one), the bucket; ARGV as
# TAKE's, then the epoch the token carries. Nothing is taken unless the session stands: {2, ''} Redis has no
# copy of the epoch (the caller reads PostgreSQL), {3, epoch} another epoch (or 'inactive'), {4, ''} the
# sign-in was revoked; else TAKE's answer. (The keys are a user's and a principal's: one Redis, not a cluster.)
TAKE_IN_SESSION = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  return {2, ''}
end
if epoch ~= ARGV[4] then
  return {3, epoch}
end
if #KEYS == 3 and redis.call('EXISTS', KEYS[2]) == 1 then
  return {4, ''}
end
""" + TAKE

NO_COPY, OTHER_EPOCH, REVOKED = 2, 3, 4


@dataclass(frozen=True)
class Taken:
    allowed: bool
    available: float  # points left after the take, or before it when it was refused
    retry_after: float  # seconds until the refused cost fits; 0 when it was taken


@dataclass(frozen=True)
class InSession:
    """What `take_in_session` found: the session marks when they end it or are missing, else what was taken."""

    taken: Taken | None = None  # None: nothing was taken, the session does not stand or Redis has no copy
    epoch: str | None = None  # the epoch Redis holds, when it is not the token's (or 'inactive')
    revoked: bool = False
    no_copy: bool = False


_scripts: WeakKeyDictionary[Any, dict[str, Any]] = WeakKeyDictionary()


def _script(redis: Any, source: str) -> Any:
    """EVALSHA, loading the script when Redis lacks it."""
    known = _scripts.setdefault(redis, {})
    script = known.get(source)
    if script is None:
        script = known[source] = redis.register_script(source)
    return script


def _taken(allowed: object, level: bytes | str, cost: int, rate: float) -> Taken:
    available = float(level)
    return Taken(bool(allowed), available, 0.0 if allowed else (cost - available) / rate)


@round_trip("redis")
async def take(redis: Any, *, subject: str, cost: int, capacity: int, rate: float) -> Taken:
    """Takes `cost` points from the subject's bucket, or none when fewer are left."""
    allowed, level = await pipelined(redis).run(_script(redis, TAKE), [keys.cost_bucket(subject)],
                                                [capacity, repr(float(rate)), cost])
    return _taken(allowed, level, cost, rate)


@round_trip("redis")
async def take_in_session(
    redis: Any, *, subject: str, cost: int, capacity: int, rate: float, user_id: int, family_id: str | None,
    epoch: int,
) -> InSession:
    """`take`, once the user's session marks say the token's session stands; nothing is taken otherwise."""
    marks = [keys.session_epoch(user_id)] + ([keys.family_revoked(family_id)] if family_id is not None else [])
    status, value = await pipelined(redis).run(
        _script(redis, TAKE_IN_SESSION), [*marks, keys.cost_bucket(subject)],
        [capacity, repr(float(rate)), cost, str(epoch)],
    )
    if status == NO_COPY:
        return InSession(no_copy=True)
    if status == OTHER_EPOCH:
        return InSession(epoch=value.decode() if isinstance(value, bytes) else value)
    if status == REVOKED:
        return InSession(revoked=True)
    return InSession(taken=_taken(status, value, cost, rate))


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
    # what `limiter.hit(limit, name)` does (limits 5.x, the redis-py bridge), with the library's own script and
    # key, through the turn's pipeline: a flood of webhooks pays one round trip a turn for its counts, not one each
    bridge = limiter.storage.bridge  # type: ignore[attr-defined]
    key = bridge.prefixed_key(limit.key_for(name))
    if await pipelined(redis).run(bridge.lua_acquire_moving_window, [key],
                                  [time.time(), limit.amount, limit.get_expiry(), 1]):
        return None
    reset, _ = await limiter.get_window_stats(limit, name)
    return max(0.0, reset - time.time())
