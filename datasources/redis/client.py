from __future__ import annotations

from redis.asyncio import Redis

from datasources.instrument import round_trip

SCHEMES = ("redis://", "rediss://", "unix://")


def open_redis(url: str) -> Redis:
    if not url.startswith(SCHEMES):
        scheme = url.partition("://")[0]
        raise ValueError(f"REDIS_URL: unsupported scheme {scheme!r} (use redis://, rediss:// or unix://)")
    return Redis.from_url(url, decode_responses=True, health_check_interval=30)


@round_trip("redis")
async def ping(redis: Redis) -> None:
    await redis.ping()
