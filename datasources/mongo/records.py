from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CompanyRecord:
    name: str | None = None
    title: str | None = None
    industry: str | None = None
    size: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class QualificationRecord:
    budget: str | None = None
    authority: str | None = None
    need: str | None = None
    timeline: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    score: int | None = None
    cls: str | None = None  # hot | warm | cold
    via: str | None = None  # ai | dtmf
    confidence: dict[str, float] = field(default_factory=dict)
    qualified_at: datetime | None = None
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class NoteRecord:
    id: str
    body: str
    author_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    call: bool = False
    sms: bool = False
    email: bool = False
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeadRecord:
    id: str
    account_id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str
    company: CompanyRecord
    source: str
    status: str
    priority: str
    score: int
    qualification: QualificationRecord
    tags: tuple[str, ...]
    notes: tuple[NoteRecord, ...]
    consent: ConsentRecord
    do_not_call: bool
    timezone: str
    owner_id: int | None
    next_follow_up_at: datetime | None
    last_contacted_at: datetime | None
    contact_attempts: int
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int = 0
    # Chroma or the graph may not hold `version` yet (pending), or gave up on it (failed: dead-lettered)
    sync_pending: bool = False
    sync_failed: bool = False
    indexed_at: datetime | None = None
    graph_synced_at: datetime | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def search_text(self) -> str:
        """What the vector index embeds for a lead: profile, company and notes."""
        parts = [self.full_name]
        if self.company.title or self.company.name:
            parts.append(" at ".join(p for p in (self.company.title, self.company.name) if p))
        if self.company.industry:
            parts.append(f"industry: {self.company.industry}")
        if self.tags:
            parts.append("tags: " + ", ".join(self.tags))
        if self.qualification.need:
            parts.append(f"need: {self.qualification.need}")
        parts.extend(note.body for note in self.notes[-5:])
        return ". ".join(parts)
