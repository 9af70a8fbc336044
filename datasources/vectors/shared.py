"""The shared layout of schema version 1, and migration 2 from it to one collection per account and back.

Version 1 kept every account's vectors in two collections, `leads` and `conversations`, told apart by the
`account_id` in each record's metadata. Migration 2 splits them into `leads_<id>` and `conversations_<id>`
(`layout.py`); its down merges those back. Vectors are copied, never re-embedded (ids, documents, metadata and
embeddings, a page at a time), and a source collection is dropped only once all of it has been copied, so a
step interrupted anywhere is safe to run again (copies are upserts). A shared record without an `account_id`
belongs to no account, could never be read, and is not copied.

Takes the raw chromadb client (`VectorStore.client()`): the async one, or the threaded shim over the embedded one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from datasources.vectors.layout import COSINE, Kind, account_of, collection_name

PAGE = 500
_ITEMS = ["documents", "metadatas", "embeddings"]


async def names(client: Any) -> list[str]:
    """Every collection's name, listed in pages (a server may hold thousands: two per account)."""
    found: list[str] = []
    while batch := await client.list_collections(limit=PAGE, offset=len(found)):
        # chromadb 1.x lists collection objects; some releases listed bare names
        found += [str(getattr(c, "name", c)) for c in batch]
        if len(batch) < PAGE:
            break
    return found


async def open_collection(client: Any, name: str) -> Any:
    return await client.get_or_create_collection(name, configuration=COSINE, embedding_function=None)


async def create(client: Any) -> None:
    """Migration 1 up: the two shared collections, cosine distance."""
    for kind in Kind:
        await open_collection(client, kind.value)


async def drop(client: Any) -> None:
    """Migration 1 down: deletes the shared collections with their vectors."""
    existing = set(await names(client))
    for kind in Kind:
        if kind.value in existing:
            await client.delete_collection(kind.value)


async def _pages(collection: Any) -> Any:
    offset = 0
    while ids := list((page := await collection.get(include=_ITEMS, limit=PAGE, offset=offset))["ids"]):
        yield ids, page["documents"], page["metadatas"], page["embeddings"]
        offset += len(ids)


async def _upsert(collection: Any, rows: list[tuple[str, Any, Any, Any]]) -> None:
    ids, documents, metadatas, embeddings = zip(*rows, strict=True)
    await collection.upsert(ids=list(ids), documents=list(documents), metadatas=list(metadatas),
                            embeddings=list(embeddings))


def _account(metadata: Any) -> int | None:
    value = (metadata or {}).get("account_id")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


async def split(client: Any) -> None:
    """Migration 2 up: each shared collection's records into their account's collection, then drops it."""
    existing = set(await names(client))
    for kind in Kind:
        if kind.value not in existing:
            continue
        shared = await client.get_collection(kind.value, embedding_function=None)
        targets: dict[int, Any] = {}
        async for ids, documents, metadatas, embeddings in _pages(shared):
            by_account: defaultdict[int, list[tuple[str, Any, Any, Any]]] = defaultdict(list)
            for row in zip(ids, documents, metadatas, embeddings, strict=True):
                if (account_id := _account(row[2])) is not None:
                    by_account[account_id].append(row)
            for account_id, rows in by_account.items():
                if account_id not in targets:
                    targets[account_id] = await open_collection(client, collection_name(kind, account_id))
                await _upsert(targets[account_id], rows)
        await client.delete_collection(kind.value)


async def merge(client: Any) -> None:
    """Migration 2 down: every account collection back into its kind's shared one, then drops it."""
    shared: dict[Kind, Any] = {}
    for name in await names(client):
        if (found := account_of(name)) is None:
            continue
        kind, account_id = found
        if kind not in shared:
            shared[kind] = await open_collection(client, kind.value)
        source = await client.get_collection(name, embedding_function=None)
        async for ids, documents, metadatas, embeddings in _pages(source):
            # the shared layout tells accounts apart by this key alone: set it from the collection, whatever it held
            tagged = [{**(m or {}), "account_id": account_id} for m in metadatas]
            await _upsert(shared[kind], list(zip(ids, documents, tagged, embeddings, strict=True)))
        await client.delete_collection(name)
    for kind in Kind:  # version 1 has both collections, even where no account had any vector
        if kind not in shared:
            await open_collection(client, kind.value)
