"""Chroma: the `leads` and `conversations` vector collections, scoped by the `account_id` in each record's metadata.

One `VectorStore` serves both clients: chromadb's `AsyncHttpClient` for a server (`http(s)://`) and the sync
`PersistentClient` for the embedded store, the latter through the thread shim in `threaded.py`. We never let
Chroma embed: its default embedding function downloads a model. Texts are embedded here, in a worker thread,
before the timed round trip, so the per-store time in request stats is Chroma's alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from datasources.instrument import round_trip
from datasources.vectors.embedder import Embedder
from datasources.vectors.records import LeadText, VectorMatch

LEADS = "leads"
CONVERSATIONS = "conversations"
MIGRATIONS = "switchboard_migrations"  # holds no vectors: its metadata records the applied version
_COSINE = {"hnsw": {"space": "cosine"}}


@dataclass
class Connection:
    """An open client and how to close it: the seam where tests or ops may inject their own."""

    client: Any  # chromadb's AsyncClientAPI, or ThreadedClient over its sync ClientAPI
    close: Callable[[], Awaitable[None]]


@dataclass
class _Collections:
    connection: Connection
    leads: Any  # AsyncCollection or ThreadedCollection: the same coroutine methods
    conversations: Any


def _present(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _where(*, account_id: int, **equals: str | None) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [{"account_id": account_id}]
    clauses += [{key: value} for key, value in _present(**equals).items()]
    # Chroma rejects an `$and` of fewer than two clauses
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _matches(ids: Sequence[str], distances: Sequence[float], *, exclude: str | None = None) -> list[VectorMatch]:
    return [VectorMatch(id=i, score=1.0 - float(d)) for i, d in zip(ids, distances, strict=True) if i != exclude]


async def _names(client: Any) -> set[str]:
    """Collection names; chromadb 1.x lists names, older releases list collection objects."""
    return {getattr(c, "name", c) for c in await client.list_collections()}


class VectorStore:
    def __init__(self, *, connect: Callable[[], Awaitable[Connection]], embedder: Embedder) -> None:
        self._connect = connect
        self._embedder = embedder
        self._client: Connection | None = None
        self._open: _Collections | None = None
        self._lock = asyncio.Lock()

    async def _connection(self) -> Connection:
        """The open client, connecting on first use (creates no collection)."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await self._connect()
        return self._client

    async def _collections(self) -> _Collections:
        if self._open is None:
            connection = await self._connection()
            async with self._lock:
                if self._open is None:
                    leads, conversations = [
                        await connection.client.get_or_create_collection(
                            name, configuration=_COSINE, embedding_function=None
                        )
                        for name in (LEADS, CONVERSATIONS)
                    ]
                    self._open = _Collections(connection, leads, conversations)
        return self._open

    async def _embed(self, texts: Sequence[str]) -> np.ndarray:
        # the forward pass is CPU-bound numpy (it releases the GIL in BLAS): keep it off the event loop
        return await asyncio.to_thread(self._embedder.embed, texts)

    @round_trip("chroma")
    async def ensure_collections(self) -> None:
        await self._collections()

    @round_trip("chroma")
    async def drop_collections(self) -> None:
        """Deletes both collections (Chroma migration 1 down): the vectors go with them."""
        client = (await self._connection()).client
        async with self._lock:
            self._open = None  # the next use of a collection creates it afresh
            for name in (LEADS, CONVERSATIONS):
                if name in await _names(client):
                    await client.delete_collection(name)

    @round_trip("chroma")
    async def schema_version(self) -> int:
        ledger = await self._ledger()
        return int((ledger.metadata or {}).get("version", 0))

    @round_trip("chroma")
    async def set_schema_version(self, version: int) -> None:
        ledger = await self._ledger()
        await ledger.modify(metadata={"version": version})

    async def _ledger(self) -> Any:
        client = (await self._connection()).client
        return await client.get_or_create_collection(MIGRATIONS, embedding_function=None)

    @round_trip("chroma")
    async def ping(self) -> None:
        await (await self._collections()).connection.client.heartbeat()

    async def close(self) -> None:
        async with self._lock:
            connection, self._client, self._open = self._client, None, None
            if connection is not None:
                await connection.close()

    # leads

    async def upsert_leads(self, *, account_id: int, items: Sequence[LeadText]) -> None:
        # the last text for a lead wins: Chroma refuses duplicate ids in one call
        unique = list({item.lead_id: item for item in items}.values())
        if unique:
            embeddings = await self._embed([item.text for item in unique])
            await self._upsert_leads(account_id=account_id, items=unique, embeddings=embeddings)

    @round_trip("chroma")
    async def _upsert_leads(self, *, account_id: int, items: Sequence[LeadText], embeddings: np.ndarray) -> None:
        # Chroma merges an upsert's metadata into the stored one and deletes keys given as None: passing every
        # key, None included, makes the stored metadata exactly this lead's
        metadatas = [{"account_id": account_id, "status": item.status, "source": item.source} for item in items]
        collections = await self._collections()
        await collections.leads.upsert(
            ids=[item.lead_id for item in items],
            embeddings=embeddings,
            metadatas=metadatas,
            documents=[item.text for item in items],
        )

    @round_trip("chroma")
    async def delete_lead(self, *, account_id: int, lead_id: str) -> None:
        # ids AND where: another account's lead with this id is left alone
        collections = await self._collections()
        await collections.leads.delete(ids=[lead_id], where=_where(account_id=account_id))

    @round_trip("chroma")
    async def similar_leads(self, *, account_id: int, lead_ids: Sequence[str], first: int) -> list[list[VectorMatch]]:
        """For each key (in key order), its `first` nearest other leads of the account; [] for an unknown id.

        Two calls per batch whatever its size: one get for the keys' stored vectors, one query with all of them.
        """
        unique = list(dict.fromkeys(lead_ids))
        if first <= 0 or not unique:
            return [[] for _ in lead_ids]
        collections = await self._collections()
        where = _where(account_id=account_id)
        stored = await collections.leads.get(ids=unique, where=where, include=["embeddings"])
        found = list(stored["ids"])
        if not found:
            return [[] for _ in lead_ids]
        # one extra result, because each key's nearest neighbour is normally itself
        result = await collections.leads.query(
            query_embeddings=np.asarray(stored["embeddings"], dtype=np.float32),
            n_results=first + 1,
            where=where,
            include=["distances"],
        )
        nearest = {
            key: _matches(ids, distances, exclude=key)[:first]
            for key, ids, distances in zip(found, result["ids"], result["distances"], strict=True)
        }
        return [nearest.get(lead_id, []) for lead_id in lead_ids]

    async def search_leads(
        self, *, account_id: int, text: str, first: int, status: str | None = None, source: str | None = None
    ) -> list[VectorMatch]:
        if first <= 0:
            return []
        vector = (await self._embed([text]))[0]
        where = _where(account_id=account_id, status=status, source=source)
        return await self._search_leads(vector=vector, first=first, where=where)

    @round_trip("chroma")
    async def _search_leads(self, *, vector: np.ndarray, first: int, where: dict[str, Any]) -> list[VectorMatch]:
        return await self._nearest((await self._collections()).leads, vector=vector, first=first, where=where)

    @round_trip("chroma")
    async def count(self, *, account_id: int) -> int:
        # Chroma counts only whole collections; a filtered get of ids alone is the cheapest exact answer
        collections = await self._collections()
        stored = await collections.leads.get(where=_where(account_id=account_id), include=[])
        return len(stored["ids"])

    @round_trip("chroma")
    async def lead_texts(self, *, account_id: int, lead_ids: Sequence[str]) -> list[LeadText]:
        """What the index holds for these ids (those it has, in no particular order): text, status, source."""
        if not lead_ids:
            return []
        collections = await self._collections()
        stored = await collections.leads.get(
            ids=list(dict.fromkeys(lead_ids)), where=_where(account_id=account_id), include=["documents", "metadatas"]
        )
        return [
            LeadText(lead_id=i, text=text or "", status=(meta or {}).get("status"), source=(meta or {}).get("source"))
            for i, text, meta in zip(stored["ids"], stored["documents"], stored["metadatas"], strict=True)
        ]

    @round_trip("chroma")
    async def lead_ids_page(self, *, account_id: int, limit: int, offset: int = 0) -> list[str]:
        # Chroma pages by offset only, in its insertion order: stable while the pages are read
        collections = await self._collections()
        stored = await collections.leads.get(
            where=_where(account_id=account_id), include=[], limit=limit, offset=offset
        )
        return list(stored["ids"])

    @round_trip("chroma")
    async def clear_account(self, *, account_id: int) -> None:
        collections = await self._collections()
        for collection in (collections.leads, collections.conversations):
            await collection.delete(where=_where(account_id=account_id))

    # conversations

    async def upsert_conversation(
        self, *, account_id: int, call_id: str, lead_id: str, text: str,
        metadata: Mapping[str, str | int | float | bool | None] | None = None,
    ) -> None:
        """`metadata`: more to filter on (the call's `outcome`, `score`, `state`); a None value is left out."""
        embeddings = await self._embed([text])
        extra = {k: v for k, v in (metadata or {}).items() if v is not None and k not in ("account_id", "lead_id")}
        await self._upsert_conversation(
            account_id=account_id, call_id=call_id, lead_id=lead_id, text=text, embeddings=embeddings, extra=extra
        )

    @round_trip("chroma")
    async def _upsert_conversation(
        self, *, account_id: int, call_id: str, lead_id: str, text: str, embeddings: np.ndarray,
        extra: dict[str, Any],
    ) -> None:
        collections = await self._collections()
        await collections.conversations.upsert(
            ids=[call_id],
            embeddings=embeddings,
            metadatas=[{**extra, "account_id": account_id, "lead_id": lead_id}],
            documents=[text],
        )

    async def search_conversations(
        self, *, account_id: int, text: str, first: int, lead_id: str | None = None, outcome: str | None = None
    ) -> list[VectorMatch]:
        if first <= 0:
            return []
        vector = (await self._embed([text]))[0]
        where = _where(account_id=account_id, lead_id=lead_id, outcome=outcome)
        return await self._search_conversations(vector=vector, first=first, where=where)

    @round_trip("chroma")
    async def _search_conversations(
        self, *, vector: np.ndarray, first: int, where: dict[str, Any]
    ) -> list[VectorMatch]:
        collections = await self._collections()
        return await self._nearest(collections.conversations, vector=vector, first=first, where=where)

    @staticmethod
    async def _nearest(collection: Any, *, vector: np.ndarray, first: int, where: dict[str, Any]) -> list[VectorMatch]:
        result = await collection.query(
            query_embeddings=vector[None, :], n_results=first, where=where, include=["distances"]
        )
        return _matches(result["ids"][0], result["distances"][0])


