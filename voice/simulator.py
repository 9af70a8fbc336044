"""A carrier that needs no Telnyx account: it plays realistic, signed webhook sequences into the real endpoint.

Every sequence goes through the same door as Telnyx's own webhooks (signature check, envelope parsing,
de-duplication, the state machine), including the disorder Telnyx shows: a duplicate delivery and, now and
then, two events swapped. The outcome is chosen by the last digit of the dialled number, so demos and tests
can ask for one: 0-5 are answered by a person who hangs up after a short exchange, 6 reaches voicemail, 7 is
busy, 8 is not answered, and 9 is answered and stays on the line (so an agent can speak, transfer and hang up)
until `long_call_seconds` have passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from voice.carriers.base import Dialed
from voice.signature import sign

WEBHOOK_PATH = "/webhooks/telnyx"


def envelope(event_type: str, payload: dict[str, Any], *, event_id: str | None = None) -> bytes:
    occurred = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    data = {"event_type": event_type, "id": event_id or str(uuid.uuid4()), "occurred_at": occurred,
            "payload": payload, "record_type": "event"}
    return orjson.dumps({"data": data, "meta": {"attempt": 1, "delivered_to": WEBHOOK_PATH}})


def signed_headers(private_key: Ed25519PrivateKey, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {
        "content-type": "application/json",
        "telnyx-timestamp": timestamp,
        "telnyx-signature-ed25519": sign(private_key=private_key, timestamp=timestamp, body=body),
    }


@dataclass
class SimulatedCall:
    control_id: str
    leg_id: str
    session_id: str
    to: str
    from_: str
    client_state: str
    ended_by: str | None = None  # the event id of the hangup that ended it

    def payload(self, **extra: Any) -> dict[str, Any]:
        return {"call_control_id": self.control_id, "call_leg_id": self.leg_id, "call_session_id": self.session_id,
                "client_state": self.client_state, "connection_id": "simulated", "from": self.from_, "to": self.to,
                "direction": "outgoing", **extra}


type Delivery = tuple[str, dict[str, Any], str]  # event type, payload, event id


def deliveries(events: list[tuple[str, dict[str, Any]]]) -> list[Delivery]:
    return [(kind, payload, str(uuid.uuid4())) for kind, payload in events]


def scenario(call: SimulatedCall) -> list[tuple[str, dict[str, Any]]]:
    digit = call.to[-1] if call.to and call.to[-1].isdigit() else "0"
    start = datetime.now(UTC).isoformat()
    initiated = ("call.initiated", call.payload(state="bridging", start_time=start))
    if digit == "7":
        return [initiated, ("call.hangup", call.payload(hangup_cause="user_busy", hangup_source="callee"))]
    if digit == "8":
        return [initiated, ("call.hangup", call.payload(hangup_cause="timeout", hangup_source="callee"))]
    answered = ("call.answered", call.payload(start_time=start))
    if digit == "9":
        return [initiated, answered, ("call.machine.detection.ended", call.payload(result="human"))]
    if digit == "6":
        return [initiated, answered,
                ("call.machine.detection.ended", call.payload(result="machine")),
                ("call.recording.saved", call.payload(recording_urls={"mp3": f"https://rec.example/{call.leg_id}.mp3"})),
                ("call.hangup", call.payload(hangup_cause="normal_clearing", hangup_source="callee"))]
    return [initiated, answered,
            ("call.machine.detection.ended", call.payload(result="human")),
            ("call.speak.started", call.payload()),
            ("call.speak.ended", call.payload(status="completed")),
            ("call.dtmf.received", call.payload(digit="1")),
            ("call.gather.ended", call.payload(digits="1", status="valid")),
            ("call.hangup", call.payload(hangup_cause="normal_clearing", hangup_source="caller"))]


def disorder(sequence: list[Delivery], rng: random.Random) -> list[Delivery]:
    """The order Telnyx may deliver in: one late duplicate (same event id) and, half the time, two neighbours
    swapped. Every event is still delivered."""
    sequence = list(sequence)
    if len(sequence) > 2:
        original = rng.randrange(len(sequence))
        sequence.insert(rng.randrange(original + 1, len(sequence) + 1), sequence[original])
        if rng.random() < 0.5:
            i = rng.randrange(1, len(sequence) - 1)
            sequence[i], sequence[i + 1] = sequence[i + 1], sequence[i]
    return sequence


@dataclass
class SimulatedCarrier:
    """Implements the Carrier protocol by posting webhooks to `target` (the server's own base URL)."""

    target: str
    private_key: Ed25519PrivateKey
    pace: float = 0.3
    long_call_seconds: float = 120.0
    rng: random.Random = field(default_factory=random.Random)
    _calls: dict[str, SimulatedCall] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))

    async def dial(self, *, to: str, from_: str, client_state: str, command_id: str) -> Dialed:
        call = SimulatedCall(f"v3:{uuid.uuid4().hex}", str(uuid.uuid4()), str(uuid.uuid4()), to, from_, client_state)
        self._calls[call.control_id] = call
        self._play(call, disorder(deliveries(scenario(call)), self.rng))
        if to.endswith("9"):
            limit = call.payload(hangup_cause="time_limit", hangup_source="callee")
            self._play(call, deliveries([("call.hangup", limit)]), delay=self.long_call_seconds)
        return Dialed(call.control_id, call.leg_id, call.session_id)

    async def hang_up(self, *, call_control_id: str, command_id: str) -> None:
        call = self._calls.get(call_control_id)
        if call is not None:
            hangup = call.payload(hangup_cause="normal_clearing", hangup_source="caller")
            self._play(call, deliveries([("call.hangup", hangup)]))

    async def transfer(self, *, call_control_id: str, to: str, command_id: str) -> None:
        call = self._calls.get(call_control_id)
        if call is not None:
            self._play(call, deliveries([("call.bridged", call.payload(to=to))]))

    async def speak(
        self, *, call_control_id: str, text: str, command_id: str, voice: str = "female", language: str = "en-US"
    ) -> None:
        call = self._calls.get(call_control_id)
        if call is not None:
            self._play(call, deliveries([("call.speak.started", call.payload()), ("call.speak.ended", call.payload())]))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._http.aclose()

    def _play(self, call: SimulatedCall, events: list[Delivery], *, delay: float = 0.0) -> None:
        task = asyncio.create_task(self._post_all(call, events, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_all(self, call: SimulatedCall, events: list[Delivery], delay: float) -> None:
        await asyncio.sleep(delay)
        own = {event_id for _, _, event_id in events}
        for kind, payload, event_id in events:
            # a call hung up by another play (a command, the time limit) sends nothing more; a scenario's
            # own events all go out, even those delivered late, after its hangup
            if call.ended_by is not None and call.ended_by not in own:
                return
            await asyncio.sleep(self.pace)
            body = envelope(kind, payload, event_id=event_id)
            try:
                headers = signed_headers(self.private_key, body)
                await self._http.post(self.target + WEBHOOK_PATH, content=body, headers=headers)
            except httpx.HTTPError:
                # a real carrier retries; the simulator only plays its part once
                continue
            if kind == "call.hangup":
                call.ended_by = event_id
