"""The voice agent: `decide(call, conversation, event, script, context) -> Decision`, pure.

Telnyx neither orders nor de-duplicates its webhooks, and two replicas may handle the same one, so the agent is
built like voice/state.py: `fold` keeps what the events said in a Conversation that no order or repeat can
change (earliest/latest by the (occurred_at, event id) key, sorted logs), and every decision is a function of
that folded Conversation, never of the event that happened to arrive last. `plan` lists the steps whose
preconditions hold; `decide` returns the commands of the steps not issued yet and records them in
`Conversation.issued`, so over a whole run each step is commanded exactly once, whatever the order. Each
command's `command_id` is a uuid5 of (call id, step): a duplicate webhook, or a second replica deciding the same
step, sends the same id, and Telnyx ignores a repeated `command_id` on the same call.

| step            | precondition (over the folded events)                         | command                        |
|-----------------|---------------------------------------------------------------|--------------------------------|
| record          | AMD result human* and `script.record`                         | record_start (mp3, dual)       |
| transcribe      | AMD result human*                                             | transcription_start (both)     |
| qualify         | AMD result human*                                             | gather_using_ai: greeting (+   |
|                 |                                                               | disclosure), BANT JSON Schema, |
|                 |                                                               | partial results, history upd.  |
| hangup (fax)    | AMD result fax_detected                                       | hangup                         |
| voicemail       | call.machine[.premium].greeting.ended (any result)            | speak voicemail                |
| hangup          | voicemail issued, then a call.speak.ended after the greeting  | hangup                         |
| ask:budget      | call.ai_gather.ended not `valid`, or valid with no answer     | gather_using_speak (1 digit)   |
| ask:<next>      | fallback, and as many call.gather.ended (not opt-out) as the  | gather_using_speak             |
|                 | questions before it                                           |                                |
| closing         | ai_gather.ended valid with answers, or 4 DTMF answers, or the | speak: opt-out goodbye, hand-  |
|                 | opt-out digit: outcome = opt_out / transfer (hot, closer) /   | over, callback promise, or the |
|                 | callback (hot, no closer) / warm / cold                       | warm / cold closing            |
| transfer        | outcome transfer, and a call.speak.ended after the closing    | transfer to the closer         |
| hangup          | any other outcome, and a call.speak.ended after the closing   | hangup                         |

*human: `human`, `human_residence`, `human_business`, and `not_sure` / `silence` (better to greet a quiet
person than to leave them in silence). A machine result alone waits: Telnyx sends the greeting-ended event when
the beep comes, and only that one when the beep comes first. The greeting and the recording disclosure are the
AI gather's own `greeting`, so the call has at most one `speak` (voicemail or closing): a `call.speak.ended`,
which names no command, is the end of that speak when it occurred after the step's trigger.

A call.gather.ended or call.speak.ended whose status says the call hung up enables nothing. A step is not taken
when the call's hangup occurred before the event that enables it ("the caller hung up: no more commands"). The
only order that can still matter: an event that occurred after the hangup (say an AI gather ending `invalid`
because the caller left) delivered before the hangup itself enables its step, which the other order would not;
the command then goes to an ended call and Telnyx refuses it (422). The wiring should swallow that refusal.

DTMF answers: call.gather.ended names no question either; the k-th by (occurred_at, id) answers the k-th
question, which is right because question k+1 is only asked once answer k was folded.

Facts are keyed: (kind, key) -> Fact. `decide` returns those that are new or changed since the previous
Conversation; a consumer keeps the last one per (kind, key), which ends as `facts(final conversation)` in any
order (a key never disappears, and the last change of a key is to its final value), plus one `transcript_line`
per final transcription line: those come from their event (`line_fact`), since the lines live in the call's
transcript log rather than in the conversation, so a transcription event decided again returns its line again.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from datasources.calls.model import Call, CallEvent, LogLine
from voice import scoring
from voice.script import CallScript, ai_parameters, menu_text

NAMESPACE = uuid.UUID("6f1d5c1e-9c1b-5d2a-8f0e-5b3f2a7c9d10")  # command ids: uuid5(NAMESPACE, "call/step")
HUMAN = frozenset({"human", "human_residence", "human_business", "not_sure", "silence"})
ENDED_BY_HANGUP = frozenset({"call_hangup", "cancelled", "cancelled_amd"})
DETECTIONS = frozenset({"call.machine.premium.detection.ended", "call.machine.detection.ended"})
GREETINGS = frozenset({"call.machine.premium.greeting.ended", "call.machine.greeting.ended"})
DISPLAY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_~!.+")

type Key = tuple[datetime, str]
type Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Closer:
    user_id: int
    name: str
    phone: str


@dataclass(frozen=True)
class AgentContext:
    """What I/O looks up before deciding: the lead's one-line summary, the on-duty closer it picked (None: nobody
    free), and optionally a recorded whisper (Telnyx's transfer plays `audio_url` to the closer before bridging)."""

    lead_summary: str = ""
    closer: Closer | None = None
    whisper_audio_url: str | None = None


@dataclass(frozen=True)
class Command:
    """A Telnyx Call Control action: `kind` is the action path (`/calls/{id}/actions/{kind}`), `params` its body
    without `command_id` and `client_state`, which the carrier adds."""

    kind: str
    params: dict[str, Any]
    command_id: str
    step: str


@dataclass(frozen=True)
class Fact:
    kind: str
    key: str
    data: tuple[tuple[str, Scalar], ...]

    def as_dict(self) -> dict[str, Scalar]:
        return dict(self.data)


def _fact(kind: str, key: str, **data: Scalar) -> Fact:
    return Fact(kind, key, tuple(sorted(data.items())))


@dataclass(frozen=True)
class Conversation:
    """What the agent's events said, kept order-independently, and the steps already issued."""

    answered: Key | None = None
    hangup: tuple[Key, str] | None = None  # earliest (key, hangup_cause)
    detection: tuple[Key, str] | None = None  # earliest (key, result)
    greeting: Key | None = None  # earliest greeting-ended
    ai: tuple[Key, str, dict[str, Any]] | None = None  # earliest call.ai_gather.ended (key, status, result)
    partials: dict[str, tuple[Key, Any]] = field(default_factory=dict)  # latest value per result field
    opt_out_at: Key | None = None  # earliest AI evidence of the opt-out intent
    history: tuple[int, Key, tuple[tuple[str, str], ...]] | None = None  # longest message history, then latest
    gathers: tuple[tuple[Key, str, str], ...] = ()  # (key, status, digits), sorted
    speak_ends: tuple[tuple[Key, str], ...] = ()  # (key, status), sorted
    issued: frozenset[str] = frozenset()
    closer: Closer | None = None  # the closer chosen when the outcome was settled
    closer_fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (times as ISO-8601 strings), to store next to the call; `from_dict` reads it back equal."""
        return {
            "answered": _dump_key(self.answered),
            "hangup": None if self.hangup is None else [_dump_key(self.hangup[0]), self.hangup[1]],
            "detection": None if self.detection is None else [_dump_key(self.detection[0]), self.detection[1]],
            "greeting": _dump_key(self.greeting),
            "ai": None if self.ai is None else [_dump_key(self.ai[0]), self.ai[1], self.ai[2]],
            "partials": {name: [_dump_key(k), value] for name, (k, value) in self.partials.items()},
            "opt_out_at": _dump_key(self.opt_out_at),
            "history": None
            if self.history is None
            else [self.history[0], _dump_key(self.history[1]), [list(line) for line in self.history[2]]],
            "gathers": [[_dump_key(k), status, digits] for k, status, digits in self.gathers],
            "speak_ends": [[_dump_key(k), status] for k, status in self.speak_ends],
            "issued": sorted(self.issued),
            "closer": None if self.closer is None else asdict(self.closer),
            "closer_fixed": self.closer_fixed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        def pair(value: Any) -> Any:
            return None if value is None else (_load_key(value[0]), value[1])

        ai, history, closer = data["ai"], data["history"], data["closer"]
        return cls(
            answered=_load_key(data["answered"]),
            hangup=pair(data["hangup"]),
            detection=pair(data["detection"]),
            greeting=_load_key(data["greeting"]),
            ai=None if ai is None else (_need_key(ai[0]), ai[1], dict(ai[2])),
            partials={name: (_need_key(k), value) for name, (k, value) in data["partials"].items()},
            opt_out_at=_load_key(data["opt_out_at"]),
            history=None
            if history is None
            else (history[0], _need_key(history[1]), tuple((r, c) for r, c in history[2])),
            gathers=tuple((_need_key(k), status, digits) for k, status, digits in data["gathers"]),
            speak_ends=tuple((_need_key(k), status) for k, status in data["speak_ends"]),
            issued=frozenset(data["issued"]),
            closer=None if closer is None else Closer(**closer),
            closer_fixed=bool(data["closer_fixed"]),
        )


@dataclass(frozen=True)
class Decision:
    commands: list[Command]
    facts: list[Fact]
    conversation: Conversation


def _dump_key(key: Key | None) -> list[str] | None:
    return None if key is None else [key[0].isoformat(), key[1]]


def _load_key(value: list[str] | None) -> Key | None:
    return None if value is None else (datetime.fromisoformat(value[0]), value[1])


def _need_key(value: list[str]) -> Key:
    return (datetime.fromisoformat(value[0]), value[1])


# -- folding events ---------------------------------------------------------------------------------------------


def _key(event: CallEvent) -> Key:
    return (event.occurred_at, event.id)


def _min[T](current: T | None, new: T) -> T:
    return new if current is None or new < current else current  # type: ignore[operator]


def _history(conv: Conversation, event: CallEvent) -> Conversation:
    raw = event.payload.get("message_history")
    if not isinstance(raw, list):
        return conv
    lines = tuple(
        (str(m.get("role")), str(m.get("content")))
        for m in raw
        if isinstance(m, dict) and isinstance(m.get("content"), str)
    )
    mark = (len(lines), _key(event), lines)
    return conv if conv.history is not None and mark <= conv.history else replace(conv, history=mark)


def _opt_out(conv: Conversation, event: CallEvent, result: Any) -> Conversation:
    if isinstance(result, dict) and scoring.opted_out(result):
        return replace(conv, opt_out_at=_min(conv.opt_out_at, _key(event)))
    return conv


def _inserted[T](entries: tuple[T, ...], entry: T) -> tuple[T, ...]:
    """`entries` (sorted) with `entry` in its place; unchanged when it is already there."""
    at = bisect.bisect_left(entries, entry)  # type: ignore[call-overload]
    if at < len(entries) and entries[at] == entry:
        return entries
    return (*entries[:at], entry, *entries[at:])


def _heard(event: CallEvent) -> tuple[str, str] | None:
    """(speaker, text) of a final transcription line, else None."""
    data = event.payload.get("transcription_data")
    if event.type != "call.transcription" or not isinstance(data, dict) or data.get("is_final", True) is not True:
        return None
    line, track = data.get("transcript"), data.get("transcription_track")
    if not isinstance(line, str) or not line.strip():
        return None
    return ("lead" if (track if isinstance(track, str) else "inbound") == "inbound" else "agent"), line.strip()


def transcript_line(event: CallEvent) -> LogLine | None:
    """The event's line of the call's transcript log ("speaker: text"), for a final transcription line."""
    heard = _heard(event)
    return None if heard is None else LogLine(event.occurred_at, event.id, f"{heard[0]}: {heard[1]}")


def line_fact(event: CallEvent) -> Fact | None:
    """The live view's `transcript_line` fact of a final transcription line. Not folded: the lines grow with the
    call, so they live in the call's transcript log (`transcript_line`), and the fact comes from the event."""
    heard = _heard(event)
    if heard is None:
        return None
    at = event.occurred_at.isoformat()
    return _fact("transcript_line", f"t:{at}:{event.id}", at=at, speaker=heard[0], text=heard[1])


def fold(conv: Conversation, event: CallEvent) -> Conversation:
    """The conversation with the event's facts. Idempotent by construction (minimums, latest-wins by key, sorted
    sets): an event folded again changes nothing, so no list of seen event ids has to grow with the call. A
    transcription line is not folded (`transcript_line`): the conversation stays as long as the dialogue's
    steps, however long the call."""
    key, payload, kind = _key(event), event.payload, event.type
    text = payload.get("result")
    if kind == "call.answered":
        return replace(conv, answered=_min(conv.answered, key))
    if kind == "call.hangup":
        cause = payload.get("hangup_cause")
        return replace(conv, hangup=_min(conv.hangup, (key, cause if isinstance(cause, str) else "")))
    if kind in DETECTIONS and isinstance(text, str):
        return replace(conv, detection=_min(conv.detection, (key, text)))
    if kind in GREETINGS:
        return replace(conv, greeting=_min(conv.greeting, key))
    if kind == "call.ai_gather.ended":
        status = payload.get("status")
        result = dict(text) if isinstance(text, dict) else {}
        ended = (key, status if isinstance(status, str) else "", result)
        if conv.ai is None or key < conv.ai[0]:
            conv = replace(conv, ai=ended)
        return _history(_opt_out(conv, event, result), event)
    if kind == "call.ai_gather.partial_results":
        partial = payload.get("partial_results")
        if isinstance(partial, dict):
            fields = dict(conv.partials)
            for name, value in partial.items():
                if name not in fields or fields[name][0] < key:
                    fields[name] = (key, value)
            conv = _opt_out(replace(conv, partials=fields), event, partial)
        return _history(conv, event)
    if kind == "call.ai_gather.message_history_updated":
        return _history(conv, event)
    if kind == "call.gather.ended":
        status, digits = payload.get("status"), payload.get("digits")
        if isinstance(status, str) and status in ENDED_BY_HANGUP:  # a hostile payload may hold any JSON here
            return conv
        entry = (key, status if isinstance(status, str) else "", digits if isinstance(digits, str) else "")
        return replace(conv, gathers=_inserted(conv.gathers, entry))
    if kind == "call.speak.ended":
        status = payload.get("status")
        speak_end = (key, status if isinstance(status, str) else "completed")
        return replace(conv, speak_ends=_inserted(conv.speak_ends, speak_end))
    return conv


# -- what the folded conversation settles -----------------------------------------------------------------------


@dataclass(frozen=True)
class Closing:
    outcome: str  # opt_out | transfer | callback | warm | cold
    trigger: Key
    via: str  # ai | dtmf
    answers: dict[str, scoring.Answer]
    qualification: scoring.Qualification | None  # None for an opt-out


def _ai_answers(conv: Conversation, script: CallScript) -> dict[str, scoring.Answer] | None:
    """The final AI answers, or None when the AI gather failed (not ended, not `valid`, or nothing gathered)."""
    if conv.ai is None:
        return None
    _, status, result = conv.ai
    answers = scoring.from_ai(result, script.weights)
    if status != "valid" or not (answers or "opt_out" in result):
        return None
    return answers


def _fallback(conv: Conversation, script: CallScript) -> bool:
    return conv.ai is not None and _ai_answers(conv, script) is None


def _dtmf(conv: Conversation, script: CallScript) -> tuple[list[tuple[Key, str]], Key | None]:
    """The DTMF answers in question order as (key, digits), and the key of the earliest opt-out digit."""
    answers = [(k, digits) for k, _, digits in conv.gathers if digits.rstrip("#") != script.opt_out_digit]
    opt_out = [k for k, _, digits in conv.gathers if digits.rstrip("#") == script.opt_out_digit]
    return answers[: len(script.questions)], (min(opt_out) if opt_out else None)


def closing(conv: Conversation, script: CallScript, context: AgentContext) -> Closing | None:
    """The call's outcome, once the answers settle it."""
    ai = _ai_answers(conv, script)
    if conv.ai is not None and ai is not None:
        trigger, _, result = conv.ai
        if scoring.opted_out(result):
            return Closing("opt_out", trigger, "ai", ai, None)
        return _scored(conv, context, trigger, "ai", ai, script)
    if not _fallback(conv, script):
        return None
    heard, opt_out = _dtmf(conv, script)
    answers = {
        q.criterion: scoring.from_dtmf(q.options, digits)
        for q, (_, digits) in zip(script.questions, heard, strict=False)
    }
    if opt_out is not None:
        return Closing("opt_out", opt_out, "dtmf", answers, None)
    if len(heard) < len(script.questions):
        return None
    return _scored(conv, context, heard[-1][0], "dtmf", answers, script)


def _scored(
    conv: Conversation,
    context: AgentContext,
    trigger: Key,
    via: str,
    answers: dict[str, scoring.Answer],
    script: CallScript,
) -> Closing:
    qualification = scoring.score(answers, script.weights)
    closer = conv.closer if conv.closer_fixed else context.closer
    if qualification.cls == "hot":
        outcome = "transfer" if closer is not None else "callback"
    else:
        outcome = qualification.cls
    return Closing(outcome, trigger, via, answers, qualification)


def promised_closer(conv: Conversation, script: CallScript) -> Closer | None:
    """The closer the conversation settled on handing the lead over to (outcome `transfer`), else None. Once the
    outcome is settled the closer is fixed in the conversation, so no context can change the answer."""
    if not conv.closer_fixed or conv.closer is None:
        return None
    end = closing(conv, script, AgentContext())
    return conv.closer if end is not None and end.outcome == "transfer" else None


def _speak_ended_after(conv: Conversation, trigger: Key) -> Key | None:
    ends = [k for k, status in conv.speak_ends if k > trigger and status not in ENDED_BY_HANGUP]
    return min(ends) if ends else None


# -- steps and commands -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    kind: str
    params: dict[str, Any]
    trigger: Key


def _speak(script: CallScript, text: str) -> dict[str, Any]:
    return {"payload": text, "voice": script.voice, "language": script.language}


def _display(text: str) -> str:
    """Telnyx's `from_display_name`: at most 128 of letters, digits, spaces and -_~!.+"""
    kept = "".join(c if c in DISPLAY_CHARS else " " for c in text)
    return " ".join(kept.split())[:128]


def plan(conv: Conversation, script: CallScript, context: AgentContext) -> list[Step]:
    """Every step whose precondition holds in the conversation, issued or not."""
    steps: list[Step] = []
    if conv.detection is not None:
        at, result = conv.detection
        if result in HUMAN:
            if script.record:
                steps.append(Step("record", "record_start", {"format": "mp3", "channels": "dual"}, at))
            steps.append(Step("transcribe", "transcription_start", {"transcription_tracks": "both"}, at))
            greeting = f"{script.greeting} {script.disclosure}" if script.record else script.greeting
            params = {
                "greeting": greeting,
                "parameters": ai_parameters(script),
                "send_partial_results": True,
                "send_message_history_updates": True,
                "user_response_timeout_ms": script.ai_timeout_ms,
            }
            steps.append(Step("qualify", "gather_using_ai", params, at))
        elif result == "fax_detected":
            steps.append(Step("hangup", "hangup", {}, at))
    if conv.greeting is not None:
        steps.append(Step("voicemail", "speak", _speak(script, script.voicemail), conv.greeting))
        if (ended := _speak_ended_after(conv, conv.greeting)) is not None:
            steps.append(Step("hangup", "hangup", {}, ended))
    if conv.ai is not None and _fallback(conv, script):
        heard, _ = _dtmf(conv, script)
        triggers = [conv.ai[0], *(k for k, _ in heard)]
        for question, trigger in zip(script.questions, triggers, strict=False):
            params = _speak(script, menu_text(script, question)) | {
                "invalid_payload": script.invalid_prompt,
                "valid_digits": "".join(sorted(set(question.options) | {script.opt_out_digit})),
                "minimum_digits": 1,
                "maximum_digits": 1,
            }
            steps.append(Step(f"ask:{question.criterion}", "gather_using_speak", params, trigger))
    end = closing(conv, script, context)
    if end is not None:
        steps.append(Step("closing", "speak", _speak(script, _closing_text(end, script)), end.trigger))
        if (ended := _speak_ended_after(conv, end.trigger)) is not None:
            closer = conv.closer if conv.closer_fixed else context.closer
            if end.outcome == "transfer" and closer is not None:
                steps.append(Step("transfer", "transfer", _transfer(closer, end, context), ended))
            else:
                steps.append(Step("hangup", "hangup", {}, ended))
    return steps


def _closing_text(end: Closing, script: CallScript) -> str:
    if end.outcome == "transfer":
        return script.handover
    if end.outcome == "callback":
        return script.callback_promise
    return script.closings[end.outcome]


def _transfer(closer: Closer, end: Closing, context: AgentContext) -> dict[str, Any]:
    # Telnyx's transfer has no text whisper: the closer sees the summary as the caller name, and hears a
    # recorded whisper when the wiring rendered one (`audio_url`, played before bridging)
    score = end.qualification.score if end.qualification else 0
    params: dict[str, Any] = {"to": closer.phone, "from_display_name": _display(f"HOT {score} {context.lead_summary}")}
    if context.whisper_audio_url:
        params["audio_url"] = context.whisper_audio_url
    return params


def command_id(call_id: str, step: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{call_id}/{step}"))


def _blocked(conv: Conversation, step: Step) -> bool:
    return conv.hangup is not None and conv.hangup[0] < step.trigger


def decide(
    call: Call, conversation: Conversation, event: CallEvent, script: CallScript, context: AgentContext
) -> Decision:
    """Fold the event, then command every planned step not issued yet. Inbound calls get no agent."""
    conv = fold(conversation, event)
    if not conv.closer_fixed and closing(conv, script, context) is not None:
        conv = replace(conv, closer=context.closer, closer_fixed=True)
    commands: list[Command] = []
    if call.direction == "outbound":
        for step in plan(conv, script, context):
            if step.name in conv.issued or _blocked(conv, step):
                continue
            conv = replace(conv, issued=conv.issued | {step.name})
            commands.append(Command(step.kind, step.params, command_id(call.id, step.name), step.name))
    before, after = facts(conversation, script, context), facts(conv, script, context)
    if (line := line_fact(event)) is not None:
        after[(line.kind, line.key)] = line
    changed = [fact for key, fact in sorted(after.items()) if before.get(key) != fact]
    return Decision(commands, changed, conv)


# -- facts ------------------------------------------------------------------------------------------------------


def _iso(key: Key | None) -> str | None:
    return key[0].isoformat() if key is not None else None


def _after(key: Key, hours: int) -> str:
    return (key[0] + timedelta(hours=hours)).isoformat()


def agent_step(conv: Conversation, script: CallScript) -> str:
    """Where the dialogue is, for the live view: derived from the issued steps, so it settles like they do."""
    issued = conv.issued
    if conv.hangup is not None:
        return "ended"
    for name, label in (("transfer", "transferring"), ("hangup", "hanging_up"), ("closing", "closing"),
                        ("voicemail", "voicemail")):  # fmt: skip
        if name in issued:
            return label
    for question in reversed(script.questions):
        if f"ask:{question.criterion}" in issued:
            return f"asking:{question.criterion}"
    if "qualify" in issued:
        return "qualifying"
    return "detecting" if conv.answered is not None or conv.detection is not None else "dialing"


def facts(conv: Conversation, script: CallScript, context: AgentContext) -> dict[tuple[str, str], Fact]:
    """Every fact the conversation establishes, by (kind, key); the transcription lines are each their event's
    (`line_fact`), not the conversation's."""
    found: list[Fact] = [_fact("step", "current", step=agent_step(conv, script))]
    if "qualify" in conv.issued:
        found.append(_fact("question_asked", "ai", via="ai", text=script.greeting))
    for question in script.questions:
        if f"ask:{question.criterion}" in conv.issued:
            found.append(_fact("question_asked", question.criterion, via="dtmf", text=question.menu))
    found += _answers(conv, script)
    if conv.history is not None:
        _, at, lines = conv.history
        for i, (role, content) in enumerate(lines):
            found.append(_fact("transcript_line", f"ai:{i:03d}", at=_iso(at), speaker=role, text=content))
    end = closing(conv, script, context)
    _, dtmf_opt_out = _dtmf(conv, script) if _fallback(conv, script) else ([], None)
    opted = [k for k in (conv.opt_out_at, dtmf_opt_out) if k is not None]
    if opted:
        found.append(_fact("opted_out", "do_not_call", at=_iso(min(opted))))
    if end is not None and end.qualification is not None:
        q = end.qualification
        answers = {f"{c}": a.value for c, a in end.answers.items()}
        points = {f"{c}_points": p for c, p in q.points.items()}
        found.append(_fact("score_set", "score", score=q.score, cls=q.cls, via=end.via, at=_iso(end.trigger),
                           **answers, **points))  # fmt: skip
    if "transfer" in conv.issued and conv.closer is not None:
        c = conv.closer
        found.append(_fact("transferred_to", "closer", user_id=c.user_id, name=c.name, phone=c.phone))
    if "voicemail" in conv.issued and conv.greeting is not None:
        if (ended := _speak_ended_after(conv, conv.greeting)) is not None:
            found.append(_fact("voicemail_left", "voicemail", at=_iso(ended)))
    if end is not None and end.outcome == "callback" and "closing" in conv.issued:
        found.append(_fact("callback_promised", "callback", at=_after(end.trigger, script.follow_up_hours["hot"])))
    if (follow := _follow_up(conv, script, end, bool(opted))) is not None:
        found.append(follow)
    return {(f.kind, f.key): f for f in found}


def _answers(conv: Conversation, script: CallScript) -> list[Fact]:
    heard: dict[str, tuple[scoring.Answer, bool, str]] = {}
    partial = {name: value for name, (_, value) in conv.partials.items()}
    for criterion, answer in scoring.from_ai(partial, script.weights).items():
        heard[criterion] = (answer, True, "ai")
    if conv.ai is not None and conv.ai[1] == "valid":
        for criterion, answer in scoring.from_ai(conv.ai[2], script.weights).items():
            heard[criterion] = (answer, False, "ai")
    if _fallback(conv, script):
        digits, _ = _dtmf(conv, script)
        for question, (_, pressed) in zip(script.questions, digits, strict=False):
            heard[question.criterion] = (scoring.from_dtmf(question.options, pressed), False, "dtmf")
    return [
        _fact("answer_heard", c, value=a.value, confidence=a.confidence, partial=p, via=via)
        for c, (a, p, via) in sorted(heard.items())
    ]


def _follow_up(conv: Conversation, script: CallScript, end: Closing | None, opted_out: bool) -> Fact | None:
    hours = script.follow_up_hours
    if opted_out:
        return _fact("follow_up", "next", reason="opted_out", at=None)
    if end is not None:
        if end.outcome == "transfer":
            return _fact("follow_up", "next", reason="transferred", at=None)
        reason = "hot" if end.outcome == "callback" else end.outcome
        return _fact("follow_up", "next", reason=reason, at=_after(end.trigger, hours[reason]))
    if conv.greeting is not None:
        return _fact("follow_up", "next", reason="voicemail", at=_after(conv.greeting, hours["voicemail"]))
    if conv.hangup is not None:
        key, cause = conv.hangup
        picked_up = conv.answered is not None or conv.detection is not None
        reason = "hung_up" if picked_up else ("busy" if cause == "user_busy" else "no_answer")
        return _fact("follow_up", "next", reason=reason, at=_after(key, hours["no_answer"]))
    return None