def open_vectors(url: str, *, path: Path, embedder: Embedder) -> VectorStore:
    """CHROMA_URL: empty for the embedded store under `path`, else a Chroma server's http(s) URL.

    Nothing connects until the first call (usually `ensure_collections` in the lifespan).
    """
    if not url:
        return VectorStore(connect=partial(_connect_persistent, path), embedder=embedder)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        scheme = parts.scheme or url
        raise ValueError(
            f"CHROMA_URL: unsupported scheme {scheme!r} (use http://, https:// or leave empty for the embedded store)"
        )
    ssl = parts.scheme == "https"
    port = parts.port or (443 if ssl else 8000)
    return VectorStore(connect=partial(_connect_http, parts.hostname, port, ssl), embedder=embedder)


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


async def _connect_persistent(path: Path) -> Connection:
    import chromadb

    from datasources.vectors.threaded import ThreadedClient

    def create() -> Any:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=_settings())

    client = ThreadedClient(await asyncio.to_thread(create))
    return Connection(client, client.close)


async def _connect_http(host: str, port: int, ssl: bool) -> Connection:
    import chromadb

    client = await chromadb.AsyncHttpClient(host=host, port=port, ssl=ssl, settings=_settings())

    async def close() -> None:
        # AsyncClient has no close(); its server API's async context exit closes the httpx clients, which
        # chromadb keeps in a class-level dict per event loop (one is re-made lazily if another store needs it)
        await client._server.__aexit__(None, None, None)  # type: ignore[attr-defined]

    return Connection(client, close)
