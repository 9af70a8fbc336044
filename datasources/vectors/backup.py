"""Chroma collections (ids, documents, metadata, embeddings) as JSON records, and back.

Every collection of ours is archived: each account's (`leads_<id>`, `conversations_<id>`), the migrations
ledger, and the shared ones of schema version 1 should a store still hold them. Takes the chromadb client
(async, or the threaded shim over the embedded one): `VectorStore.client()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from datasources.vectors.layout import COSINE, MIGRATIONS, Kind, account_of
from datasources.vectors.shared import names

PAGE = 500
_SHARED = {kind.value for kind in Kind}


def ours(name: str) -> bool:
    return name == MIGRATIONS or name in _SHARED or account_of(name) is not None


def count_key(record: dict[str, Any]) -> str | None:
    """Items are counted by kind (`leads`, `conversations`), not by collection: two per account would make the
    manifest's counts as long as the account list."""
    if "id" not in record:
        return None
    name = str(record["collection"])
    found = account_of(name)
    return found[0].value if found else name


async def _collection(client: Any, name: str) -> Any:
    options = {} if name == MIGRATIONS else {"configuration": COSINE}
    return await client.get_or_create_collection(name, embedding_function=None, **options)


def _plain(metadata: Any) -> dict[str, Any] | None:
    return {k: v for k, v in metadata.items() if not k.startswith("hnsw:")} if metadata else None


async def dump(client: Any) -> AsyncIterator[dict[str, Any]]:
    """Per collection (by name) `{"collection", "metadata"}`, then `{"collection", "id", "document", "metadata",
    "embedding"}` per item, in Chroma's (insertion) order."""
    for name in sorted(filter(ours, await names(client))):
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
    """Drops every collection of ours but the migrations ledger (which holds no items, only the version)."""
    for name in await names(client):
        if ours(name) and name != MIGRATIONS:
            await client.delete_collection(name)


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
