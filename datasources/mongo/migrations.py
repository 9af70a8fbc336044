"""MongoDB's migrations: the collections with their validators, then their indexes.

The applied version lives in the `switchboard_migrations` collection (`{_id: "mongodb", version}`).

1. collections: `leads` and `call_logs` with a `$jsonSchema` validator (the tenant id on every document, and the
   types the code relies on). A missing collection is created with it; an existing one gets it by `collMod`.
   The embedded server (mongoeco) has no `collMod`: a data folder made before this migration keeps its
   collections unvalidated (logged), new folders get the validator at creation.
2. indexes: the ones `datasources/mongo/documents.py` declares (Beanie's own index creation is off, so these
   migrations own them).
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from datasources.migrations import Migration
from datasources.mongo.documents import CallLog, Lead

log = logging.getLogger(__name__)

LEDGER = "switchboard_migrations"

VALIDATORS: dict[str, dict[str, Any]] = {
    "leads": {"$jsonSchema": {
        "bsonType": "object",
        "required": ["account_id", "first_name", "phone"],
        "properties": {
            "account_id": {"bsonType": ["int", "long"], "minimum": 1},
            "first_name": {"bsonType": "string"},
            "phone": {"bsonType": "string"},
            "version": {"bsonType": ["int", "long"], "minimum": 0},
        },
    }},
    "call_logs": {"$jsonSchema": {
        "bsonType": "object",
        "required": ["account_id", "call_id"],
        "properties": {"account_id": {"bsonType": ["int", "long"], "minimum": 1}, "call_id": {"bsonType": "string"}},
    }},
}
INDEXED = {"leads": Lead, "call_logs": CallLog}


class MongoLedger:
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db

    async def read(self) -> int:
        found = await self.db[LEDGER].find_one({"_id": "mongodb"})
        return int(found["version"]) if found else 0

    async def write(self, version: int) -> None:
        await self.db[LEDGER].update_one({"_id": "mongodb"}, {"$set": {"version": version}}, upsert=True)


def _unsupported(exc: OperationFailure) -> bool:
    return "unsupported" in str(exc).lower() or exc.code in (59, 115)  # CommandNotFound, CommandNotSupported


async def _validate(db: AsyncDatabase, name: str, validator: dict[str, Any]) -> None:
    if name not in await db.list_collection_names():
        await db.create_collection(name, validator=validator, validationLevel="moderate")
        return
    try:
        await db.command({"collMod": name, "validator": validator, "validationLevel": "moderate"})
    except OperationFailure as exc:
        if not _unsupported(exc):
            raise
        log.warning("MongoDB %s: this server has no collMod; the validator applies to new data folders only", name)


def migrations(db: AsyncDatabase) -> list[Migration]:
    async def validators_up() -> None:
        for name, validator in VALIDATORS.items():
            await _validate(db, name, validator)

    async def validators_down() -> None:
        for name in VALIDATORS:
            if name in await db.list_collection_names():
                await _validate(db, name, {})

    async def indexes_up() -> None:
        for name, document in INDEXED.items():
            await db[name].create_indexes(list(document.Settings.indexes))

    async def indexes_down() -> None:
        for name, document in INDEXED.items():
            existing = {index["name"] async for index in await db[name].list_indexes()}
            for model in document.Settings.indexes:
                index_name = model.document["name"]
                if index_name in existing:
                    await db[name].drop_index(index_name)

    return [
        Migration(1, "collections with validators", validators_up, validators_down),
        Migration(2, "lead and call-log indexes", indexes_up, indexes_down),
    ]
