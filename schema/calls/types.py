from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from datasources.calls.model import Call as CallRecord
from datasources.postgres.call_agent import StoredScript
from resolvers.calls.subscriptions import CallUpdate
from resolvers.ids import encode
from schema.accounts.types import User
from schema.context import Info
from schema.leads.selection import load_lead
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


async def _transcript(root: Call, info: Info) -> list[str]:
    lines: list[str] = await info.context.loaders.call_transcript.load((root.record.id, root.record.transcript))
    return lines


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
    transcript: list[str] = strawberry.field(
        resolver=_transcript, description="What was said: the transcription of both tracks (\"lead: ...\", "
        "\"agent: ...\") in the order spoken, else the AI gather's message history. Live: the call's transcript log "
        "in Redis (its newest 1,000 lines); ended: its log in MongoDB.")
    gathered: str | None
    speaking: bool
    updated_at: datetime | None
    agent_step: str | None = strawberry.field(description="Where the voice agent's dialogue is: dialing, "
                                                           "detecting, qualifying, asking:<criterion>, voicemail, "
                                                           "closing, transferring, hanging_up, ended.")
    outcome: str | None = strawberry.field(description="transferred, callback, warm, cold, opted_out, voicemail, "
                                                       "hung_up, busy, no_answer (once the dialogue settles it).")
    record: strawberry.Private[CallRecord]

    @strawberry.field(description="The score and class the agent set on this call, while live and after.")
    def qualification(self) -> CallQualification | None:
        q = self.record.qualification
        if not q:
            return None
        return CallQualification(score=int(q["score"]), class_=str(q["class"]), via=str(q["via"]),
                                 answers=JSON(dict(q.get("answers") or {})))

    @strawberry.field(description="The DTMF digits pressed, in the order pressed (the call's log in Redis, kept "
                                  "CALL_RETENTION after the call is archived).")
    async def dtmf(self, info: Info) -> str:
        digits: str = await info.context.loaders.call_dtmf.load(self.record.id)
        return digits

    @strawberry.field(description="The closer a hot lead was transferred to (PostgreSQL).")
    async def closer(self, info: Info) -> User | None:
        if self.record.closer_id is None:
            return None
        found = await info.context.loaders.user.load(self.record.closer_id)
        return User.from_record(found) if found else None

    @classmethod
    def from_record(cls, r: CallRecord) -> Call:
        return cls(
            id=strawberry.ID(encode("Call", r.id)), state=CallState(r.state.value), live=not r.terminal,
            direction=r.direction, from_number=r.from_number, to_number=r.to_number, started_at=r.started_at,
            answered_at=r.answered_at, ended_at=r.ended_at, duration_sec=r.duration_sec, hangup_cause=r.hangup_cause,
            hangup_source=r.hangup_source, answered_by=r.answered_by, recording_url=r.recording_url,
            gathered=r.gathered, speaking=r.speaking,
            updated_at=r.updated_at, agent_step=r.agent_step, outcome=r.outcome, record=r,
        )

    @strawberry.field(description="The lead called (MongoDB).")
    async def lead(self, info: Info) -> Annotated[Lead, strawberry.lazy("schema.leads.types")] | None:
        from schema.leads.types import Lead

        if self.record.lead_id is None:
            return None
        found = await load_lead(info, self.record.lead_id)
        return Lead.from_record(found) if found else None

    @strawberry.field(description="The user who placed the call (PostgreSQL).")
    async def agent(self, info: Info) -> User | None:
        if self.record.agent_id is None:
            return None
        found = await info.context.loaders.user.load(self.record.agent_id)
        return User.from_record(found) if found else None


@strawberry.type(description="One change of a call; `cursor` resumes a subscription right after it. The voice "
                             "agent's dialogue steps are events too (`agent.question_asked`, `agent.answer_heard` "
                             "(partial or final), `agent.transcript_line`, `agent.score_set`, `agent.transferred_to`, "
                             "`agent.voicemail_left`, `agent.opted_out`, `agent.callback_promised`), with what they "
                             "say in `data`.")
class CallEvent:
    cursor: str
    type: str
    occurred_at: datetime
    call: Call
    data: JSON | None = strawberry.field(description="The dialogue step's facts (agent.* events); null otherwise.")
    # the executions of this event for its subscribers with the same document (schema/sharing.py)
    shared_executions: strawberry.Private[dict[Any, Any]]

    @classmethod
    def from_update(cls, update: CallUpdate) -> CallEvent:
        """One CallEvent per update: an update is shared by the subscribers of one data scope, and so is this."""
        made: CallEvent | None = update.shared.get(cls)
        if made is None:
            made = update.shared[cls] = cls(
                cursor=update.cursor, type=update.type, occurred_at=update.occurred_at,
                call=Call.from_record(update.call), data=None if update.data is None else JSON(update.data),
                shared_executions={},
            )
        return made


@strawberry.type(description="The scored BANT answers of a call (voice/scoring.py).")
class CallQualification:
    score: int
    class_: str = strawberry.field(name="class", description="hot (>= 70), warm (40-69) or cold (< 40).")
    via: str = strawberry.field(description="ai (the AI gather) or dtmf (the fallback menu).")
    answers: JSON = strawberry.field(description="criterion -> normalized answer.")


@strawberry.type(description="What the voice agent says and asks, and how it scores (README: the call script).")
class CallScript:
    script: JSON = strawberry.field(description="The whole script (greeting, disclosure, record, questions, "
                                                "opt_out_digit, voicemail, closings, handover, callback_promise, "
                                                "follow_up_hours, weights, voice, language, ai_timeout_ms).")
    updated_at: datetime | None = strawberry.field(description="Null: the account uses the default script.")
    record: strawberry.Private[StoredScript]

    @classmethod
    def from_record(cls, r: StoredScript) -> CallScript:
        return cls(script=JSON(r.script), updated_at=r.updated_at, record=r)

    @strawberry.field(description="Who saved it last.")
    async def updated_by(self, info: Info) -> User | None:
        if self.record.updated_by is None:
            return None
        found = await info.context.loaders.user.load(self.record.updated_by)
        return User.from_record(found) if found else None


@strawberry.type(description="A past call and how near its conversation is to the text searched (1: the same).")
class ConversationMatch:
    call: Call
    score: float
