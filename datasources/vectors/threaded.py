"""The sync chromadb client (PersistentClient) behind the async client's interface.

`VectorStore` is written once against `AsyncClientAPI`/`AsyncCollection`; this shim gives the embedded store
the same coroutine methods by running each sync call in a worker thread, so it never blocks the event loop.
Only the methods the store uses are mirrored.
"""

from __future__ import annotations

import asyncio
from typing import Any


class ThreadedCollection:
    def __init__(self, collection: Any) -> None:
        self._collection = collection

    async def upsert(self, **kwargs: Any) -> None:
        await asyncio.to_thread(self._collection.upsert, **kwargs)

    async def get(self, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._collection.get, **kwargs)

    async def query(self, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._collection.query, **kwargs)

    async def delete(self, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._collection.delete, **kwargs)

    async def count(self) -> int:
        return int(await asyncio.to_thread(self._collection.count))

    @property
    def metadata(self) -> Any:
        return self._collection.metadata

    async def modify(self, **kwargs: Any) -> None:
        await asyncio.to_thread(self._collection.modify, **kwargs)


class ThreadedClient:
    def __init__(self, client: Any) -> None:
        self._client = client

    async def heartbeat(self) -> int:
        return int(await asyncio.to_thread(self._client.heartbeat))

    async def get_or_create_collection(self, name: str, **kwargs: Any) -> ThreadedCollection:
        collection = await asyncio.to_thread(self._client.get_or_create_collection, name, **kwargs)
        return ThreadedCollection(collection)

    async def get_collection(self, name: str, **kwargs: Any) -> ThreadedCollection:
        return ThreadedCollection(await asyncio.to_thread(self._client.get_collection, name, **kwargs))

    async def list_collections(self, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._client.list_collections, **kwargs)

    async def delete_collection(self, name: str) -> None:
        await asyncio.to_thread(self._client.delete_collection, name)

    async def close(self) -> None:
        # releases the shared System's refcount; the last client for a path closes its SQLite files
        await asyncio.to_thread(self._client.close)
