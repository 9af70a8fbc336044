"""Lead reads and writes. Every function takes the tenant and applies it itself."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

from beanie import PydanticObjectId
from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from datasources.instrument import round_trip
from datasources.mongo.documents import Lead, NoteDoc, utcnow
from datasources.mongo.errors import Conflict
from datasources.mongo.records import (
    CompanyRecord,
    ConsentRecord,
    LeadRecord,
    NoteRecord,
    QualificationRecord,
)


class LeadOrder(StrEnum):
    CREATED_AT_DESC = "created_at:-1"
    CREATED_AT_ASC = "created_at:1"
    SCORE_DESC = "score:-1"
    NAME_ASC = "last_name:1"

    @property
    def field(self) -> str:
        return self.value.split(":")[0]

    @property
    def direction(self) -> int:
        return int(self.value.split(":")[1])


@dataclass(frozen=True)
class LeadFilter:
    statuses: Sequence[str] = ()
    sources: Sequence[str] = ()
    tags: Sequence[str] = ()
    owner_id: int | None = None
    text: str | None = None
    include_archived: bool = False
    # the caller's row scope, on top of what they asked for: only leads of these owners (None: unassigned),
    # only these ids
    visible_owners: Sequence[int | None] | None = None
    visible_ids: Sequence[str] | None = None


@dataclass(frozen=True)
class LeadPosition:
    """Where a page ends: the sort value and the id of the last lead seen."""

    value: Any
    id: str


@dataclass
class NewLead:
    first_name: str
    phone: str
    last_name: str = ""
    email: str | None = None
    company: dict[str, Any] = field(default_factory=dict)
    source: str = "web"
    status: str = "new"
    priority: str = "medium"
    score: int = 0
    tags: list[str] = field(default_factory=list)
    consent: dict[str, Any] = field(default_factory=dict)
    do_not_call: bool = False
    timezone: str = "UTC"
    owner_id: int | None = None
    qualification: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def object_id(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def lead_record(doc: Lead) -> LeadRecord:
    c, q, k = doc.company, doc.qualification, doc.consent
    return LeadRecord(
        id=str(doc.id),
        account_id=doc.account_id,
        first_name=doc.first_name,
        last_name=doc.last_name,
        email=doc.email,
        phone=doc.phone,
        company=CompanyRecord(c.name, c.title, c.industry, c.size, c.website),
        source=doc.source,
        status=doc.status,
        priority=doc.priority,
        score=doc.score,
        qualification=QualificationRecord(q.budget, q.authority, q.need, q.timeline, dict(q.answers), q.score, q.cls,
                                          q.via, dict(q.confidence), q.qualified_at, q.call_id),
        tags=tuple(doc.tags),
        notes=tuple(NoteRecord(n.id, n.body, n.author_id, n.created_at) for n in doc.notes),
        consent=ConsentRecord(k.call, k.sms, k.email, k.recorded_at),
        do_not_call=doc.do_not_call,
        timezone=doc.timezone,
        owner_id=doc.owner_id,
        next_follow_up_at=doc.next_follow_up_at,
        last_contacted_at=doc.last_contacted_at,
        contact_attempts=doc.contact_attempts,
        archived_at=doc.archived_at,
        created_at=doc.created_at,
        updated_at=doc.updated_at,
        version=doc.version,
        sync_pending=doc.projection.pending,
        sync_failed=doc.projection.failed,
        indexed_at=doc.indexed_at,
        graph_synced_at=doc.graph_synced_at,
    )


def _default(name: str) -> Any:
    return Lead.model_fields[name].get_default(call_default_factory=True)


_DEFAULTS: dict[str, Any] = {n: _default(n) for n in ("last_name", "source", "status", "priority", "score",
                                                       "do_not_call", "timezone", "contact_attempts", "version")}


def lead_record_of(raw: Mapping[str, Any], *, account_id: int | None = None) -> LeadRecord:
    """The record of a lead document as stored, without validating it: what `lead_record(Lead.model_validate(raw))`
    gives for every document our writes make (the collection's validator and `tests/datasources/mongo/
    test_lead_reads.py` hold it to that), at a fraction of the cost. A field missing from `raw` (an older
    document, or one a projection left out) reads as the document model's default."""
    get, d = raw.get, _DEFAULTS
    c: Mapping[str, Any] = get("company") or {}
    q: Mapping[str, Any] = get("qualification") or {}
    k: Mapping[str, Any] = get("consent") or {}
    p: Mapping[str, Any] = get("projection") or {}
    notes = get("notes") or ()
    return LeadRecord(
        id=str(raw["_id"]),
        account_id=get("account_id", account_id),
        first_name=get("first_name", ""),
        last_name=get("last_name", d["last_name"]),
        email=get("email"),
        phone=get("phone", ""),
        company=CompanyRecord(c.get("name"), c.get("title"), c.get("industry"), c.get("size"), c.get("website")),
        source=get("source", d["source"]),
        status=get("status", d["status"]),
        priority=get("priority", d["priority"]),
        score=get("score", d["score"]),
        qualification=QualificationRecord(
            q.get("budget"), q.get("authority"), q.get("need"), q.get("timeline"), dict(q.get("answers") or {}),
            q.get("score"), q.get("cls"), q.get("via"),
            {name: float(v) for name, v in (q.get("confidence") or {}).items()}, q.get("qualified_at"),
            q.get("call_id"),
        ),
        tags=tuple(get("tags") or ()),
        notes=tuple(NoteRecord(n["id"], n["body"], n.get("author_id"), n.get("created_at") or utcnow())
                    for n in notes),
        consent=ConsentRecord(k.get("call", False), k.get("sms", False), k.get("email", False), k.get("recorded_at")),
        do_not_call=get("do_not_call", d["do_not_call"]),
        timezone=get("timezone", d["timezone"]),
        owner_id=get("owner_id"),
        next_follow_up_at=get("next_follow_up_at"),
        last_contacted_at=get("last_contacted_at"),
        contact_attempts=get("contact_attempts", d["contact_attempts"]),
        archived_at=get("archived_at"),
        created_at=get("created_at") or utcnow(),
        updated_at=get("updated_at") or utcnow(),
        version=get("version", d["version"]),
        sync_pending=p.get("pending", False),
        sync_failed=p.get("failed", False),
        indexed_at=get("indexed_at"),
        graph_synced_at=get("graph_synced_at"),
    )


RECORD_FIELDS = frozenset(f.name for f in fields(LeadRecord))
# a record field read from elsewhere in the document than its own name
_PATHS: dict[str, tuple[str, ...]] = {"id": ("_id",), "sync_pending": ("projection.pending",),
                                      "sync_failed": ("projection.failed",)}


def lead_projection(record_fields: Collection[str]) -> dict[str, int]:
    """The projection that reads these fields of a `LeadRecord` (its id always)."""
    unknown = set(record_fields) - RECORD_FIELDS
    if unknown:
        raise ValueError(f"not fields of a lead record: {sorted(unknown)}")
    return {"_id": 1} | {path: 1 for name in record_fields for path in _PATHS.get(name, (name,))}


# Every write of a lead marks it for the projector in the same update: a fresh version, a fresh set of attempts.
PENDING: dict[str, Any] = {
    "projection.pending": True,
    "projection.failed": False,
    "projection.attempts": 0,
    "projection.last_error": None,
    "projection.next_attempt_at": None,
}


def _query(account_id: int, where: LeadFilter) -> dict[str, Any]:
    query: dict[str, Any] = {"account_id": account_id}
    if not where.include_archived:
        query["archived_at"] = None
    if where.statuses:
        query["status"] = {"$in": list(where.statuses)}
    if where.sources:
        query["source"] = {"$in": list(where.sources)}
    if where.tags:
        query["tags"] = {"$all": list(where.tags)}
    if where.owner_id is not None:
        query["owner_id"] = where.owner_id
    if where.text:
        query["$text"] = {"$search": where.text}
    scope: list[dict[str, Any]] = []
    if where.visible_owners is not None:
        scope.append({"owner_id": {"$in": list(where.visible_owners)}})
    if where.visible_ids is not None:
        scope.append({"_id": {"$in": [oid for oid in map(object_id, where.visible_ids) if oid is not None]}})
    if scope:
        query["$and"] = scope
    return query


def _after(order: LeadOrder, position: LeadPosition) -> dict[str, Any]:
    op = "$gt" if order.direction == ASCENDING else "$lt"
    oid = object_id(position.id)
    return {"$or": [{order.field: {op: position.value}}, {order.field: position.value, "_id": {op: oid}}]}


@round_trip("mongodb")
async def leads_by_ids(
    *, account_id: int, ids: Sequence[str], fields: Collection[str] | None = None
) -> list[LeadRecord | None]:
    """The leads of these ids in key order, None for a missing one. `fields` (of `LeadRecord`) reads only those:
    the other fields of the records answered hold their defaults, for a caller that will not look at them."""
    oids = [oid for oid in map(object_id, ids) if oid is not None]
    found: dict[str, LeadRecord] = {}
    if oids:
        projection = lead_projection(fields) if fields is not None else None
        query = {"_id": {"$in": oids}, "account_id": account_id}
        # (no batch_size: mongoeco answers every document in the first batch anyway, and slower when asked to)
        raws = await Lead.get_pymongo_collection().find(query, projection).to_list()
        found = {str(raw["_id"]): lead_record_of(raw, account_id=account_id) for raw in raws}
    return [found.get(i) for i in ids]


@round_trip("mongodb")
async def list_leads(
    *, account_id: int, where: LeadFilter, order: LeadOrder, limit: int, after: LeadPosition | None = None
) -> list[LeadRecord]:
    query = _query(account_id, where)
    if after is not None:
        query = {"$and": [query, _after(order, after)]}
    sort = [(order.field, order.direction), ("_id", order.direction)]
    # the raw collection, unprojected: Beanie would project every field of the model (and mongoeco drops every
    # projected field of a `$text` match), then validate documents our own writes made
    cursor = Lead.get_pymongo_collection().find(query).sort(sort).limit(limit)
    return [lead_record_of(raw) async for raw in cursor]


@round_trip("mongodb")
async def count_leads(*, account_id: int, where: LeadFilter) -> int:
    return await Lead.get_pymongo_collection().count_documents(_query(account_id, where))


def _new_document(account_id: int, data: NewLead, now: datetime) -> Lead:
    return Lead.model_validate(
        {
            "account_id": account_id,
            "first_name": data.first_name,
            "last_name": data.last_name,
            "email": data.email,
            "phone": data.phone,
            "company": data.company,
            "source": data.source,
            "status": data.status,
            "priority": data.priority,
            "score": data.score,
            "tags": data.tags,
            "consent": {**data.consent, "recorded_at": now if data.consent else None},
            "do_not_call": data.do_not_call,
            "timezone": data.timezone,
            "owner_id": data.owner_id,
            "qualification": data.qualification,
            "notes": [NoteDoc(id=uuid4().hex, body=body, created_at=now) for body in data.notes],
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "projection": {"pending": True},
        }
    )


def _conflict(phone: object) -> Conflict:
    return Conflict("phone", f"a lead with phone {phone} already exists in this account")


@round_trip("mongodb")
async def create_lead(*, account_id: int, data: NewLead) -> LeadRecord:
    doc = _new_document(account_id, data, utcnow())
    try:
        await doc.insert()
    except DuplicateKeyError as exc:
        raise _conflict(data.phone) from exc
    return lead_record(doc)


@round_trip("mongodb")
async def create_leads(*, account_id: int, data: Sequence[NewLead]) -> list[LeadRecord]:
    """Bulk insert for seeding; mongoeco's insert_many slows with the square of the batch, so keep batches small."""
    now = utcnow()
    docs = [_new_document(account_id, d, now) for d in data]
    raw = [doc.model_dump(by_alias=True, exclude={"id"}) for doc in docs]
    result = await Lead.get_pymongo_collection().insert_many(raw)
    for doc, oid in zip(docs, result.inserted_ids, strict=True):
        doc.id = PydanticObjectId(oid)
    return [lead_record(doc) for doc in docs]


@round_trip("mongodb")
async def update_lead(*, account_id: int, lead_id: str, changes: dict[str, Any]) -> LeadRecord | None:
    """Applies `$set` changes, bumps the version and marks the projection pending, in one update; changes that
    change nothing (every field already holds its value) leave the lead as it is, its version and projections
    included, and answer it."""
    oid = object_id(lead_id)
    if oid is None:
        return None
    collection = Lead.get_pymongo_collection()
    mine = {"_id": oid, "account_id": account_id}
    differs = [{path: {"$ne": value}} for path, value in changes.items()]
    try:
        after = await collection.find_one_and_update(
            {**mine, "$or": differs} if differs else mine,
            {"$set": {**changes, "updated_at": utcnow(), **PENDING}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError as exc:
        raise _conflict(changes.get("phone")) from exc
    if after is None and differs:
        after = await collection.find_one(mine)  # unchanged, or not the tenant's
    return lead_record(Lead.model_validate(after)) if after else None


@round_trip("mongodb")
async def add_note(*, account_id: int, lead_id: str, body: str, author_id: int | None) -> LeadRecord | None:
    oid = object_id(lead_id)
    if oid is None:
        return None
    now = utcnow()
    note = NoteDoc(id=uuid4().hex, body=body, author_id=author_id, created_at=now)
    doc = await Lead.get_pymongo_collection().find_one_and_update(
        {"_id": oid, "account_id": account_id},
        {"$push": {"notes": note.model_dump()}, "$set": {"updated_at": now, **PENDING}, "$inc": {"version": 1}},
        return_document=ReturnDocument.AFTER,
    )
    return lead_record(Lead.model_validate(doc)) if doc else None


@round_trip("mongodb")
async def delete_lead(*, account_id: int, lead_id: str) -> bool:
    oid = object_id(lead_id)
    if oid is None:
        return False
    result = await Lead.get_pymongo_collection().delete_one({"_id": oid, "account_id": account_id})
    return result.deleted_count == 1


@round_trip("mongodb")
async def lead_ids_page(*, account_id: int, limit: int, skip: int = 0) -> list[str]:
    cursor = Lead.get_pymongo_collection().find({"account_id": account_id}, {"_id": 1}).sort("_id", 1).skip(skip)
    return [str(raw["_id"]) async for raw in cursor.limit(limit)]


@round_trip("mongodb")
async def lead_records_page(*, account_id: int, limit: int, after: str = "") -> list[LeadRecord]:
    """Every lead of the account, archived ones included, ascending by id after `after` (a keyset page)."""
    query: dict[str, Any] = {"account_id": account_id}
    if after:
        query["_id"] = {"$gt": ObjectId(after)}
    cursor = Lead.get_pymongo_collection().find(query).sort("_id", ASCENDING).limit(limit)
    return [lead_record(Lead.model_validate(raw)) async for raw in cursor]


@round_trip("mongodb")
async def record_contact(*, account_id: int, lead_id: str, at: datetime) -> None:
    # touches nothing Chroma or the graph hold (text, status, source, company, owner): no new version
    oid = object_id(lead_id)
    if oid is not None:
        await Lead.get_pymongo_collection().update_one(
            {"_id": oid, "account_id": account_id},
            {"$set": {"last_contacted_at": at, "updated_at": utcnow()}, "$inc": {"contact_attempts": 1}},
        )


@round_trip("mongodb")
async def clear_account(*, account_id: int) -> int:
    result = await Lead.get_pymongo_collection().delete_many({"account_id": account_id})
    return int(result.deleted_count)
