"""Redis: live call state, event streams, notifications, de-duplication, rate limits, outbox."""

from datasources.redis.client import open_redis, ping

__all__ = ["open_redis", "ping"]
