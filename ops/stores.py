"""Opens every store's client from its URL, and closes them in reverse."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

from datasources.graph import open_graph
from datasources.mongo import open_mongo
from datasources.postgres import open_database
from datasources.redis import open_redis
from datasources.stores import Stores
from datasources.vectors import MiniLMEmbedder, open_vectors
from ops.embedded import StoreUrls, start_embedded
from ops.settings import Settings

log = logging.getLogger(__name__)


async def open_all(settings: Settings, exits: AsyncExitStack) -> tuple[Stores, StoreUrls]:
    """Starts the embedded servers the settings leave unset, then opens every store; all undone by `exits`."""
    stack = await asyncio.to_thread(start_embedded, settings)
    exits.callback(stack.stop)
    return await open_stores(settings, stack.urls, exits), stack.urls


async def open_stores(settings: Settings, urls: StoreUrls, exits: AsyncExitStack) -> Stores:
    """Each client is registered on `exits` as soon as it opens, so a failure later closes the earlier ones.
    Schemas are not touched here: `ops.migrate.up_all` (the lifespan with AUTO_MIGRATE, `switchboard migrate`)."""
    db = open_database(urls.postgres, pool_size=settings.postgres_pool_size,
                       max_overflow=settings.postgres_max_overflow)
    exits.push_async_callback(db.close)
    mongo = await open_mongo(urls.mongodb, database=settings.mongodb_database)
    exits.push_async_callback(mongo.close)
    graph = open_graph(
        urls.graph,
        user=settings.neo4j_user,
        password=settings.neo4j_password.get_secret_value(),
        database=settings.neo4j_database,
    )
    exits.push_async_callback(graph.close)
    vectors = open_vectors(urls.chroma, path=urls.chroma_path, embedder=MiniLMEmbedder())
    exits.push_async_callback(vectors.close)
    redis = open_redis(urls.redis)
    exits.push_async_callback(redis.aclose)
    return Stores(db=db, mongo=mongo, graph=graph, vectors=vectors, redis=redis)
