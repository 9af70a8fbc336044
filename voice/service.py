"""The call service: carrier webhooks in, outbound commands out, every change through the pure state machine."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from datasources import signals
from datasources.calls import store
from datasources.calls.codec import dump_call, load_call
from datasources.calls.model import Call, CallEvent, CallState, CarrierFailed, Refused
from datasources.calls.store import Change, Json
from datasources.mongo.records import LeadRecord
from datasources.postgres import call_agent
from datasources.postgres.call_agent import StoredScript
from datasources.stores import Stores
from voice import agent, client_state, command_outbox, dialogue, policy
from voice.agent import AgentContext, Command, Fact
from voice.carriers.base import Carrier, CarrierError
from voice.envelope import HANDLED
from voice.script import DEFAULT_SCRIPT, CallScript, script_from, validate
from voice.state import apply, log_line

log = logging.getLogger(__name__)


def entry(kind: str, event_id: str, at: datetime, call: Call) -> Json:
    """One stream entry: what happened and the call as it stands after it (less the agent's conversation, which
    only the stored call needs)."""
    return entry_of(kind, event_id, at, dump_call(call))


def entry_of(kind: str, event_id: str, at: datetime, dumped: Json) -> Json:
    """`entry` of a call already dumped (`dump_call`): a webhook's change stores the same dump."""
    snapshot = {k: v for k, v in dumped.items() if k != "conversation"}
    return {"type": kind, "event_id": event_id, "occurred_at": at.isoformat(), "call": snapshot}


def _local_change(
    kind: str, call_id: str, now: datetime, change: Callable[[Call], Call | None]
) -> Callable[[Json | None], Change | None]:
    """A change we make ourselves (not a carrier event), applied to the stored call if it is still live."""

    def decide(current: Json | None) -> Change | None:
        if current is None:
            return None
        call = load_call(current)
        updated = change(call)
        if updated is None or updated == call:
            return None
        updated = dataclasses.replace(updated, updated_at=max(filter(None, (call.updated_at, now))))
        archive = updated.terminal and not call.terminal
        if updated.terminal and call.terminal and updated.recording_url != call.recording_url:
            archive = True
        event_id = f"local:{call_id}:{kind}:{uuid.uuid4().hex[:8]}"
        return Change(dump_call(updated), entry(kind, event_id, now, updated), active=not updated.terminal,
                      archive=archive)

    return decide


def _archived(call: Call) -> tuple[object, ...]:
    """What an ended call's archive holds that a late event can still change in the record (a recording, the AI
    history); a late transcription line is its own log's, and queues the archive itself."""
    return (call.state, call.recording_url, call.transcript, call.qualification, call.outcome, call.closer_id)


