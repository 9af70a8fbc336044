"""The projector's state on each lead document: claims under a lease, done only for the version projected.

A lead is claimed with one `find_one_and_update`, so of several replicas exactly one projects a change at a
time; the lease expires, so a projector that dies mid-way holds nothing for long. Done is conditional on the
version it projected: a write made meanwhile leaves the lead pending, to be projected again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from datasources.instrument import round_trip
from datasources.mongo.documents import Lead
from datasources.mongo.leads import lead_record, object_id
from datasources.mongo.records import LeadRecord

_FREE: dict[str, Any] = {"projection.lease_until": None, "projection.lease_owner": None}


def _claimable(now: datetime) -> dict[str, Any]:
    return {
        "projection.pending": True,
        "projection.failed": {"$ne": True},
        "$and": [
            {"$or": [{"projection.lease_until": None}, {"projection.lease_until": {"$lt": now}}]},
            {"$or": [{"projection.next_attempt_at": None}, {"projection.next_attempt_at": {"$lte": now}}]},
        ],
    }


async def _claim(
    query: dict[str, Any], *, owner: str, now: datetime, lease: timedelta
) -> tuple[LeadRecord, int] | None:
    raw = await Lead.get_pymongo_collection().find_one_and_update(
        query,
        {"$set": {"projection.lease_until": now + lease, "projection.lease_owner": owner}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        return None
    doc = Lead.model_validate(raw)
    return lead_record(doc), doc.projection.attempts


@round_trip("mongodb")
async def claim_next(*, owner: str, now: datetime, lease: timedelta) -> tuple[LeadRecord, int] | None:
    """Any pending lead no one holds and due for an attempt: its record and the attempts made so far."""
    return await _claim(_claimable(now), owner=owner, now=now, lease=lease)


@round_trip("mongodb")
async def claim_lead(
    *, account_id: int, lead_id: str, owner: str, now: datetime, lease: timedelta
) -> tuple[LeadRecord, int] | None:
    """This lead, if it is pending and no one else holds it (a fresh write makes it due at once)."""
    oid = object_id(lead_id)
    if oid is None:
        return None
    query = {**_claimable(now), "_id": oid, "account_id": account_id}
    return await _claim(query, owner=owner, now=now, lease=lease)


@round_trip("mongodb")
async def mark_projected(*, lead_id: str, version: int, owner: str, at: datetime) -> bool:
    """Done, if the lead is still at `version`; False when a newer write has to be projected again."""
    collection = Lead.get_pymongo_collection()
    oid = object_id(lead_id)
    done = await collection.update_one(
        {"_id": oid, "version": version},
        {"$set": {"projection.pending": False, "projection.failed": False, "projection.attempts": 0,
                  "projection.last_error": None, "projection.next_attempt_at": None, **_FREE,
                  "indexed_at": at, "graph_synced_at": at}},
    )
    if done.matched_count:
        return True
    await collection.update_one({"_id": oid, "projection.lease_owner": owner}, {"$set": _FREE})
    return False


@round_trip("mongodb")
async def mark_all_projected(*, records: Sequence[LeadRecord], at: datetime) -> None:
    """`mark_projected` for many leads at once (seeding, repair), each guarded by its own version."""
    if not records:
        return
    await Lead.get_pymongo_collection().update_many(
        {"$or": [{"_id": object_id(r.id), "version": r.version} for r in records]},
        {"$set": {"projection.pending": False, "projection.failed": False, "projection.attempts": 0,
                  "projection.last_error": None, "projection.next_attempt_at": None, **_FREE,
                  "indexed_at": at, "graph_synced_at": at}},
    )


@round_trip("mongodb")
async def record_failure(
    *, lead_id: str, version: int, owner: str, attempts: int, error: str, next_attempt_at: datetime | None,
    failed: bool,
) -> None:
    """Gives the lease back with the failure; `failed` dead-letters the lead (never claimed again).

    A write made meanwhile started a fresh count of attempts: then only the lease is given back.
    """
    collection = Lead.get_pymongo_collection()
    oid = object_id(lead_id)
    mine = {"_id": oid, "projection.lease_owner": owner}
    counted = await collection.update_one(
        {**mine, "version": version},
        {"$set": {"projection.attempts": attempts, "projection.last_error": error[:500],
                  "projection.next_attempt_at": next_attempt_at, "projection.failed": failed, **_FREE}},
    )
    if not counted.matched_count:
        await collection.update_one(mine, {"$set": _FREE})


@dataclass(frozen=True)
class Backlog:
    """The projector's queue over every account (an operator's figure, not tenant data)."""

    pending: int
    failed: int
    oldest: datetime | None  # the last write of the longest-waiting pending lead


@round_trip("mongodb")
async def backlog() -> Backlog:
    leads = Lead.get_pymongo_collection()
    pending = await leads.count_documents({"projection.pending": True, "projection.failed": {"$ne": True}})
    failed = await leads.count_documents({"projection.failed": True})
    first = await leads.find_one({"projection.pending": True, "projection.failed": {"$ne": True}},
                                 {"updated_at": 1}, sort=[("updated_at", 1)])
    return Backlog(pending, failed, first["updated_at"] if first else None)
