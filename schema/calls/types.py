from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from datasources.calls.model import Call as CallRecord
from resolvers.calls.subscriptions import CallUpdate
from resolvers.ids import encode
from schema.accounts.types import User
from schema.context import Info
from schema.node import Node

if TYPE_CHECKING:
    from schema.leads.types import Lead


@strawberry.enum
class CallState(Enum):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    BRIDGED = "bridged"
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELED = "canceled"
    VOICEMAIL = "voicemail"


@strawberry.type(description="A phone call: live state from Redis while it lasts, its log in MongoDB after.")
class Call(Node):
    id: strawberry.ID
    state: CallState
    live: bool = strawberry.field(description="False once the call has reached a terminal state.")
    direction: str
    from_number: str | None = strawberry.field(name="from")
    to_number: str | None = strawberry.field(name="to")
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration_sec: int | None
    hangup_cause: str | None
    hangup_source: str | None
    answered_by: str | None
    recording_url: str | None
    transcript: list[str]
    dtmf: str
    gathered: str | None
    speaking: bool
    updated_at: datetime | None
    record: strawberry.Private[CallRecord]

    @classmethod
    def from_record(cls, r: CallRecord) -> Call:
        return cls(
            id=strawberry.ID(encode("Call", r.id)), state=CallState(r.state.value), live=not r.terminal,
            direction=r.direction, from_number=r.from_number, to_number=r.to_number, started_at=r.started_at,
            answered_at=r.answered_at, ended_at=r.ended_at, duration_sec=r.duration_sec, hangup_cause=r.hangup_cause,
            hangup_source=r.hangup_source, answered_by=r.answered_by, recording_url=r.recording_url,
            transcript=list(r.transcript), dtmf=r.dtmf, gathered=r.gathered, speaking=r.speaking,
            updated_at=r.updated_at, record=r,
        )

    @strawberry.field(description="The lead called (MongoDB).")
    async def lead(self, info: Info) -> Annotated[Lead, strawberry.lazy("schema.leads.types")] | None:
        from schema.leads.types import Lead

        if self.record.lead_id is None:
            return None
        found = await info.context.loaders.lead.load(self.record.lead_id)
        return Lead.from_record(found) if found else None

    @strawberry.field(description="The user who placed the call (PostgreSQL).")
    async def agent(self, info: Info) -> User | None:
        if self.record.agent_id is None:
            return None
        found = await info.context.loaders.user.load(self.record.agent_id)
        return User.from_record(found) if found else None


@strawberry.type(description="One change of a call; `cursor` resumes a subscription right after it.")
class CallEvent:
    cursor: str
    type: str
    occurred_at: datetime
    call: Call

    @classmethod
    def from_update(cls, update: CallUpdate) -> CallEvent:
        return cls(cursor=update.cursor, type=update.type, occurred_at=update.occurred_at,
                   call=Call.from_record(update.call))
