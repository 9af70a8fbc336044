"""A logged (ended) call seen as a call record, so live and archived calls answer through one type."""

from __future__ import annotations

from datasources.calls.model import Call, CallState
from datasources.mongo.calls import CallLogRecord


def call_from_log(log: CallLogRecord) -> Call:
    return Call(
        id=log.call_id,
        account_id=log.account_id,
        lead_id=log.lead_id,
        state=CallState(log.state),
        direction=log.direction,
        from_number=log.from_number,
        to_number=log.to_number,
        started_at=log.started_at,
        answered_at=log.answered_at,
        ended_at=log.ended_at,
        hangup_cause=log.hangup_cause,
        hangup_source=log.hangup_source,
        answered_by=log.answered_by,
        recording_url=log.recording_url,
        transcript=tuple(log.transcript.splitlines()) if log.transcript else (),
        updated_at=log.ended_at,
        outcome=log.outcome,
        qualification=log.qualification,
        closer_id=log.closer_id,
    )
