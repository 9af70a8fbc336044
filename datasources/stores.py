"""The open clients of every store, as one bundle handed from the lifespan to each request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from datasources.graph import GraphStore
    from datasources.mongo import Mongo
    from datasources.postgres import Database
    from datasources.vectors import VectorStore


@dataclass(frozen=True)
class Stores:
    db: Database
    mongo: Mongo
    graph: GraphStore
    vectors: VectorStore
    redis: Redis
