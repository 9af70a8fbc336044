"""Beanie documents for what MongoDB owns: leads and call logs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import BaseModel, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class CompanyDoc(BaseModel):
    name: str | None = None
    title: str | None = None
    industry: str | None = None
    size: str | None = None
    website: str | None = None


class QualificationDoc(BaseModel):
    budget: str | None = None
    authority: str | None = None
    need: str | None = None
    timeline: str | None = None
    answers: dict[str, str] = Field(default_factory=dict)
    # set by the voice agent (voice/scoring.py): the score and class, how the answers came, when, on which call
    score: int | None = None
    cls: str | None = None
    via: str | None = None
    confidence: dict[str, float] = Field(default_factory=dict)
    qualified_at: datetime | None = None
    call_id: str | None = None


class NoteDoc(BaseModel):
    id: str
    body: str
    author_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ConsentDoc(BaseModel):
    call: bool = False
    sms: bool = False
    email: bool = False
    recorded_at: datetime | None = None


class ProjectionDoc(BaseModel):
    """Where the lead's copies in Chroma and the graph stand against its `version` (the projector's state)."""

    pending: bool = False
    failed: bool = False
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None


class Lead(Document):
    account_id: int
    first_name: str
    last_name: str = ""
    email: str | None = None
    phone: str
    company: CompanyDoc = Field(default_factory=CompanyDoc)
    source: str = "web"
    status: str = "new"
    priority: str = "medium"
    score: int = 0
    qualification: QualificationDoc = Field(default_factory=QualificationDoc)
    tags: list[str] = Field(default_factory=list)
    notes: list[NoteDoc] = Field(default_factory=list)
    consent: ConsentDoc = Field(default_factory=ConsentDoc)
    do_not_call: bool = False
    timezone: str = "UTC"
    owner_id: int | None = None
    next_follow_up_at: datetime | None = None
    last_contacted_at: datetime | None = None
    contact_attempts: int = 0
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # bumped by every write, in the same update that marks the projection pending
    version: int = 0
    projection: ProjectionDoc = Field(default_factory=ProjectionDoc)
    indexed_at: datetime | None = None
    graph_synced_at: datetime | None = None

    class Settings:
        name = "leads"
        indexes = [
            pymongo.IndexModel([("account_id", 1), ("phone", 1)], unique=True, name="uniq_account_phone"),
            pymongo.IndexModel([("account_id", 1), ("created_at", -1), ("_id", -1)], name="account_created"),
            pymongo.IndexModel([("account_id", 1), ("status", 1)], name="account_status"),
            pymongo.IndexModel([("account_id", 1), ("owner_id", 1)], name="account_owner"),
            pymongo.IndexModel(
                [("first_name", "text"), ("last_name", "text"), ("company.name", "text"), ("tags", "text")],
                name="lead_text",
            ),
            pymongo.IndexModel([("projection.pending", 1)], name="projection_pending"),
        ]


class CallLog(Document):
    account_id: int
    call_id: str
    lead_id: str | None = None
    direction: str = "outbound"
    from_number: str | None = None
    to_number: str | None = None
    state: str
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_sec: int | None = None
    hangup_cause: str | None = None
    hangup_source: str | None = None
    answered_by: str | None = None
    recording_url: str | None = None
    transcript: str | None = None
    # the voice agent's: how the dialogue ended, the score it set, the closer a hot lead went to
    outcome: str | None = None
    qualification: dict[str, Any] | None = None
    closer_id: int | None = None
    legs: list[dict[str, Any]] = Field(default_factory=list)
    contact_recorded: bool = False
    events: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "call_logs"
        indexes = [
            pymongo.IndexModel([("account_id", 1), ("call_id", 1)], unique=True, name="uniq_account_call"),
            pymongo.IndexModel([("account_id", 1), ("lead_id", 1), ("started_at", -1)], name="account_lead_calls"),
        ]


DOCUMENTS: list[type[Document]] = [Lead, CallLog]
