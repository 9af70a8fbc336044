"""A carrier that needs no Telnyx account: it plays people, as signed webhook sequences into the real endpoint.

Every sequence goes through the same door as Telnyx's own webhooks (signature check, envelope parsing,
de-duplication, the state machine, the agent), including the disorder Telnyx shows: a duplicate delivery and,
now and then, two events swapped. The person is chosen by the last digit of the dialled number (`PERSONAS`), so
demos and tests can ask for one; they answer the agent's real commands with the webhooks Telnyx documents for
them:

| command            | webhooks played back                                                              |
|--------------------|-----------------------------------------------------------------------------------|
| dial               | call.initiated, then (busy, no answer) call.hangup, or call.answered and          |
|                    | call.machine.premium.detection.ended (+ .greeting.ended for a machine)            |
| gather_using_ai    | message_history_updated, partial_results, call.transcription lines (when          |
|                    | transcribing), call.ai_gather.ended (valid with the persona's answers; invalid    |
|                    | for the silent one); the one who hangs up instead sends call.hangup               |
| gather_using_speak | call.dtmf.received and call.gather.ended with the persona's digit for that menu   |
| speak              | call.speak.started, call.speak.ended                                              |
| transfer           | call.bridged, then (the closer and the lead talked) call.hangup                   |
| hangup             | call.hangup, then call.recording.saved when recording was started                 |
| record_start,      | nothing at once (they change what later commands play back)                      |
| transcription_start|                                                                                   |

Every command is counted per (call, command_id) in `commands`, and passed to `on_command` when given (the
embedded server counts them in Redis), so a test can check that no command was sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
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
    recording: str | None = None  # the format, once record_start came
    transcribing: bool = False
    menus: int = 0  # DTMF menus asked so far

    def payload(self, **extra: Any) -> dict[str, Any]:
        return {"call_control_id": self.control_id, "call_leg_id": self.leg_id, "call_session_id": self.session_id,
                "client_state": self.client_state, "connection_id": "simulated", "from": self.from_, "to": self.to,
                "direction": "outgoing", **extra}


type Delivery = tuple[str, dict[str, Any], str]  # event type, payload, event id


def _line(text: str, track: str) -> dict[str, Any]:
    return {"transcript": text, "is_final": True, "confidence": 0.95, "transcription_track": track}


def deliveries(events: list[tuple[str, dict[str, Any]]]) -> list[Delivery]:
    return [(kind, payload, str(uuid.uuid4())) for kind, payload in events]


@dataclass(frozen=True)
class Persona:
    name: str
    detection: str | None = "human_residence"  # None: nobody picks up
    hangup_cause: str | None = None  # before anyone picks up (busy, no answer)
    said: str = ""  # what they answer the AI gather
    result: dict[str, Any] | None = None  # the AI gather's result; None: no result (see `ai_status`)
    ai_status: str = "valid"
    digits: tuple[str, ...] = ()  # the DTMF answers, menu by menu
    hangs_up_on_question: bool = False
    silent_forever: bool = False


CONFIDENT = {"budget": 0.9, "authority": 0.9, "need": 0.9, "timeline": 0.9}
PERSONAS: dict[str, Persona] = {
    "1": Persona("hot", said="We have about 50,000 dollars set aside, I sign off on it, we need this badly and "
                 "want it running this month.",
                 result={"budget": "high", "budget_amount": 50000, "authority": "decision_maker", "need": "strong",
                         "timeline": "this_month", "opt_out": False, "confidence": CONFIDENT}),
    "2": Persona("warm", said="Maybe 10,000 dollars; my boss decides but I advise her. It would be nice to have, "
                 "probably this quarter.",
                 result={"budget": "medium", "budget_amount": 10000, "authority": "influencer", "need": "some",
                         "timeline": "this_quarter", "opt_out": False,
                         "confidence": {"budget": 1, "authority": 1, "need": 1, "timeline": 1}}),
    "3": Persona("cold", said="Not much budget, a couple of thousand at most, it is not my call, and there is no "
                 "plan to buy.",
                 result={"budget": "low", "authority": "none", "need": "some", "timeline": "none", "opt_out": False,
                         "confidence": {"budget": 1, "authority": 1, "need": 1, "timeline": 1}}),
    "4": Persona("opt-out", said="Please stop calling me and take me off your list.", result={"opt_out": True}),
    "5": Persona("silent", said="", result=None, ai_status="invalid", digits=("2", "1", "2", "2")),
    "6": Persona("voicemail", detection="machine"),
    "7": Persona("busy", detection=None, hangup_cause="user_busy"),
    "8": Persona("no answer", detection=None, hangup_cause="timeout"),
    "9": Persona("stays on the line", silent_forever=True),
    "0": Persona("hangs up during the first question", hangs_up_on_question=True),
}


def persona_of(number: str) -> Persona:
    return PERSONAS[number[-1] if number and number[-1].isdigit() else "0"]


def scenario(call: SimulatedCall) -> list[tuple[str, dict[str, Any]]]:
    """What the dial plays: ringing ends busy, unanswered, or picked up by a person or a machine."""
    persona = persona_of(call.to)
    start = datetime.now(UTC).isoformat()
    initiated = ("call.initiated", call.payload(state="bridging", start_time=start))
    if persona.detection is None:
        return [initiated, ("call.hangup", call.payload(hangup_cause=persona.hangup_cause, hangup_source="callee"))]
    events = [initiated, ("call.answered", call.payload(start_time=start)),
              ("call.machine.premium.detection.ended", call.payload(result=persona.detection))]
    if persona.detection == "machine":
        events.append(("call.machine.premium.greeting.ended", call.payload(result="beep_detected")))
    return events


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


type CommandHook = Callable[[str, str, str], Awaitable[None]]  # (call_control_id, command_id, kind)


@dataclass
class SimulatedCarrier:
    """Implements the Carrier protocol by posting webhooks to `target` (the server's own base URL)."""

    target: str
    private_key: Ed25519PrivateKey
    pace: float = 0.3
    long_call_seconds: float = 120.0
    rng: random.Random = field(default_factory=random.Random)
    on_command: CommandHook | None = None
    commands: Counter[tuple[str, str]] = field(default_factory=Counter)
    _calls: dict[str, SimulatedCall] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))

    async def dial(self, *, to: str, from_: str, client_state: str, command_id: str) -> Dialed:
        call = SimulatedCall(f"v3:{uuid.uuid4().hex}", str(uuid.uuid4()), str(uuid.uuid4()), to, from_, client_state)
        self._calls[call.control_id] = call
        await self._count(call.control_id, command_id, "dial")
        # the dial's events happened before anything the agent asks, so all go out, even after a hangup
        self._play(call, disorder(deliveries(scenario(call)), self.rng), settled=True)
        if persona_of(to).silent_forever:
            limit = call.payload(hangup_cause="time_limit", hangup_source="callee")
            self._play(call, deliveries([("call.hangup", limit), *self._recording(call)]),
                       delay=self.long_call_seconds)
        return Dialed(call.control_id, call.leg_id, call.session_id)

    async def hang_up(self, *, call_control_id: str, command_id: str, client_state: str | None = None) -> None:
        call = await self._command(call_control_id, command_id, "hangup")
        if call is not None:
            hangup = call.payload(hangup_cause="normal_clearing", hangup_source="caller")
            self._play(call, deliveries([("call.hangup", hangup), *self._recording(call)]))

    async def transfer(
        self, *, call_control_id: str, to: str, command_id: str, client_state: str | None = None,
        from_display_name: str | None = None, audio_url: str | None = None,
    ) -> None:
        call = await self._command(call_control_id, command_id, "transfer")
        if call is None:
            return
        bridged: list[tuple[str, dict[str, Any]]] = [("call.bridged", call.payload(to=to))]
        if not persona_of(call.to).silent_forever:  # the closer and the lead talk, then hang up
            hangup = call.payload(hangup_cause="normal_clearing", hangup_source="callee")
            bridged += [("call.hangup", hangup), *self._recording(call)]
        self._play(call, deliveries(bridged))

    async def speak(
        self, *, call_control_id: str, text: str, command_id: str, voice: str = "female", language: str = "en-US",
        client_state: str | None = None,
    ) -> None:
        call = await self._command(call_control_id, command_id, "speak")
        if call is not None:
            self._play(call, deliveries([("call.speak.started", call.payload()),
                                         ("call.speak.ended", call.payload(status="completed"))]))

    async def gather_using_ai(
        self, *, call_control_id: str, command_id: str, parameters: dict[str, Any], client_state: str | None = None,
        greeting: str | None = None, send_partial_results: bool = False, send_message_history_updates: bool = False,
        user_response_timeout_ms: int | None = None,
    ) -> None:
        call = await self._command(call_control_id, command_id, "gather_using_ai")
        if call is None:
            return
        persona = persona_of(call.to)
        if persona.hangs_up_on_question:
            hangup = call.payload(hangup_cause="normal_clearing", hangup_source="callee")
            self._play(call, deliveries([("call.hangup", hangup), *self._recording(call)]))
            return
        if persona.silent_forever:
            return
        history = [{"role": "assistant", "content": greeting or ""}]
        events: list[tuple[str, dict[str, Any]]] = []
        result = persona.result or {}
        if send_partial_results and result:
            # the first answers heard, well before the gather ends (one swap of neighbours cannot reorder them)
            first = {k: v for k, v in result.items() if k in ("budget", "authority")} or dict(result)
            partial = call.payload(partial_results=first, message_history=list(history))
            events.append(("call.ai_gather.partial_results", partial))
        if call.transcribing and greeting:
            events.append(("call.transcription", call.payload(transcription_data=_line(greeting, "outbound"))))
        if persona.said:
            history.append({"role": "user", "content": persona.said})
            if call.transcribing:
                events.append(("call.transcription", call.payload(transcription_data=_line(persona.said, "inbound"))))
        if send_message_history_updates:
            events.append(("call.ai_gather.message_history_updated", call.payload(message_history=history)))
        events.append(("call.ai_gather.ended", call.payload(status=persona.ai_status, result=result,
                                                            message_history=history)))
        self._play(call, disorder(deliveries(events), self.rng))

    async def gather_using_speak(
        self, *, call_control_id: str, command_id: str, payload: str, voice: str = "female", language: str = "en-US",
        client_state: str | None = None, invalid_payload: str | None = None, valid_digits: str | None = None,
        minimum_digits: int | None = None, maximum_digits: int | None = None,
    ) -> None:
        call = await self._command(call_control_id, command_id, "gather_using_speak")
        if call is None:
            return
        digits = persona_of(call.to).digits
        asked, call.menus = call.menus, call.menus + 1
        if asked >= len(digits):
            self._play(call, deliveries([("call.gather.ended", call.payload(status="timeout"))]))
            return
        digit = digits[asked]
        self._play(call, deliveries([("call.dtmf.received", call.payload(digit=digit)),
                                     ("call.gather.ended", call.payload(digits=digit, status="valid"))]))

    async def record_start(
        self, *, call_control_id: str, command_id: str, format: str = "mp3", channels: str = "dual",
        client_state: str | None = None,
    ) -> None:
        call = await self._command(call_control_id, command_id, "record_start")
        if call is not None:
            call.recording = format

    async def transcription_start(
        self, *, call_control_id: str, command_id: str, transcription_tracks: str = "both",
        client_state: str | None = None,
    ) -> None:
        call = await self._command(call_control_id, command_id, "transcription_start")
        if call is not None:
            call.transcribing = True

    async def _count(self, call_control_id: str, command_id: str, kind: str) -> None:
        self.commands[(call_control_id, command_id)] += 1
        if self.on_command is not None:
            await self.on_command(call_control_id, command_id, kind)

    async def _command(self, call_control_id: str, command_id: str, kind: str) -> SimulatedCall | None:
        await self._count(call_control_id, command_id, kind)
        call = self._calls.get(call_control_id)
        # Telnyx refuses a command on an ended call with 422; the simulator only ignores it
        return call if call is not None and call.ended_by is None else None

    @staticmethod
    def _recording(call: SimulatedCall) -> list[tuple[str, dict[str, Any]]]:
        if call.recording is None:
            return []
        url = f"https://rec.example/{call.leg_id}.{call.recording}"
        return [("call.recording.saved", call.payload(recording_urls={call.recording: url}))]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._http.aclose()

    def _play(self, call: SimulatedCall, events: list[Delivery], *, delay: float = 0.0, settled: bool = False) -> None:
        task = asyncio.create_task(self._post_all(call, events, delay, settled))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_all(self, call: SimulatedCall, events: list[Delivery], delay: float, settled: bool) -> None:
        await asyncio.sleep(delay)
        own = {event_id for _, _, event_id in events}
        for kind, payload, event_id in events:
            # a call hung up by another play (a command, the time limit) sends nothing more; a scenario's
            # own events all go out, even those delivered late, after its hangup, and so do `settled` ones
            if not settled and call.ended_by is not None and call.ended_by not in own:
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
