"""POST /webhooks/telnyx: throttle, verify, parse, apply, answer fast. Nothing is stored for a rejected request."""

from __future__ import annotations

import logging
import time

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from datasources import signals
from datasources.outage import down_store
from ops.limits import webhook_throttle
from ops.voice import Voice
from voice.envelope import HANDLED, MAX_BODY, EnvelopeError, parse
from voice.signature import SignatureError, verify

log = logging.getLogger("switchboard.webhooks")
RETRY_AFTER = 5  # seconds: the store's expected time to come back


def _error(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


async def _body(request: Request) -> bytes | None:
    """The raw body, or None once it passes MAX_BODY (read no further)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def telnyx(request: Request) -> JSONResponse:
    voice: Voice = request.state.voice
    retry = await webhook_throttle(request)  # before the body is read: a flood costs us no parsing
    if retry is not None:
        limit = request.app.state.settings.webhook_rate_limit
        response = _error(429, f"too many webhooks from this address (WEBHOOK_RATE_LIMIT {limit}); retry in {retry} s")
        response.headers["Retry-After"] = str(retry)
        return response
    try:
        body = await _body(request)
    except ClientDisconnect:
        return _error(400, "the request body was cut off")
    if body is None:
        return _error(413, f"body larger than {MAX_BODY} bytes")
    try:
        verify(
            public_key=voice.public_key,
            signature=request.headers.get("telnyx-signature-ed25519"),
            timestamp=request.headers.get("telnyx-timestamp"),
            body=body,
            now=time.time(),
            tolerance=request.app.state.settings.webhook_tolerance,
        )
    except SignatureError as exc:
        return _error(401, str(exc))
    try:
        event = parse(body)
    except EnvelopeError as exc:
        return _error(400, str(exc))
    try:
        outcome = await voice.service.handle(event, body)
    except Exception as exc:
        store = down_store(exc)
        if store is None:
            raise
        # nothing was applied: Telnyx redelivers on a 5xx, and the de-duplication makes a redelivery safe
        log.warning("webhook %s not applied, %s unavailable: %s", event.id, store, exc)
        signals.webhook_event.send(_label(event.type), result="unavailable")
        response = _error(503, f"{store} is unavailable: the event was not applied; deliver it again")
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    signals.webhook_event.send(_label(event.type), result=outcome)
    return JSONResponse({"status": outcome, "event_id": event.id})


def _label(event_type: str) -> str:
    """The event type as a metric label: the types we act on by name, any other as `other`."""
    return event_type if event_type in HANDLED else "other"
