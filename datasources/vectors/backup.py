"""Chroma collections (ids, documents, metadata, embeddings) as JSON records, and back.

Takes the chromadb client (async, or the threaded shim over the embedded one): `VectorStore._connection()`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from datasources.vectors.chroma import _COSINE, CONVERSATIONS, LEADS, MIGRATIONS

COLLECTIONS = (LEADS, CONVERSATIONS, MIGRATIONS)
PAGE = 500


def count_key(record: dict[str, Any]) -> str | None:
    return str(record["collection"]) if "id" in record else None


async def _collection(client: Any, name: str) -> Any:
    options = {} if name == MIGRATIONS else {"configuration": _COSINE}
    return await client.get_or_create_collection(name, embedding_function=None, **options)


def _plain(metadata: Any) -> dict[str, Any] | None:
    return {k: v for k, v in metadata.items() if not k.startswith("hnsw:")} if metadata else None


async def dump(client: Any) -> AsyncIterator[dict[str, Any]]:
    """Per collection `{"collection", "metadata"}`, then `{"collection", "id", "document", "metadata",
    "embedding"}` per item, in Chroma's (insertion) order."""
    existing = {str(getattr(c, "name", c)) for c in await client.list_collections()}
    for name in COLLECTIONS:
        if name not in existing:
            continue
        collection = await _collection(client, name)
        yield {"collection": name, "metadata": _plain(collection.metadata)}
        offset = 0
        while True:
            page = await collection.get(include=["documents", "metadatas", "embeddings"], limit=PAGE, offset=offset)
            ids = list(page["ids"])
            if not ids:
                break
            embeddings = page["embeddings"]
            for n, item_id in enumerate(ids):
                yield {"collection": name, "id": item_id, "document": page["documents"][n],
                       "metadata": page["metadatas"][n],
                       "embedding": None if embeddings is None else [float(x) for x in embeddings[n]]}
            offset += len(ids)


async def wipe(client: Any) -> None:
    """Deletes every item of the collections, keeping the collections (and their configuration)."""
    existing = {str(getattr(c, "name", c)) for c in await client.list_collections()}
    for name in COLLECTIONS:
        if name in existing:
            collection = await _collection(client, name)
            while ids := list((await collection.get(include=[], limit=PAGE))["ids"]):
                await collection.delete(ids=ids)


async def load(client: Any, records: Iterable[dict[str, Any]]) -> None:
    collection: Any = None
    batch: list[dict[str, Any]] = []

    async def flush() -> None:
        if batch:
            await collection.upsert(
                ids=[r["id"] for r in batch], documents=[r["document"] for r in batch],
                metadatas=[r["metadata"] for r in batch], embeddings=[r["embedding"] for r in batch],
            )
        batch.clear()

    for record in records:
        if "id" not in record:
            await flush()
            collection = await _collection(client, record["collection"])
            if record.get("metadata"):
                await collection.modify(metadata=record["metadata"])
            continue
        batch.append(record)
        if len(batch) >= PAGE:
            await flush()
    await flush()