class CallService:
    def __init__(
        self,
        stores: Stores,
        carrier: Carrier,
        *,
        from_number: str,
        client_state_key: bytes,
        archive_wakeup: asyncio.Event | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        closer_claim_ttl: int = store.CLAIM_TTL,
    ) -> None:
        self.stores = stores
        self.carrier = carrier
        self.from_number = from_number
        self.client_state_key = client_state_key
        self.archive_wakeup = archive_wakeup
        self.clock = clock
        self.closer_claim_ttl = closer_claim_ttl  # seconds a closer's claim outlives its call's last event
        self.scripts = dialogue.Scripts(stores)
        self.courier = command_outbox.Courier(stores, carrier, client_state_key=client_state_key)

    # -- carrier webhooks ---------------------------------------------------------------------------------

    async def handle(self, event: CallEvent, body: bytes) -> str:
        """`applied`, `duplicate`, `ignored` (a type we do not act on) or `unmatched` (no call of ours)."""
        redis = self.stores.redis
        if event.type not in HANDLED:
            await store.record_unmatched(redis, event_type=event.type, event_id=event.id, body=body)
            return "ignored"
        # a client_state that does not verify (another application's, or forged) counts as none: only the
        # call_control_id of a call we dialled can then find a call, and it finds that call in its own account
        target = client_state.decode(event.payload.get("client_state"), key=self.client_state_key)
        if target is None and event.call_control_id:
            found = await store.call_of_control_id(redis, call_control_id=event.call_control_id)
            target = (found[1], found[0]) if found else None
        if target is None:
            await store.record_unmatched(redis, event_type=event.type, event_id=event.id, body=body)
            return "unmatched"
        call_id, account_id = target
        moved: list[tuple[str, str]] = []  # the state change of the attempt that committed, for the metrics
        script = await self.scripts.of(account_id)
        lookup = dialogue.Lookup(account_id)
        if event.type in dialogue.NEEDS_CONTEXT:
            lookup = await dialogue.lookup_for(self.stores, account_id=account_id, call_id=call_id)

        def decide_with(context: AgentContext) -> Callable[[Json | None], Change | None]:
            def decide(current: Json | None) -> Change | None:
                # an event may arrive before our own record of the dial: it starts the call from what it knows
                before = load_call(current) if current else Call(id=call_id, account_id=account_id)
                after = apply(before, event)
                moved[:] = [(before.state.value, after.state.value)] if after.state != before.state else []
                # the agent folds the event into the conversation kept in the same record, so this transaction
                # also settles which replica takes the steps it enables
                commands: list[Command] = []
                facts: list[Fact] = []
                talked = talking = dialogue.conversation_of(before)
                try:
                    decision = agent.decide(after, talked, event, script, context)
                    after = dialogue.with_agent(after, decision.conversation, script, context)
                    commands, facts, talking = decision.commands, decision.facts, decision.conversation
                except Exception:
                    # a payload the agent cannot read must not cost the call its state
                    log.exception("the agent could not take event %s (%s) of call %s", event.id, event.type, call_id)
                # a new event is recorded (seen key, stream entry) even when it changes nothing in the call: the
                # store has already told a repeat apart, and `apply` is idempotent, so `after == before` says nothing
                stored = dump_call(after)
                main = entry_of(event.type, event.id, event.occurred_at, stored)
                line, heard = log_line(event), agent.transcript_line(event)
                # a transcription line that arrives after the call ended changes its archive: archived again
                changed = _archived(before) != _archived(after) or heard is not None
                claims = dialogue.closer_claims(after, talked, talking, script, ttl=self.closer_claim_ttl)
                return Change(stored, main, active=not after.terminal,
                              archive=after.terminal and (not before.terminal or changed),
                              extra=dialogue.fact_entries(event, facts, main["call"]), dtmf=(line,) if line else (),
                              transcript=(heard,) if heard else (), claims=claims,
                              outbox=command_outbox.jobs(after, event, commands, facts))

            return decide

        if event.type == "call.initiated" and event.call_control_id:
            # before the event is applied (an idempotent SET): a failure here leaves the event unapplied, so its
            # redelivery does both, where afterwards a failure would leave the mapping missing for good
            await store.remember_control_id(
                redis, call_control_id=event.call_control_id, account_id=account_id, call_id=call_id
            )
        while True:
            try:
                applied = await store.transact(redis, account_id=account_id, call_id=call_id, event_id=event.id,
                                               decide=decide_with(lookup.context()))
                break
            except store.ClaimTaken as taken:
                # another call was promised that closer since the lookup: decide again with the next free one
                # (at most once per closer on duty; with none left, a hot lead is promised a callback)
                log.info("call %s: closer claim %s went to call %s, deciding again", call_id, taken.key, taken.holder)
                narrower = lookup.without(taken.key)
                if narrower == lookup:
                    raise  # only the lookup's closers are taken (`closer_claims`): not reached
                lookup = narrower
        if applied is None:
            return "duplicate"
        for before_state, after_state in moved:
            signals.call_transition.send(before_state, to=after_state)
        # the commands and facts are in the command outbox since the EXEC: sent now, and what does not land (or
        # a crash before it does) is the outbox workers' (voice/command_outbox.py)
        try:
            await self.courier.deliver_now(applied.outbox)
        except Exception:
            # the event is applied (a redelivery would be a duplicate): a 5xx would ask Telnyx for a redelivery
            # that cannot help, and the jobs stay pending for the workers
            log.exception("call %s: event %s applied; its commands are left to the command outbox", call_id,
                          event.id)
        if applied.archive_queued:
            self._wake_archiver()
        return "applied"

    # -- the account's call script -------------------------------------------------------------------

    async def call_script(self, *, account_id: int) -> StoredScript:
        """The account's script; an account that never saved one gets the default (`updated_at` None)."""
        stored = await call_agent.call_script(self.stores.db, account_id=account_id)
        if stored is None:
            return StoredScript(account_id, DEFAULT_SCRIPT.to_dict(), None, None)
        return StoredScript(account_id, CallScript.from_dict(stored.script).to_dict(), stored.updated_at,
                            stored.updated_by)

    async def update_call_script(
        self, *, account_id: int, changes: dict[str, Any], user_id: int | None
    ) -> StoredScript | list[tuple[str, str]]:
        """Saves the current script with `changes` (top-level keys of `CallScript.to_dict`) over it, or answers
        the problems as (field path, message) without saving anything."""
        current = await self.call_script(account_id=account_id)
        built = script_from(current.script, changes)
        if isinstance(built, list):
            return built
        problems = validate(built)
        if problems:
            # validate's problems read "field: what is wrong"
            return [(field, why) for field, _, why in (p.partition(": ") for p in problems)]
        saved = await call_agent.save_call_script(self.stores.db, account_id=account_id, script=built.to_dict(),
                                                  updated_by=user_id, at=self.clock())
        self.scripts.forget(account_id)
        return StoredScript(account_id, saved.script, saved.updated_at, saved.updated_by)

    def _wake_archiver(self) -> None:
        if self.archive_wakeup is not None:
            self.archive_wakeup.set()

    # -- outbound ----------------------------------------------------------------------------------------

    async def start_call(
        self, *, account_id: int, lead: LeadRecord, agent_id: int | None
    ) -> Call | Refused | CarrierFailed:
        now = self.clock()
        reason = policy.refusal(
            consent_to_call=lead.consent.call, do_not_call=lead.do_not_call, timezone=lead.timezone, now=now
        )
        if reason is not None:
            return Refused(reason)
        call = Call(
            id=uuid.uuid4().hex, account_id=account_id, lead_id=lead.id, agent_id=agent_id, state=CallState.queued,
            direction="outbound", from_number=self.from_number, to_number=lead.phone, updated_at=now,
        )

        def create(current: Json | None) -> Change | None:
            if current is not None:
                return None
            return Change(dump_call(call), entry("call.queued", f"local:{call.id}:queued", now, call), active=True)

        redis = self.stores.redis
        await store.transact(redis, account_id=account_id, call_id=call.id, event_id=None, decide=create)
        try:
            dialed = await self.carrier.dial(
                to=lead.phone, from_=self.from_number,
                client_state=client_state.encode(call_id=call.id, account_id=account_id, key=self.client_state_key),
                command_id=str(uuid.uuid4()),
            )
        except CarrierError as exc:
            ended = self.clock()

            def failed(c: Call) -> Call | None:
                if c.terminal:
                    return None
                return dataclasses.replace(c, state=CallState.failed, hangup_cause="dial_failed", ended_at=ended)

            await store.transact(redis, account_id=account_id, call_id=call.id, event_id=None,
                                 decide=_local_change("call.dial_failed", call.id, ended, failed))
            self._wake_archiver()
            return CarrierFailed(exc.reason)
        await store.remember_control_id(
            redis, call_control_id=dialed.call_control_id, account_id=account_id, call_id=call.id
        )

        def with_control_id(c: Call) -> Call | None:
            # the carrier's call.initiated may have got here first and filled it in already
            if c.call_control_id:
                return None
            session = c.call_session_id or dialed.call_session_id
            return dataclasses.replace(c, call_control_id=dialed.call_control_id, call_session_id=session)

        applied = await store.transact(redis, account_id=account_id, call_id=call.id, event_id=None,
                                       decide=_local_change("call.dialed", call.id, self.clock(), with_control_id))
        if applied is not None:
            return load_call(applied.call)
        [current] = await store.calls_by_ids(redis, account_id=account_id, ids=[call.id])
        return load_call(current) if current else call

    async def command(self, call: Call, action: str, **arguments: Any) -> CarrierFailed | None:
        """hang_up / transfer / speak on a live call; the carrier's webhooks then move the call."""
        if call.call_control_id is None:
            return CarrierFailed("the carrier has not confirmed this call yet; try again in a moment")
        try:
            await getattr(self.carrier, action)(
                call_control_id=call.call_control_id, command_id=str(uuid.uuid4()), **arguments
            )
        except CarrierError as exc:
            return CarrierFailed(exc.reason)
        return None
