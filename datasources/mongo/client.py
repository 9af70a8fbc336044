from __future__ import annotations

from dataclasses import dataclass

from beanie import init_beanie
from pymongo import AsyncMongoClient

from datasources.instrument import round_trip
from datasources.mongo.documents import DOCUMENTS

SCHEMES = ("mongodb://", "mongodb+srv://")


@dataclass(frozen=True)
class Mongo:
    client: AsyncMongoClient
    database: str

    async def close(self) -> None:
        await self.client.close()


async def open_mongo(url: str, *, database: str) -> Mongo:
    """Connects and binds the Beanie documents.

    A database named in the URI's path (`mongodb://host/crm`, as the origin systems' .env files write it)
    wins over `database`.
    """
    if not url.startswith(SCHEMES):
        scheme = url.partition("://")[0]
        raise ValueError(f"MONGODB_URI: unsupported scheme {scheme!r} (use mongodb:// or mongodb+srv://)")
    client: AsyncMongoClient = AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)
    db = client.get_default_database(default=database)
    # indexes and validators are migrations' (datasources/mongo/migrations.py), not Beanie's at every start
    await init_beanie(database=db, document_models=DOCUMENTS, skip_indexes=True)
    return Mongo(client, db.name)


@round_trip("mongodb")
async def ping(mongo: Mongo) -> None:
    await mongo.client[mongo.database].command("ping")
