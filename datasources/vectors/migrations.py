"""Chroma's migrations; the applied version is the metadata of the (empty) `switchboard_migrations` collection.

1. collections: `leads` and `conversations`, cosine distance. Down deletes them with their vectors: the leads'
   come back with `switchboard reconcile --repair`, the conversations' only from a backup.
"""

from __future__ import annotations

from datasources.migrations import Migration
from datasources.vectors.chroma import VectorStore


class VectorLedger:
    def __init__(self, vectors: VectorStore) -> None:
        self.vectors = vectors

    async def read(self) -> int:
        return await self.vectors.schema_version()

    async def write(self, version: int) -> None:
        await self.vectors.set_schema_version(version)


def migrations(vectors: VectorStore) -> list[Migration]:
    return [Migration(1, "leads and conversations collections", vectors.ensure_collections, vectors.drop_collections)]
