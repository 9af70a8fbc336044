"""MongoDB collections as canonical Extended JSON records, with their options and indexes, and back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from bson import json_util
from bson.json_util import CANONICAL_JSON_OPTIONS
from pymongo.asynchronous.database import AsyncDatabase

BATCH = 200  # mongoeco slows down sharply with large insert batches


def _ejson(value: Any) -> Any:
    return json.loads(json_util.dumps(value, json_options=CANONICAL_JSON_OPTIONS))


def _bson(value: Any) -> Any:
    return json_util.loads(json.dumps(value), json_options=CANONICAL_JSON_OPTIONS)


def count_key(record: dict[str, Any]) -> str | None:
    """Documents count per collection; a collection's header record is not a document."""
    return str(record["collection"]) if "doc" in record else None


async def dump(db: AsyncDatabase[Any]) -> AsyncIterator[dict[str, Any]]:
    """Per collection (by name): `{"collection", "options", "indexes"}`, then `{"collection", "doc"}` by _id."""
    infos = sorted([info async for info in await db.list_collections()], key=lambda i: i["name"])
    for info in infos:
        name = info["name"]
        if info.get("type", "collection") != "collection" or name.startswith("system."):
            continue
        indexes = [dict(spec) async for spec in await db[name].list_indexes()]
        yield {"collection": name, "options": _ejson(info.get("options", {})),
               "indexes": [_ejson({k: v for k, v in spec.items() if k not in ("v", "ns")}) for spec in indexes
                           if spec.get("name") != "_id_"]}
        async for doc in db[name].find({}).sort("_id", 1):
            yield {"collection": name, "doc": _ejson(doc)}


async def wipe(db: AsyncDatabase[Any]) -> None:
    """Empties every collection, keeping its validator and indexes (the migrations' work)."""
    for name in await db.list_collection_names():
        if not name.startswith("system."):
            await db[name].delete_many({})


async def load(db: AsyncDatabase[Any], records: Iterable[dict[str, Any]]) -> None:
    existing = set(await db.list_collection_names())
    batch: list[dict[str, Any]] = []
    current: str | None = None

    async def flush() -> None:
        if batch and current is not None:
            await db[current].insert_many(batch, ordered=True)
        batch.clear()

    for record in records:
        name = record["collection"]
        if name != current or len(batch) >= BATCH:
            await flush()
            current = name
        if "doc" in record:
            batch.append(_bson(record["doc"]))
            continue
        if name not in existing:
            await db.command({"create": name, **_bson(record.get("options") or {})})
            existing.add(name)
        # an index the migrations already made stays as they made it (a server may list it with extra options)
        have = {spec["name"] async for spec in await db[name].list_indexes()}
        if missing := [_bson(spec) for spec in record["indexes"] if spec.get("name") not in have]:
            await db.command({"createIndexes": name, "indexes": missing})
    await flush()
