"""Chroma's migrations; the applied version is the metadata of the (empty) `switchboard_migrations` collection.

1. collections: `leads` and `conversations` shared by every account, cosine distance. Down deletes them with
   their vectors: the leads' come back with `switchboard reconcile --repair`, the conversations' only from a
   backup.
2. one collection per account: moves the shared collections' vectors into `leads_<account>` and
   `conversations_<account>` and drops the shared ones; down merges them back (`shared.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from datasources.migrations import Migration
from datasources.vectors import shared
from datasources.vectors.chroma import VectorStore


class VectorLedger:
    def __init__(self, vectors: VectorStore) -> None:
        self.vectors = vectors

    async def read(self) -> int:
        return await self.vectors.schema_version()

    async def write(self, version: int) -> None:
        await self.vectors.set_schema_version(version)


def _step(vectors: VectorStore, move: Callable[[Any], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await move(await vectors.client())
        vectors.forget_handles()  # the collections this process had open may be gone

    return run


def migrations(vectors: VectorStore) -> list[Migration]:
    return [
        Migration(1, "leads and conversations collections", _step(vectors, shared.create), _step(vectors, shared.drop)),
        Migration(2, "one collection per account", _step(vectors, shared.split), _step(vectors, shared.merge)),
    ]
