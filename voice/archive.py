"""When a call ends: its log to MongoDB, its edge in the graph, its words in Chroma, the lead's contact facts.

Every step is idempotent, so the outbox may run an archive again after a failure part-way through.
"""

from __future__ import annotations

from collections.abc import Sequence

from datasources.calls.model import Call, LogLine, transcript_of
from datasources.mongo import calls as call_logs
from datasources.mongo import leads
from datasources.stores import Stores


def conversation_text(call: Call, transcript: Sequence[str] | None = None) -> str:
    """What Chroma indexes for a call: the transcript (`transcript_of` its log; the record's by default), else a
    summary of what happened."""
    transcript = call.transcript if transcript is None else transcript
    if transcript:
        return "\n".join(transcript)
    parts = [f"{call.direction} call ended {call.state}"]
    if call.hangup_cause:
        parts.append(f"hangup cause {call.hangup_cause}")
    if call.answered_by:
        parts.append(f"answered by {call.answered_by}")
    if call.gathered:
        parts.append(f"caller entered {call.gathered}")
    return ", ".join(parts)


async def archive(stores: Stores, call: Call, events: list[dict], said: Sequence[LogLine] = ()) -> None:
    """`said`: the call's transcript log (its transcription lines); without any, its AI message history is kept."""
    transcript = transcript_of(said, call.transcript)
    fields = {
        "lead_id": call.lead_id,
        "direction": call.direction,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "state": call.state.value,
        "started_at": call.started_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "duration_sec": call.duration_sec,
        "hangup_cause": call.hangup_cause,
        "hangup_source": call.hangup_source,
        "answered_by": call.answered_by,
        "recording_url": call.recording_url,
        "transcript": "\n".join(transcript) or None,
        "outcome": call.outcome,
        "qualification": call.qualification,
        "closer_id": call.closer_id,
        "events": events,
        "legs": [{"call_control_id": call.call_control_id, "call_session_id": call.call_session_id}],
    }
    contact_pending = await call_logs.upsert_call_log(account_id=call.account_id, call_id=call.id, fields=fields)
    if call.lead_id is None:
        return
    if contact_pending:
        # act, then mark: a crash in between counts the attempt twice rather than losing it
        ended = call.ended_at or call.updated_at or call.started_at
        if ended is not None:
            await leads.record_contact(account_id=call.account_id, lead_id=call.lead_id, at=ended)
        await call_logs.mark_contact_recorded(account_id=call.account_id, call_id=call.id)
    score = call.qualification.get("score") if call.qualification else None
    await stores.graph.link_call(
        account_id=call.account_id, lead_id=call.lead_id, call_id=call.id, state=call.state.value,
        started_at=call.started_at.isoformat() if call.started_at else None, outcome=call.outcome,
        score=score, closer_id=str(call.closer_id) if call.closer_id is not None else None,
    )
    metadata = {"outcome": call.outcome, "score": score, "state": call.state.value,
                "class": call.qualification.get("class") if call.qualification else None}
    await stores.vectors.upsert_conversation(
        account_id=call.account_id, call_id=call.id, lead_id=call.lead_id, text=conversation_text(call, transcript),
        metadata=metadata,
    )
