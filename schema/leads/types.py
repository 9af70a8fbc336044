from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from datasources.mongo.records import LeadRecord
from resolvers.calls.lead_calls import lead_calls
from resolvers.errors import InputError
from resolvers.ids import encode
from resolvers.leads.projector import sync_state
from resolvers.permissions import Action
from schema.context import Info
from schema.leads.enums import LeadPriority, LeadSource, LeadStatus, SyncState
from schema.leads.selection import load_lead
from schema.node import Node
from schema.pagination import Connection
from schema.permissions import can

if TYPE_CHECKING:
    from schema.accounts.types import Account, User
    from schema.calls.types import Call
    from schema.fleet.types import Stop

MAX_REFERRAL_DEPTH = 5
MAX_SIMILAR = 20


@strawberry.type
class Company:
    name: str | None
    title: str | None
    industry: str | None
    size: str | None
    website: str | None


@strawberry.type
class Answer:
    question: str
    answer: str


@strawberry.type(description="BANT qualification and the answers gathered on calls.")
class Qualification:
    budget: str | None
    authority: str | None
    need: str | None
    timeline: str | None
    answers: list[Answer]
    score: int | None = strawberry.field(description="0-100, set by the voice agent's last qualification call.")
    class_: str | None = strawberry.field(name="class", description="hot (>= 70), warm (40-69) or cold (< 40).")
    via: str | None = strawberry.field(description="How the answers came: ai (the AI gather) or dtmf (the menu).")
    qualified_at: datetime | None
    call_id: strawberry.ID | None = strawberry.field(description="The call that set the score.")


@strawberry.type
class Note:
    id: strawberry.ID
    body: str
    created_at: datetime


@strawberry.type
class Consent:
    call: bool
    sms: bool
    email: bool
    recorded_at: datetime | None


