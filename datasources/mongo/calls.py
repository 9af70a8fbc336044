"""Call logs: a call's lasting record once it has ended."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from datasources.instrument import round_trip
from datasources.mongo.documents import CallLog, utcnow


@dataclass(frozen=True, slots=True)
class CallLogRecord:
    call_id: str
    account_id: int
    lead_id: str | None
    direction: str
    from_number: str | None
    to_number: str | None
    state: str
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration_sec: int | None
    hangup_cause: str | None
    hangup_source: str | None
    answered_by: str | None
    recording_url: str | None
    transcript: str | None
    events: tuple[dict[str, Any], ...]
    outcome: str | None = None
    qualification: dict[str, Any] | None = None
    closer_id: int | None = None


def _record(doc: CallLog) -> CallLogRecord:
    return CallLogRecord(
        doc.call_id, doc.account_id, doc.lead_id, doc.direction, doc.from_number, doc.to_number, doc.state,
        doc.started_at, doc.answered_at, doc.ended_at, doc.duration_sec, doc.hangup_cause, doc.hangup_source,
        doc.answered_by, doc.recording_url, doc.transcript, tuple(doc.events), doc.outcome, doc.qualification,
        doc.closer_id,
    )


@round_trip("mongodb")
async def upsert_call_log(*, account_id: int, call_id: str, fields: dict[str, Any]) -> bool:
    """Writes the log of a call; True while the lead's contact facts have not been updated for it yet."""
    before = await CallLog.get_pymongo_collection().find_one_and_update(
        {"account_id": account_id, "call_id": call_id},
        {"$set": fields, "$setOnInsert": {"created_at": utcnow(), "contact_recorded": False}},
        upsert=True,
        projection={"contact_recorded": 1},
    )
    return before is None or not before.get("contact_recorded")


@round_trip("mongodb")
async def mark_contact_recorded(*, account_id: int, call_id: str) -> None:
    await CallLog.get_pymongo_collection().update_one(
        {"account_id": account_id, "call_id": call_id}, {"$set": {"contact_recorded": True}}
    )


@round_trip("mongodb")
async def call_logs_by_ids(*, account_id: int, ids: Sequence[str]) -> list[CallLogRecord | None]:
    docs = await CallLog.find({"account_id": account_id, "call_id": {"$in": list(ids)}}).to_list()
    found = {doc.call_id: _record(doc) for doc in docs}
    return [found.get(i) for i in ids]


@dataclass(frozen=True, slots=True)
class CallLogPosition:
    """Where a page of a lead's calls ends: the last log's `started_at` (None sorts last) and call id."""

    started_at: datetime | None
    call_id: str


NEWEST_FIRST = {"started_at": -1, "call_id": -1}


def _after(position: CallLogPosition) -> dict[str, Any]:
    """The logs that sort after `position` under NEWEST_FIRST; a missing `started_at` sorts below any date."""
    same = {"started_at": position.started_at, "call_id": {"$lt": position.call_id}}
    if position.started_at is None:
        return same
    return {"$or": [{"started_at": {"$lt": position.started_at}}, same, {"started_at": None}]}


@round_trip("mongodb")
async def call_logs_of_leads(
    *, account_id: int, lead_ids: Sequence[str], limit: int, after: CallLogPosition | None = None
) -> list[list[CallLogRecord]]:
    """Up to `limit` logs of each lead after `after`, newest first, without their events; one query, key order.

    `$setWindowFields` numbers each lead's logs so the per-lead limit is applied in MongoDB.
    """
    match: dict[str, Any] = {"account_id": account_id, "lead_id": {"$in": list(lead_ids)}}
    if after is not None:
        match.update(_after(after))
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {"$project": {"events": 0, "legs": 0}},
        {
            "$setWindowFields": {
                "partitionBy": "$lead_id",
                "sortBy": NEWEST_FIRST,
                "output": {"_rank": {"$documentNumber": {}}},
            }
        },
        {"$match": {"_rank": {"$lte": limit}}},
        {"$sort": NEWEST_FIRST},
        {"$project": {"_rank": 0}},
    ]
    grouped: dict[str, list[CallLogRecord]] = {i: [] for i in lead_ids}
    cursor = await CallLog.get_pymongo_collection().aggregate(pipeline)
    async for raw in cursor:
        grouped[raw["lead_id"]].append(_record(CallLog.model_validate(raw)))
    return [grouped[i] for i in lead_ids]
