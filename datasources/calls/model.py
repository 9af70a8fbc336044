"""Plain data of a call and of the carrier events that move it. No I/O, no framework."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CallState(StrEnum):
    queued = "queued"
    initiated = "initiated"
    ringing = "ringing"
    answered = "answered"
    bridged = "bridged"
    completed = "completed"
    no_answer = "no_answer"
    busy = "busy"
    failed = "failed"
    canceled = "canceled"
    voicemail = "voicemail"


TERMINAL = frozenset(
    {
        CallState.completed,
        CallState.no_answer,
        CallState.busy,
        CallState.failed,
        CallState.canceled,
        CallState.voicemail,
    }
)
# Progress order of the live states: a call never moves to a lower rank.
RANK = {CallState.queued: 0, CallState.initiated: 1, CallState.ringing: 2, CallState.answered: 3, CallState.bridged: 4}


@dataclass(frozen=True)
class CallEvent:
    """One carrier webhook, as parsed from its envelope (`data.id`, `data.event_type`, `data.payload`)."""

    id: str
    type: str
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def call_control_id(self) -> str | None:
        return self.payload.get("call_control_id")


@dataclass(frozen=True)
class Call:
    """A call as the state machine keeps it: every field is bounded, whatever the length of the call.

    What grows with a call lives beside it, never in it: the ids of the events applied are the per-event
    de-duplication keys (`keys.webhook_seen`), checked by the same write; the DTMF digits are a log (`LogLine`,
    a sorted set keyed by the call), and so are the transcription lines (`transcript` here holds only the AI
    gather's message history, one event's worth, shown when the call has no transcription: `transcript_of`),
    read only by whoever shows them. So a webhook's transaction reads and writes the same few hundred bytes on the
    first event of a call and on the ten-thousandth."""

    id: str
    account_id: int
    lead_id: str | None = None
    agent_id: int | None = None
    state: CallState = CallState.queued
    direction: str = "outbound"
    from_number: str | None = None
    to_number: str | None = None
    call_control_id: str | None = None
    call_session_id: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hangup_cause: str | None = None
    hangup_source: str | None = None
    answered_by: str | None = None
    recording_url: str | None = None
    transcript: tuple[str, ...] = ()  # the AI gather's message history as lines; see `transcript_of`
    gathered: str | None = None
    speaking: bool = False
    updated_at: datetime | None = None
    # Provenance the state machine needs to stay order-independent (voice/state.py). A key is the
    # (occurred_at, event id) of the event a single fact came from: an event with a smaller key replaces it
    # (`last_speak`: a larger one), so the order in which Telnyx delivers events cannot change the result.
    hangup_key: tuple[datetime, str] | None = None
    answered_by_key: tuple[datetime, str] | None = None
    recording_key: tuple[datetime, str] | None = None
    last_speak: tuple[datetime, str, bool] | None = None  # (occurred_at, event id, started)
    gathered_key: tuple[datetime, str] | None = None  # the latest gather that got digits: `gathered`
    # The voice agent's (voice/agent.py): its folded conversation (`Conversation.to_dict`), kept in the same
    # record so one transaction moves both, and what the live view reads of it, derived from its facts.
    conversation: dict[str, Any] | None = None
    agent_step: str | None = None
    qualification: dict[str, Any] | None = None  # score, class, via, answers
    outcome: str | None = None  # transferred | callback | warm | cold | opted_out | voicemail | hung_up | ...
    closer_id: int | None = None  # the user a hot lead was transferred to

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def duration_sec(self) -> int | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0, round((self.ended_at - self.answered_at).total_seconds()))


@dataclass(frozen=True, order=True)
class LogLine:
    """One entry of a call's append-only log (the DTMF digits): a set of these, read in (occurred_at, event id)
    order, gives the same value whatever order the events came in."""

    occurred_at: datetime
    event_id: str
    value: str


def dtmf_of(lines: Iterable[LogLine]) -> str:
    """The digits pressed, in (occurred_at, event id) order: the same for any order or repetition of the lines."""
    return "".join(line.value for line in sorted(set(lines)))


def transcript_of(lines: Iterable[LogLine], history: Iterable[str]) -> list[str]:
    """What a call's `transcript` shows: its transcription lines (both tracks, "speaker: text") in (occurred_at,
    event id) order when it has any, else the AI gather's message history kept in the call."""
    heard = [line.value for line in sorted(set(lines))]
    return heard or list(history)


@dataclass(frozen=True)
class Refused:
    """The call was not placed: the lead may not be called now (consent, do-not-call, calling hours)."""

    reason: str


@dataclass(frozen=True)
class CarrierFailed:
    """The carrier did not take the command; for a dial, the call is recorded as failed."""

    reason: str