@strawberry.type(description="A sales lead (MongoDB), with edges into PostgreSQL, the graph and the vector index.")
class Lead(Node):
    id: strawberry.ID
    first_name: str
    last_name: str
    full_name: str
    email: str | None
    phone: str
    company: Company
    source: LeadSource
    status: LeadStatus
    priority: LeadPriority
    score: int
    qualification: Qualification
    tags: list[str]
    notes: list[Note]
    consent: Consent
    do_not_call: bool
    timezone: str
    next_follow_up_at: datetime | None
    last_contacted_at: datetime | None
    contact_attempts: int
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sync_state: SyncState = strawberry.field(
        description="SYNCED once search (Chroma) and the graph hold this version; PENDING while they catch up; "
        "FAILED when the projector gave up (`switchboard reconcile --repair` mends it)."
    )
    indexed_at: datetime | None = strawberry.field(description="When Chroma last took this lead's current version.")
    graph_synced_at: datetime | None = strawberry.field(
        description="When the graph last took this lead's current version."
    )
    record: strawberry.Private[LeadRecord]

    @classmethod
    def from_record(cls, r: LeadRecord) -> Lead:
        q, c = r.qualification, r.company
        return cls(
            id=strawberry.ID(encode("Lead", r.id)),
            first_name=r.first_name,
            last_name=r.last_name,
            full_name=r.full_name,
            email=r.email,
            phone=r.phone,
            company=Company(name=c.name, title=c.title, industry=c.industry, size=c.size, website=c.website),
            source=LeadSource(r.source),
            status=LeadStatus(r.status),
            priority=LeadPriority(r.priority),
            score=r.score,
            qualification=Qualification(
                budget=q.budget, authority=q.authority, need=q.need, timeline=q.timeline,
                answers=[Answer(question=k, answer=v) for k, v in q.answers.items()],
                score=q.score, class_=q.cls, via=q.via, qualified_at=q.qualified_at,
                call_id=strawberry.ID(encode("Call", q.call_id)) if q.call_id else None,
            ),
            tags=list(r.tags),
            notes=[Note(id=strawberry.ID(n.id), body=n.body, created_at=n.created_at) for n in r.notes],
            consent=Consent(call=r.consent.call, sms=r.consent.sms, email=r.consent.email,
                            recorded_at=r.consent.recorded_at),
            do_not_call=r.do_not_call,
            timezone=r.timezone,
            next_follow_up_at=r.next_follow_up_at,
            last_contacted_at=r.last_contacted_at,
            contact_attempts=r.contact_attempts,
            archived_at=r.archived_at,
            created_at=r.created_at,
            updated_at=r.updated_at,
            sync_state=sync_state(pending=r.sync_pending, failed=r.sync_failed),
            indexed_at=r.indexed_at,
            graph_synced_at=r.graph_synced_at,
            record=r,
        )

    def _from_projection(self, info: Info, field_name: str) -> None:
        """Marks the answer in `extensions.projections` when the store it comes from lags behind this lead."""
        if self.record.sync_pending or self.record.sync_failed:
            info.context.note_lagging(self.id, field_name)

    @strawberry.field(description="The user who owns the lead (PostgreSQL).")
    async def owner(self, info: Info) -> Annotated[User, strawberry.lazy("schema.accounts.types")] | None:
        from schema.accounts.types import User

        if self.record.owner_id is None:
            return None
        found = await info.context.loaders.user.load(self.record.owner_id)
        return User.from_record(found) if found else None

    @strawberry.field(description="The tenant the lead belongs to (PostgreSQL).")
    async def account(self, info: Info) -> Annotated[Account, strawberry.lazy("schema.accounts.types")] | None:
        from schema.accounts.types import Account

        found = await info.context.loaders.account.load(info.context.account_id)
        return Account.from_record(found) if found else None

    @strawberry.field(description="The lead who referred this one (graph).")
    async def referred_by(self, info: Info) -> Lead | None:
        self._from_projection(info, "referredBy")
        referrer = await info.context.loaders.referrer.load(self.record.id)
        if referrer is None:
            return None
        found = await load_lead(info, referrer)
        return Lead.from_record(found) if found else None

    @strawberry.field(description="Leads this one referred, following referrals up to `depth` hops (graph).")
    async def referrals(self, info: Info, depth: int = 1) -> list[Lead] | None:
        if not 1 <= depth <= MAX_REFERRAL_DEPTH:
            raise InputError("depth", f"must be between 1 and {MAX_REFERRAL_DEPTH}, got {depth}")
        self._from_projection(info, "referrals")
        ids = await info.context.loaders.referrals.load((self.record.id, depth))
        return [Lead.from_record(r) for r in await info.context.loaders.leads(ids)]

    @strawberry.field(description="Other leads who work at the same company (graph).")
    async def colleagues(self, info: Info) -> list[Lead] | None:
        self._from_projection(info, "colleagues")
        ids = await info.context.loaders.colleagues.load(self.record.id)
        return [Lead.from_record(r) for r in await info.context.loaders.leads(ids)]

    @strawberry.field(description="The nearest leads by profile and notes (Chroma), best first.")
    async def similar(self, info: Info, first: int = 5) -> list[LeadMatch] | None:
        if not 1 <= first <= MAX_SIMILAR:
            raise InputError("first", f"must be between 1 and {MAX_SIMILAR}, got {first}")
        self._from_projection(info, "similar")
        matches = await info.context.loaders.similar.load((self.record.id, first))
        found = await info.context.loaders.lead.load_many([m.id for m in matches])
        return [
            LeadMatch(score=m.score, lead=Lead.from_record(r)) for m, r in zip(matches, found, strict=True) if r
        ]

    @strawberry.field(description="The lead's call in progress, if any (Redis).", extensions=can(Action.read_calls))
    async def live_call(self, info: Info) -> Annotated[Call, strawberry.lazy("schema.calls.types")] | None:
        from schema.calls.types import Call

        found = await info.context.loaders.live_call_of_lead.load(self.record.id)
        return Call.from_record(found) if found else None

    @strawberry.field(
        description="Ended calls with this lead, newest first (MongoDB call logs).", extensions=can(Action.read_calls)
    )
    async def calls(
        self, info: Info, first: int = 10, after: str | None = None
    ) -> Connection[Annotated[Call, strawberry.lazy("schema.calls.types")]]:
        from schema.calls.types import Call

        found = await lead_calls(info.context, self.record, first=first, after=after)
        return Connection.from_page(found, Call.from_record)  # type: ignore[return-value]

    @strawberry.field(description="Route stops that visit this lead (PostgreSQL).", extensions=can(Action.read_fleet))
    async def stops(self, info: Info) -> list[Annotated[Stop, strawberry.lazy("schema.fleet.types")]] | None:
        from schema.fleet.types import Stop

        found = await info.context.loaders.stops_by_lead.load(self.record.id)
        return [Stop.from_record(s) for s in found]


@strawberry.type
class LeadMatch:
    score: float
    lead: Lead
