"""Identity state kept in Redis: failed sign-ins per email, and the marks that end access tokens early.

An access token is a JWT and lives until it expires; these marks let every replica refuse it sooner. The
user's session epoch (also in PostgreSQL, the record) ends all of a user's tokens; a revoked family ends the
tokens of one sign-in. Redis holds copies: when one is missing the caller reads PostgreSQL and writes it back.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError

from datasources.instrument import round_trip
from datasources.redis import keys

INACTIVE = "inactive"
Unavailable = RedisError  # what callers catch when Redis cannot answer


def email_digest(email: str) -> str:
    """Keys never hold the email itself."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


@round_trip("redis")
async def failed_sign_ins(redis: Any, *, email: str) -> tuple[int, int]:
    """(failures so far, seconds until they are forgotten)."""
    key = keys.login_failures(email_digest(email))
    async with redis.pipeline(transaction=False) as pipe:
        count, ttl = await pipe.get(key).ttl(key).execute()
    return int(count or 0), max(int(ttl), 0)


@round_trip("redis")
async def count_failed_sign_in(redis: Any, *, email: str, window: timedelta) -> int:
    """One more failure; the window restarts with each, so a lock lasts `window` after the last try."""
    key = keys.login_failures(email_digest(email))
    async with redis.pipeline(transaction=True) as pipe:
        count, _ = await pipe.incr(key).expire(key, int(window.total_seconds())).execute()
    return int(count)


@round_trip("redis")
async def clear_failed_sign_ins(redis: Any, *, email: str) -> None:
    await redis.delete(keys.login_failures(email_digest(email)))


@round_trip("redis")
async def session_marks(redis: Any, *, user_id: int, family_id: str | None) -> tuple[str | None, bool]:
    """(the user's epoch or INACTIVE, or None when Redis has no copy; whether the family is revoked)."""
    epoch_key = keys.session_epoch(user_id)
    if family_id is None:
        raw = await redis.get(epoch_key)
        return (raw.decode() if isinstance(raw, bytes) else raw), False
    epoch, revoked = await redis.mget(epoch_key, keys.family_revoked(family_id))
    return (epoch.decode() if isinstance(epoch, bytes) else epoch), revoked is not None


@round_trip("redis")
async def set_session_epoch(
    redis: Any, *, user_id: int, epoch: int | None, keep: timedelta, refill: bool = False
) -> None:
    """Records the user's epoch (None: deactivated). Kept at least as long as an access token lives. A `refill`
    (a copy read back from PostgreSQL) never overwrites a value a change wrote meanwhile."""
    await redis.set(keys.session_epoch(user_id), INACTIVE if epoch is None else str(epoch),
                    ex=int(keep.total_seconds()) + 60, nx=refill)


@round_trip("redis")
async def mark_family_revoked(redis: Any, *, family_id: str, keep: timedelta) -> None:
    await redis.set(keys.family_revoked(family_id), "1", ex=int(keep.total_seconds()) + 60)
