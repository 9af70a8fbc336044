"""Chroma: each account's `leads_<id>` and `conversations_<id>` collections (see `layout.py`).

One `VectorStore` serves both clients (opened in `connect.py`): chromadb's `AsyncHttpClient` for a server
(`http(s)://`) and the sync `PersistentClient` for the embedded store, the latter through the thread shim in
`threaded.py`. We never let
Chroma embed: its default embedding function downloads a model. Texts are embedded here, in a worker thread,
before the timed round trip, so the per-store time in request stats is Chroma's alone.

Every call names one account, and only that account's collection is opened: there is no shared collection to
filter. A write creates the collection on first use; a read of an account without one answers empty. Handles
are cached (bounded LRU), so a search on a warm account is one request. A handle whose collection was dropped
meanwhile (the account deleted, a restore, a migration, by this process or another) is looked up again once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from datasources.instrument import round_trip
from datasources.vectors.embedder import Embedder
from datasources.vectors.handles import Handles
from datasources.vectors.layout import COSINE, MIGRATIONS, Kind, collection_name
from datasources.vectors.records import LeadText, VectorMatch

if TYPE_CHECKING:
    from datasources.vectors.connect import Connection

HANDLES = 1024  # open collection handles kept, two per busy account

log = logging.getLogger(__name__)


def _log_failed_load(task: asyncio.Task[None]) -> None:
    # the first embed() loads again and raises to its caller; here the failure is only said early
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("the embedder did not load: %s", exc)


def _not_found() -> type[Exception]:
    """chromadb's NotFoundError. `except _not_found():` is evaluated only while an exception is matched, when a
    client has loaded chromadb already: importing it up front would cost every process ~1 s."""
    from chromadb.errors import NotFoundError

    return NotFoundError


def _where(**equals: str | None) -> dict[str, Any] | None:
    clauses = [{key: value} for key, value in equals.items() if value is not None]
    if not clauses:
        return None
    # Chroma rejects an `$and` of fewer than two clauses
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _matches(ids: Sequence[str], distances: Sequence[float], *, exclude: str | None = None) -> list[VectorMatch]:
    return [VectorMatch(id=i, score=1.0 - float(d)) for i, d in zip(ids, distances, strict=True) if i != exclude]


class VectorStore:
    def __init__(
        self, *, connect: Callable[[], Awaitable[Connection]], embedder: Embedder, handles: int = HANDLES
    ) -> None:
        self._connect = connect
        self._embedder = embedder
        self._client: Connection | None = None
        self._warming: asyncio.Task[None] | None = None
        self._handles: Handles[tuple[Kind, int], Any] = Handles(handles)
        self._lock = asyncio.Lock()

    async def _connection(self) -> Connection:
        """The open client, connecting on first use (creates no collection).

        The first connection (the lifespan's migrations, usually) also starts loading the embedder in a worker
        thread: building its onnxruntime session takes seconds, which the first lead write would otherwise
        spend inside its wait for the projections."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await self._connect()
                    if self._warming is None:
                        self._warming = asyncio.create_task(asyncio.to_thread(self._embedder.load))
                        self._warming.add_done_callback(_log_failed_load)
        return self._client

    async def warm(self) -> None:
        """Waits until the embedder has loaded (a failure is logged, and the first embed tries again). The server
        waits for it before it answers: building the model holds the GIL in bursts, which would delay the first
        requests by hundreds of milliseconds."""
        await self._connection()
        if self._warming is not None:
            await asyncio.gather(asyncio.shield(self._warming), return_exceptions=True)

    async def client(self) -> Any:
        """The raw chromadb client, for migrations and backups that work across accounts."""
        return (await self._connection()).client

    async def _collection(self, kind: Kind, account_id: int, *, create: bool) -> Any | None:
        """The account's collection (AsyncCollection or ThreadedCollection); None if it has none and not `create`."""
        key = (kind, account_id)
        if (cached := self._handles.get(key)) is not None:
            return cached
        client = await self.client()
        name = collection_name(kind, account_id)
        if create:
            collection = await client.get_or_create_collection(name, configuration=COSINE, embedding_function=None)
        else:
            try:
                collection = await client.get_collection(name, embedding_function=None)
            except _not_found():
                return None  # not cached: another replica may create it at any moment
        self._handles.put(key, collection)
        return collection

    async def _on[T](
        self, kind: Kind, account_id: int, use: Callable[[Any], Awaitable[T]], *, empty: T, create: bool = False
    ) -> T:
        """`use(collection)` on the account's collection, or `empty` when it has none (and not `create`)."""
        collection = await self._collection(kind, account_id, create=create)
        if collection is None:
            return empty
        try:
            return await use(collection)
        except _not_found():
            # a handle of a collection dropped meanwhile: forget it and look the collection up once more
            self._handles.forget((kind, account_id))
        collection = await self._collection(kind, account_id, create=create)
        return empty if collection is None else await use(collection)

    async def _embed(self, texts: Sequence[str]) -> np.ndarray:
        # the forward pass is CPU-bound (onnxruntime and numpy's BLAS both release the GIL): off the event loop
        return await asyncio.to_thread(self._embedder.embed, texts)

    @round_trip("chroma")
    async def schema_version(self) -> int:
        ledger = await self._ledger()
        return int((ledger.metadata or {}).get("version", 0))

    @round_trip("chroma")
    async def set_schema_version(self, version: int) -> None:
        ledger = await self._ledger()
        await ledger.modify(metadata={"version": version})

    async def _ledger(self) -> Any:
        return await (await self.client()).get_or_create_collection(MIGRATIONS, embedding_function=None)

    @round_trip("chroma")
    async def ping(self) -> None:
        await (await self.client()).heartbeat()

    def forget_handles(self) -> None:
        """After collections were dropped or made wholesale (migrations, restore): look each one up afresh."""
        self._handles.clear()

    async def close(self) -> None:
        async with self._lock:
            connection, self._client = self._client, None
            self._handles.clear()
            if connection is not None:
                await connection.close()
            if self._warming is not None and not self._warming.done():
                # a worker thread cannot be stopped: let the load finish rather than leave it behind the loop
                await asyncio.gather(self._warming, return_exceptions=True)

    # leads

    async def upsert_leads(self, *, account_id: int, items: Sequence[LeadText]) -> None:
        # the last text for a lead wins: Chroma refuses duplicate ids in one call
        unique = list({item.lead_id: item for item in items}.values())
        if unique:
            embeddings = await self._embed([item.text for item in unique])
            await self.upsert_lead_vectors(account_id=account_id, items=unique, embeddings=embeddings)

    @round_trip("chroma")
    async def upsert_lead_vectors(self, *, account_id: int, items: Sequence[LeadText], embeddings: np.ndarray) -> None:
        """Upserts leads with vectors computed elsewhere (`upsert_leads` embeds their texts first)."""
        # Chroma merges an upsert's metadata into the stored one and deletes keys given as None: passing every
        # key, None included, makes the stored metadata exactly this lead's. `account_id` is redundant with the
        # collection; it is kept so a record read on its own (a backup, a merge back) still names its tenant.
        metadatas = [{"account_id": account_id, "status": item.status, "source": item.source} for item in items]

        async def upsert(collection: Any) -> None:
            await collection.upsert(
                ids=[item.lead_id for item in items],
                embeddings=embeddings,
                metadatas=metadatas,
                documents=[item.text for item in items],
            )

        await self._on(Kind.LEADS, account_id, upsert, empty=None, create=True)

    @round_trip("chroma")
    async def delete_lead(self, *, account_id: int, lead_id: str) -> None:
        async def delete(collection: Any) -> None:
            await collection.delete(ids=[lead_id])

        await self._on(Kind.LEADS, account_id, delete, empty=None)

    @round_trip("chroma")
    async def similar_leads(self, *, account_id: int, lead_ids: Sequence[str], first: int) -> list[list[VectorMatch]]:
        """For each key (in key order), its `first` nearest other leads of the account; [] for an unknown id.

        Two requests per batch whatever its size: one get for the keys' stored vectors, one query with all of them.
        """
        unique = list(dict.fromkeys(lead_ids))
        if first <= 0 or not unique:
            return [[] for _ in lead_ids]

        async def nearest(collection: Any) -> dict[str, list[VectorMatch]]:
            stored = await collection.get(ids=unique, include=["embeddings"])
            found = list(stored["ids"])
            if not found:
                return {}
            # one extra result, because each key's nearest neighbour is normally itself
            result = await collection.query(
                query_embeddings=np.asarray(stored["embeddings"], dtype=np.float32),
                n_results=first + 1,
                include=["distances"],
            )
            return {
                key: _matches(ids, distances, exclude=key)[:first]
                for key, ids, distances in zip(found, result["ids"], result["distances"], strict=True)
            }

        none: dict[str, list[VectorMatch]] = {}
        by_key = await self._on(Kind.LEADS, account_id, nearest, empty=none)
        return [by_key.get(lead_id, []) for lead_id in lead_ids]

    async def search_leads(
        self, *, account_id: int, text: str, first: int, status: str | None = None, source: str | None = None
    ) -> list[VectorMatch]:
        if first <= 0:
            return []
        vector = (await self._embed([text]))[0]
        return await self.nearest_leads(account_id=account_id, vector=vector, first=first, status=status,
                                        source=source)

    @round_trip("chroma")
    async def nearest_leads(
        self, *, account_id: int, vector: np.ndarray, first: int, status: str | None = None,
        source: str | None = None,
    ) -> list[VectorMatch]:
        """The account's `first` leads nearest to a vector computed elsewhere (`search_leads` embeds a text)."""
        where = _where(status=status, source=source)
        return await self._on(Kind.LEADS, account_id, partial(_nearest, vector=vector, first=first, where=where),
                              empty=[])

    @round_trip("chroma")
    async def count(self, *, account_id: int) -> int:
        async def count(collection: Any) -> int:
            return int(await collection.count())

        return await self._on(Kind.LEADS, account_id, count, empty=0)

    @round_trip("chroma")
    async def lead_texts(self, *, account_id: int, lead_ids: Sequence[str]) -> list[LeadText]:
        """What the index holds for these ids (those it has, in no particular order): text, status, source."""
        if not lead_ids:
            return []

        async def texts(collection: Any) -> list[LeadText]:
            stored = await collection.get(ids=list(dict.fromkeys(lead_ids)), include=["documents", "metadatas"])
            return [
                LeadText(lead_id=i, text=text or "", status=(meta or {}).get("status"),
                         source=(meta or {}).get("source"))
                for i, text, meta in zip(stored["ids"], stored["documents"], stored["metadatas"], strict=True)
            ]

        return await self._on(Kind.LEADS, account_id, texts, empty=[])

    @round_trip("chroma")
    async def lead_ids_page(self, *, account_id: int, limit: int, offset: int = 0) -> list[str]:
        # Chroma pages by offset only, in its insertion order: stable while the pages are read
        async def page(collection: Any) -> list[str]:
            return list((await collection.get(include=[], limit=limit, offset=offset))["ids"])

        return await self._on(Kind.LEADS, account_id, page, empty=[])

    @round_trip("chroma")
    async def clear_account(self, *, account_id: int) -> None:
        """Drops the account's collections with every vector in them (deleting an account, or re-seeding it)."""
        client = await self.client()
        for kind in Kind:
            self._handles.forget((kind, account_id))
            try:
                await client.delete_collection(collection_name(kind, account_id))
            except _not_found():
                pass  # never written, or dropped already

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
        async def upsert(collection: Any) -> None:
            await collection.upsert(
                ids=[call_id],
                embeddings=embeddings,
                metadatas=[{**extra, "account_id": account_id, "lead_id": lead_id}],
                documents=[text],
            )

        await self._on(Kind.CONVERSATIONS, account_id, upsert, empty=None, create=True)

    async def search_conversations(
        self, *, account_id: int, text: str, first: int, lead_id: str | None = None, outcome: str | None = None
    ) -> list[VectorMatch]:
        if first <= 0:
            return []
        vector = (await self._embed([text]))[0]
        return await self._search_conversations(
            account_id=account_id, vector=vector, first=first, where=_where(lead_id=lead_id, outcome=outcome)
        )

    @round_trip("chroma")
    async def _search_conversations(
        self, *, account_id: int, vector: np.ndarray, first: int, where: dict[str, Any] | None
    ) -> list[VectorMatch]:
        return await self._on(Kind.CONVERSATIONS, account_id, partial(_nearest, vector=vector, first=first,
                                                                      where=where), empty=[])


async def _nearest(
    collection: Any, *, vector: np.ndarray, first: int, where: dict[str, Any] | None
) -> list[VectorMatch]:
    result = await collection.query(query_embeddings=vector[None, :], n_results=first, where=where,
                                    include=["distances"])
    return _matches(result["ids"][0], result["distances"][0])
