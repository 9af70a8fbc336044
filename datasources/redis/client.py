from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from datasources.instrument import round_trip

SCHEMES = ("redis://", "rediss://", "unix://")
MAX_CONNECTIONS = 200
POOL_TIMEOUT = 5.0  # seconds a caller waits for a free connection before the store counts as unavailable


def open_redis(url: str) -> Redis:
    if not url.startswith(SCHEMES):
        scheme = url.partition("://")[0]
        raise ValueError(f"REDIS_URL: unsupported scheme {scheme!r} (use redis://, rediss:// or unix://)")
    # a blocking pool: at its limit a caller waits up to `timeout` for a connection, where redis-py's default pool
    # raises at once (1,000 subscriptions re-checking their sessions together ran the default 100 out)
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, health_check_interval=30, max_connections=MAX_CONNECTIONS, timeout=POOL_TIMEOUT
    )
    return Redis.from_pool(pool)


@round_trip("redis")
async def ping(redis: Redis) -> None:
    await redis.ping()
