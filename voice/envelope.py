"""A Telnyx webhook body (`{"data": {"id", "event_type", "occurred_at", "payload"}, "meta": ...}`) to a CallEvent.

Dispatch is on the raw `data.event_type` string, never on the SDK's typed union: Telnyx adds event types faster
than SDK releases, and an event we do not know must still be acknowledged and recorded, not rejected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from datasources.calls.model import CallEvent

MAX_BODY = 256 * 1024  # bytes; the endpoint answers 413 above it (a call event is a few KB)

# The event types voice/state.py or voice/agent.py act on; any other type is only recorded as seen.
HANDLED: frozenset[str] = frozenset(
    {
        "call.machine.premium.detection.ended",
        "call.machine.greeting.ended",
        "call.machine.premium.greeting.ended",
        "call.ai_gather.ended",
        "call.ai_gather.partial_results",
        "call.ai_gather.message_history_updated",
        "call.transcription",
        "call.initiated",
        "call.answered",
        "call.bridged",
        "call.hangup",
        "call.machine.detection.ended",
        "call.speak.started",
        "call.speak.ended",
        "call.gather.ended",
        "call.dtmf.received",
        "call.recording.saved",
    }
)


class EnvelopeError(ValueError):
    """The body is not a Telnyx event envelope (answer 400). `reason` is for logs and the response."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        raise EnvelopeError(f"data.{name} is missing")
    if not isinstance(value, str):
        raise EnvelopeError(f"data.{name} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise EnvelopeError(f"data.{name} is empty")
    return value


def _instant(text: str) -> datetime:
    # Telnyx sends "2018-02-02T22:25:27.521992Z"; fromisoformat reads Z and any number of fraction digits
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise EnvelopeError(f"data.occurred_at is not an ISO-8601 date-time: {text[:64]!r}") from None
    if at.tzinfo is None:
        # a naive time cannot be ordered against the others, and the state machine orders by it
        raise EnvelopeError(f"data.occurred_at has no time zone: {text[:64]!r}")
    return at.astimezone(UTC)


def parse(body: bytes) -> CallEvent:
    if len(body) > MAX_BODY:
        raise EnvelopeError(f"body is {len(body)} bytes (limit {MAX_BODY})")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise EnvelopeError(f"body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise EnvelopeError(f"body must be a JSON object, not {type(document).__name__}")
    data = document.get("data")
    if data is None:
        raise EnvelopeError("data is missing")
    if not isinstance(data, dict):
        raise EnvelopeError(f"data must be an object, not {type(data).__name__}")
    event_id = _text(data, "id")
    event_type = _text(data, "event_type")
    occurred_at = _instant(_text(data, "occurred_at"))
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise EnvelopeError("data.payload is missing" if payload is None else "data.payload must be an object")
    return CallEvent(id=event_id, type=event_type, occurred_at=occurred_at, payload=payload)
