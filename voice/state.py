"""The call state machine: `apply(call, event) -> call`, pure.

Telnyx neither orders nor de-duplicates its webhooks, so the result must not depend on arrival order: applying
any permutation of the same events, with repeats, gives the same Call, field for field. Every fact is therefore
kept as something order cannot change: a minimum or maximum (times, state rank), a winner chosen by its
event's (occurred_at, event id) key, or a log sorted by that key from which the visible value is derived.

| event type                     | effect                                                                          |
|--------------------------------|---------------------------------------------------------------------------------|
| call.initiated                 | state >= initiated; started_at = earliest; direction (incoming -> inbound,      |
|                                | outgoing -> outbound)                                                           |
| call.answered                  | state >= answered; answered_at = earliest                                       |
| call.bridged                   | state >= bridged                                                                |
| call.machine.detection.ended   | answered_by = payload.result of the earliest detection (human, machine, ...)    |
| call.machine.premium.          | the same, with premium results (human_residence, human_business, machine,       |
|   detection.ended              | silence, fax_detected, not_sure)                                                |
| call.machine[.premium].        | a detection result `machine` (only a machine has a greeting to end; Telnyx may  |
|   greeting.ended               | send it alone when the beep came first), in the same earliest-wins contest      |
| call.hangup                    | terminal; hangup_cause, hangup_source, ended_at from the earliest hangup        |
| call.speak.started / .ended    | speaking = the latest speak event is a start, and the call is not terminal      |
| call.gather.ended              | gathered = digits of the latest gather that got digits                          |
| call.dtmf.received             | nothing in the call: its digit is a line of the call's DTMF log (`log_line`)    |
| call.recording.saved           | recording_url of the earliest recording: recording_urls, then                   |
|                                | public_recording_urls; mp3 before wav                                           |
| every handled type             | fills call_control_id, call_session_id, from/to when the payload carries them   |
| any other type                 | only updated_at                                                                 |
| any event                      | updated_at = latest occurred_at                                                 |

Applying an event twice changes nothing the second time: every fact is a minimum, a maximum or a winner by key,
so the function is idempotent by construction and keeps no list of the event ids it has seen (that list would
grow with the call; the store de-duplicates deliveries on a per-event key instead). What does grow with a call,
the DTMF digits, is not in the Call: `log_line` gives the event's line of the call's log, a set whose sorted
lines (`model.dtmf_of`) are the same whatever order, and however often, the events came.

"Earliest"/"latest" order by (occurred_at, event id), so ties are broken the same way whatever the order. The
identifiers, numbers and direction are the same on every event of a call leg; should two ever disagree, the
smaller value wins, for the same reason.

State: without a hangup, the highest-ranked live state any applied event reached (RANK: queued < initiated <
ringing < answered < bridged), so a late `initiated` never pulls an answered call back. With a hangup, the
terminal state below, recomputed whenever a fact it depends on arrives: a machine detection that arrives after
the hangup still turns `completed` into `voicemail`. Terminal states outrank every live one and never become
live again; a call already terminal without a hangup (the carrier refused the dial) stays as it is until one
arrives. `ringing` is never reached from Telnyx: Call Control sends no webhook for the far end ringing (SIP
180), so an outbound call goes initiated -> answered; the state stays in the model for carriers that report it.

Terminal state of the chosen hangup. Once the call was picked up (`answered_at` set, or a machine-detection
result: detection only runs on an answered call) it ended as a conversation whatever the cause: `voicemail` if
answered_by is `machine`, else `completed`. Before that, by hangup_cause (the spec's enum, and anything else):

| hangup_cause                                      | terminal state |
|---------------------------------------------------|----------------|
| normal_clearing (1)                               | completed      |
| originator_cancel (the caller gave up first)      | canceled       |
| timeout, no_answer, time_limit                    | no_answer      |
| user_busy                                         | busy           |
| call_rejected, not_found, unspecified             | failed         |
| missing, or any other (e.g. unallocated_number)   | failed         |

(1) normal_clearing ends an established call: seen without an answer, the answer is still on its way, and
`completed` is what the call will be once it arrives. The cause itself is always kept in hangup_cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from datasources.calls.model import RANK, TERMINAL, Call, CallEvent, CallState, LogLine

# Cause -> state for a hangup before anyone picked up; an unknown cause is a failure.
NOT_PICKED_UP: dict[str, CallState] = {
    "normal_clearing": CallState.completed,
    "originator_cancel": CallState.canceled,
    "timeout": CallState.no_answer,
    "no_answer": CallState.no_answer,
    "time_limit": CallState.no_answer,
    "user_busy": CallState.busy,
    "call_rejected": CallState.failed,
    "not_found": CallState.failed,
    "unspecified": CallState.failed,
}

LIVE_STATE: dict[str, CallState] = {
    "call.initiated": CallState.initiated,
    "call.answered": CallState.answered,
    "call.bridged": CallState.bridged,
}

DIRECTIONS = {"incoming": "inbound", "outgoing": "outbound", "inbound": "inbound", "outbound": "outbound"}

type Key = tuple[datetime, str]


def _changed(call: Call, **changes: Any) -> Call:
    """`dataclasses.replace`, or the call itself when it already holds every value: most events leave most
    facts as they were, and building a 30-field frozen record costs more than comparing a few."""
    if all(getattr(call, name) == value for name, value in changes.items()):
        return call
    return replace(call, **changes)


def rank(state: CallState) -> int:
    """Progress order: the live states by RANK, then every terminal state above them all."""
    return RANK.get(state, len(RANK))


def terminal_state(cause: str | None, *, picked_up: bool, answered_by: str | None) -> CallState:
    if picked_up:
        return CallState.voicemail if answered_by == "machine" else CallState.completed
    return NOT_PICKED_UP.get(cause or "unspecified", CallState.failed)


def _text(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return value if isinstance(value, str) and value else None


def _smaller[T: (str, datetime)](current: T | None, new: T | None) -> T | None:
    if current is None:
        return new
    if new is None:
        return current
    return min(current, new)


def _key(event: CallEvent) -> Key:
    return (event.occurred_at, event.id)


def _earlier(event: CallEvent, current: Key | None) -> bool:
    return current is None or _key(event) < current


def _initiated(call: Call, event: CallEvent) -> Call:
    direction = DIRECTIONS.get(_text(event.payload, "direction") or "")
    return _changed(
        call,
        started_at=_smaller(call.started_at, event.occurred_at),
        direction=_smaller(call.direction, direction) or "outbound",
    )


def _answered(call: Call, event: CallEvent) -> Call:
    return _changed(call, answered_at=_smaller(call.answered_at, event.occurred_at))


def _machine_detection(call: Call, event: CallEvent) -> Call:
    result = _text(event.payload, "result")
    if result is None or not _earlier(event, call.answered_by_key):
        return call
    return _changed(call, answered_by=result, answered_by_key=_key(event))


def _greeting(call: Call, event: CallEvent) -> Call:
    if not _earlier(event, call.answered_by_key):
        return call
    return _changed(call, answered_by="machine", answered_by_key=_key(event))


def _hangup(call: Call, event: CallEvent) -> Call:
    if not _earlier(event, call.hangup_key):
        return call
    return _changed(
        call,
        hangup_key=_key(event),
        ended_at=event.occurred_at,
        hangup_cause=_text(event.payload, "hangup_cause"),
        hangup_source=_text(event.payload, "hangup_source"),
    )


def _speak(call: Call, event: CallEvent) -> Call:
    mark = (event.occurred_at, event.id, event.type == "call.speak.started")
    if call.last_speak is not None and mark < call.last_speak:
        return call
    return _changed(call, last_speak=mark)


def _gather(call: Call, event: CallEvent) -> Call:
    # a gather that ended without digits (timeout, hangup, cancelled) answers nothing; keep the previous answer
    digits = _text(event.payload, "digits")
    if digits is None or (call.gathered_key is not None and _key(event) <= call.gathered_key):
        return call
    return _changed(call, gathered=digits, gathered_key=_key(event))


def log_line(event: CallEvent) -> LogLine | None:
    """The event's line of the call's DTMF log (a `call.dtmf.received` with a digit), else None."""
    if event.type != "call.dtmf.received":
        return None
    digit = _text(event.payload, "digit")
    return None if digit is None else LogLine(event.occurred_at, event.id, digit)


def _recording_url(payload: dict[str, Any]) -> str | None:
    for group in ("recording_urls", "public_recording_urls"):
        urls = payload.get(group)
        if isinstance(urls, dict):
            for fmt in ("mp3", "wav"):
                if url := _text(urls, fmt):
                    return url
    return None


def _recording(call: Call, event: CallEvent) -> Call:
    url = _recording_url(event.payload)
    if url is None or not _earlier(event, call.recording_key):
        return call
    return _changed(call, recording_url=url, recording_key=_key(event))


def _nothing(call: Call, event: CallEvent) -> Call:
    return call


HANDLERS: dict[str, Callable[[Call, CallEvent], Call]] = {
    "call.initiated": _initiated,
    "call.answered": _answered,
    "call.bridged": _nothing,
    "call.machine.detection.ended": _machine_detection,
    "call.machine.premium.detection.ended": _machine_detection,
    "call.machine.greeting.ended": _greeting,
    "call.machine.premium.greeting.ended": _greeting,
    "call.hangup": _hangup,
    "call.speak.started": _speak,
    "call.speak.ended": _speak,
    "call.gather.ended": _gather,
    "call.dtmf.received": _nothing,
    "call.recording.saved": _recording,
}


def _identity(call: Call, payload: dict[str, Any]) -> Call:
    return _changed(
        call,
        call_control_id=_smaller(call.call_control_id, _text(payload, "call_control_id")),
        call_session_id=_smaller(call.call_session_id, _text(payload, "call_session_id")),
        from_number=_smaller(call.from_number, _text(payload, "from")),
        to_number=_smaller(call.to_number, _text(payload, "to")),
    )


def _settle(call: Call, event: CallEvent) -> Call:
    """The derived state and speaking flag, recomputed from the facts after every handled event."""
    if call.hangup_key is not None:
        picked_up = call.answered_at is not None or call.answered_by is not None
        state = terminal_state(call.hangup_cause, picked_up=picked_up, answered_by=call.answered_by)
    elif call.state in TERMINAL:
        state = call.state
    else:
        state = max(call.state, LIVE_STATE.get(event.type, call.state), key=rank)
    speaking = call.last_speak is not None and call.last_speak[2] and state not in TERMINAL
    return _changed(call, state=state, speaking=speaking)


def apply(call: Call, event: CallEvent) -> Call:
    updated_at = event.occurred_at if call.updated_at is None else max(call.updated_at, event.occurred_at)
    call = _changed(call, updated_at=updated_at)
    handler = HANDLERS.get(event.type)
    if handler is None:
        return call
    return _settle(_identity(handler(call, event), event.payload), event)
