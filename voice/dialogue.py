"""The voice agent's edges: what `voice.agent.decide` needs looked up, and what its decisions do outside.

`CallService.handle` runs the pure agent inside the call's Redis transaction (so two replicas, or a retried
webhook, never both take a step); this module loads its inputs before (the account's script, the lead's summary,
the closers free to take a hot lead) and carries its outputs out after: the commands to the carrier, each with
its deterministic `command_id`, and the facts to the lead in MongoDB (through the lead write path, so the
projector follows). Both are jobs of the command outbox, queued in the event's own transaction
(voice/command_outbox.py): `send_one` and `record_facts` are what delivering one does.

A closer is promised to one call at a time through a claim in Redis (`keys.closer_claim` -> the call id). Looking
closers up only reads the claims (one MGET over the closers on duty, whatever the number of live calls); the
call's own transaction takes the claim of the closer its decision promises the lead (`closer_claims`), keeps it
with each later change of the live call (refreshing its TTL) and releases it with the change that ends the call,
or that settles on another outcome. A claim another call took meanwhile fails that transaction (`ClaimTaken`),
and the decision is taken again with the next free closer, or none.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime
from typing import Any

from datasources.calls import store
from datasources.calls.codec import load_call
from datasources.calls.model import Call, CallEvent
from datasources.calls.store import Claim
from datasources.mongo import leads
from datasources.postgres import call_agent
from datasources.redis import keys
from datasources.stores import Stores
from voice import agent
from voice.agent import AgentContext, Closer, Command, Conversation, Fact
from voice.carriers.base import Carrier, CarrierError
from voice.scoring import CRITERIA
from voice.script import DEFAULT_SCRIPT, CallScript

log = logging.getLogger(__name__)

# the lead's status after a scored call, by class (the lifecycle's qualified / nurturing / unqualified)
STATUS = {"hot": "qualified", "warm": "nurturing", "cold": "unqualified"}
# the events whose decision may need the closer or the lead's summary (closing, transfer)
NEEDS_CONTEXT = frozenset({"call.ai_gather.ended", "call.gather.ended", "call.speak.ended"})
# follow-up reason -> the call's outcome
OUTCOMES = {"hot": "callback", "transferred": "transferred"}
LIVE_FACTS = frozenset({"question_asked", "answer_heard", "transcript_line", "score_set", "transferred_to",
                        "voicemail_left", "opted_out", "callback_promised"})
SCRIPT_TTL = 5.0  # seconds a process reuses an account's script before reading it again


class Scripts:
    """Each account's call script, read from PostgreSQL and kept a few seconds per process."""

    def __init__(self, stores: Stores, ttl: float = SCRIPT_TTL) -> None:
        self.stores = stores
        self.ttl = ttl
        self._cache: dict[int, tuple[float, CallScript]] = {}

    async def of(self, account_id: int) -> CallScript:
        """PostgreSQL down costs only freshness: the script last read (else the default) keeps calls going."""
        cached = self._cache.get(account_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            stored = await call_agent.call_script(self.stores.db, account_id=account_id)
        except Exception as exc:
            log.warning("call script of account %s unreadable, using the last one read: %r", account_id, exc)
            return cached[1] if cached is not None else DEFAULT_SCRIPT
        script = CallScript.from_dict(stored.script) if stored else DEFAULT_SCRIPT
        self._cache[account_id] = (time.monotonic(), script)
        return script

    def forget(self, account_id: int) -> None:
        self._cache.pop(account_id, None)


@dataclasses.dataclass(frozen=True)
class Lookup:
    """What a decision may need, read before the call's transaction: the lead's summary, and the closers on duty
    that no other call has claimed, in order. Reading claims nothing."""

    account_id: int
    lead_summary: str = ""
    free: tuple[Closer, ...] = ()

    def context(self) -> AgentContext:
        return AgentContext(lead_summary=self.lead_summary, closer=self.free[0] if self.free else None)

    def without(self, claim: str) -> Lookup:
        """The lookup less the closer of `claim`, which another call took after it was read."""
        kept = tuple(c for c in self.free if keys.closer_claim(self.account_id, c.user_id) != claim)
        return dataclasses.replace(self, free=kept)


async def lookup_for(stores: Stores, *, account_id: int, call_id: str) -> Lookup:
    """The lead's one-line summary and the closers on duty whose claim is free or this call's. A store that is
    down leaves its part out (no summary; no closer: a hot lead is promised a callback)."""
    try:
        return await _lookup(stores, account_id=account_id, call_id=call_id)
    except Exception as exc:
        log.warning("agent context of call %s unavailable, deciding without it: %r", call_id, exc)
        return Lookup(account_id)


async def _lookup(stores: Stores, *, account_id: int, call_id: str) -> Lookup:
    [current] = await store.calls_by_ids(stores.redis, account_id=account_id, ids=[call_id])
    call = load_call(current) if current else None
    summary = ""
    if call is not None and call.lead_id:
        [lead] = await leads.leads_by_ids(account_id=account_id, ids=[call.lead_id])
        if lead is not None:
            summary = " ".join(filter(None, [lead.first_name, lead.last_name, lead.company.name]))
    if call is not None and conversation_of(call).closer_fixed:
        return Lookup(account_id, summary)  # the call's closer (or none) is settled: nobody to look for
    closers = await call_agent.closers_on_duty(stores.db, account_id=account_id)
    holders = await store.claim_holders(
        stores.redis, names=[keys.closer_claim(account_id, c.user_id) for c in closers]
    )
    free = tuple(
        Closer(c.user_id, c.full_name, c.phone)
        for c, holder in zip(closers, holders, strict=True)
        if holder in (None, call_id)
    )
    return Lookup(account_id, summary, free)


def closer_claims(
    call: Call, before: Conversation, after: Conversation, script: CallScript, *, ttl: int
) -> tuple[Claim, ...]:
    """The change's claims on closers: `take` the closer the decision fixes and promises the lead (the lookup's,
    so another one is tried when it is taken), `keep` it (a fresh TTL) while the call lasts, `release` it when the
    call ends or its outcome settles on no transfer after all (an earlier answer delivered late). A closer fixed by
    an earlier decision and promised only now is kept, not taken: the conversation cannot choose another. Only
    outbound calls have an agent that transfers."""
    if call.direction != "outbound":
        return ()
    held = agent.promised_closer(before, script)
    wanted = None if call.terminal else agent.promised_closer(after, script)
    claims: list[Claim] = []
    if held is not None and (wanted is None or wanted.user_id != held.user_id):
        claims.append(Claim(keys.closer_claim(call.account_id, held.user_id), "release", ttl))
    if wanted is not None:
        key = keys.closer_claim(call.account_id, wanted.user_id)
        claims.append(Claim(key, "keep", ttl) if before.closer_fixed else Claim(key, "take", ttl))
    return tuple(claims)


def conversation_of(call: Call) -> Conversation:
    return Conversation.from_dict(call.conversation) if call.conversation else Conversation()


def with_agent(call: Call, conversation: Conversation, script: CallScript, context: AgentContext) -> Call:
    """The call with the conversation and what the live view reads of it (step, AI message history, score,
    outcome). The transcription lines are the call's transcript log's, not the record's (`model.transcript_of`)."""
    found = agent.facts(conversation, script, context)
    step = str(found[("step", "current")].as_dict()["step"])
    lines = sorted(
        (f for (kind, _), f in found.items() if kind == "transcript_line"),
        key=lambda f: (str(f.as_dict()["at"]), f.key),
    )
    transcript = tuple(f"{f.as_dict()['speaker']}: {f.as_dict()['text']}" for f in lines)
    scored = found.get(("score_set", "score"))
    qualification = None
    if scored is not None:
        d = scored.as_dict()
        qualification = {"score": d["score"], "class": d["cls"], "via": d["via"], "at": d["at"],
                         "answers": {c: d[c] for c in CRITERIA if c in d}}
    follow = found.get(("follow_up", "next"))
    outcome = None
    if follow is not None:
        reason = str(follow.as_dict()["reason"])
        outcome = OUTCOMES.get(reason, reason)
    transferred = found.get(("transferred_to", "closer"))
    closer_id = transferred.as_dict()["user_id"] if transferred is not None else None
    return dataclasses.replace(
        call, conversation=conversation.to_dict(), agent_step=step, transcript=transcript,
        qualification=qualification, outcome=outcome, closer_id=closer_id if isinstance(closer_id, int) else None,
    )


def fact_entries(event: CallEvent, facts: list[Fact], snapshot: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """One stream entry per new or changed dialogue step the live view shows (`agent.<kind>`); the step and the
    follow-up are fields of the call itself (`agentStep`, `outcome`)."""
    return tuple(
        {"type": f"agent.{f.kind}", "event_id": f"{event.id}/{f.kind}/{f.key}",
         "occurred_at": event.occurred_at.isoformat(), "call": snapshot, "data": f.as_dict()}
        for f in facts if f.kind in LIVE_FACTS
    )


# -- after the transaction ----------------------------------------------------------------------------------


# refusals a retry may get past: the request timed out, or came too fast
RETRIED_STATUSES = frozenset({408, 429})


async def send(carrier: Carrier, *, call_control_id: str, client_state: str, commands: list[Command]) -> None:
    """Each command once, in order; a failure is logged (`send_one`), not raised."""
    for command in commands:
        await send_one(carrier, call_control_id=call_control_id, client_state=client_state, command=command)


async def send_one(carrier: Carrier, *, call_control_id: str, client_state: str, command: Command) -> str | None:
    """None when the command is done with: sent, or refused for good. A 422 means the call has ended meanwhile
    (the agent may decide a step from an event that occurred after the hangup): logged at INFO; any other 4xx
    is a warning. Otherwise (no answer, a 5xx, a 408 or 429, anything unexpected) why it failed: a retry with
    the same `command_id` may land, and cannot act twice."""
    try:
        await _send(carrier, call_control_id, client_state, command)
    except CarrierError as exc:
        if exc.status is not None and 400 <= exc.status < 500 and exc.status not in RETRIED_STATUSES:
            level = logging.INFO if exc.status == 422 else logging.WARNING
            log.log(level, "carrier refused %s (%s) on %s: %s", command.kind, command.step, call_control_id, exc)
            return None
        log.warning("sending %s (%s) on %s failed: %s", command.kind, command.step, call_control_id, exc)
        return f"CarrierError({exc})"
    except Exception as exc:
        log.exception("sending %s (%s) on %s failed", command.kind, command.step, call_control_id)
        return repr(exc)
    return None


async def _send(carrier: Carrier, call_control_id: str, client_state: str, command: Command) -> None:
    ids: dict[str, Any] = {
        "call_control_id": call_control_id, "command_id": command.command_id, "client_state": client_state
    }
    p = command.params
    match command.kind:
        case "speak":
            await carrier.speak(text=p["payload"], voice=p.get("voice", "female"),
                                language=p.get("language", "en-US"), **ids)
        case "hangup":
            await carrier.hang_up(**ids)
        case "transfer":
            await carrier.transfer(to=p["to"], from_display_name=p.get("from_display_name"),
                                   audio_url=p.get("audio_url"), **ids)
        case "gather_using_ai":
            await carrier.gather_using_ai(**ids, **p)
        case "gather_using_speak":
            await carrier.gather_using_speak(**ids, **p)
        case "record_start":
            await carrier.record_start(**ids, **p)
        case "transcription_start":
            await carrier.transcription_start(**ids, **p)
        case _:
            raise CarrierError(f"no carrier method for the agent's command {command.kind!r}")


def lead_changes(facts: list[Fact], *, call_id: str) -> dict[str, Any]:
    """The `$set` of the lead for the agent's new facts: qualification, status, do-not-call, next follow-up."""
    changes: dict[str, Any] = {}
    for f in facts:
        d = f.as_dict()
        if f.kind == "score_set":
            answers = {c: str(d[c]) for c in CRITERIA if d.get(c) is not None}
            changes.update({
                "score": d["score"], "status": STATUS[str(d["cls"])],
                "qualification.answers": answers, "qualification.score": d["score"],
                "qualification.cls": d["cls"], "qualification.via": d["via"], "qualification.call_id": call_id,
                "qualification.qualified_at": datetime.fromisoformat(str(d["at"])) if d.get("at") else None,
                **{f"qualification.{c}": v for c, v in answers.items()},
            })
        elif f.kind == "answer_heard" and d.get("partial") is False:
            changes[f"qualification.confidence.{f.key}"] = d.get("confidence")
        elif f.kind == "opted_out":
            # at once, and as the markDoNotCall mutation does: withdrawing from calls withdraws consent to call
            changes.update({"do_not_call": True, "consent.call": False})
        elif f.kind == "follow_up":
            at = d.get("at")
            changes["next_follow_up_at"] = datetime.fromisoformat(str(at)) if at else None
    return changes


async def record_facts(*, account_id: int, lead_id: str, call_id: str, facts: list[Fact]) -> None:
    """Writes the facts' `lead_changes` to the lead (idempotent: a `$set`); a store that refuses raises."""
    changes = lead_changes(facts, call_id=call_id)
    if changes:
        await leads.update_lead(account_id=account_id, lead_id=lead_id, changes=changes)
