"""The agent's commands and lead facts, delivered at least once through the command outbox.

The webhook's transaction (`CallService.handle`) appends one job per carrier command the agent decided, and one
for the lead facts it found, to the command outbox stream (`keys.command_outbox`) in the same MULTI as the event:
they exist iff the event was applied. The handler then delivers them itself at once (`Courier.deliver_now`) and
acknowledges each, deleting it, once delivered. A process that dies between the EXEC and the carrier, or a
carrier that fails, leaves them pending; a `CommandWorker` (one per replica, in the consumer group `senders`)
takes over a job nobody acknowledged within `retry_after` and delivers it again, with the same `command_id`:
Telnyx drops a repeated command id, so delivering at least once here acts once at the carrier. The lead facts
are a `$set`, as idempotent.

Order: a call's commands go out in the order the agent decided them (a sequence per call: a command that fails
holds the call's later ones back until it lands or is given up on); its lead facts are a sequence of their own,
so a carrier outage does not hold a do-not-call back. A job delivered `max_attempts` times without landing (the
handler's own try counts as the first) moves to the dead letter: `switchboard outbox list --outbox commands`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import orjson

from datasources.calls.model import Call, CallEvent
from datasources.redis.outbox import COMMANDS, Worker
from datasources.stores import Stores
from voice import client_state, dialogue
from voice.agent import Command, Fact
from voice.carriers.base import Carrier

log = logging.getLogger(__name__)

type Job = dict[str, str]


def jobs(call: Call, event: CallEvent, commands: Sequence[Command], facts: Sequence[Fact]) -> tuple[Job, ...]:
    """The outbox jobs of one decision, in delivery order: each command (when the carrier has named the call),
    then the facts that change the lead (when the call has one)."""
    base = {"account_id": str(call.account_id), "call_id": call.id, "event_id": event.id}
    control_id = call.call_control_id or event.call_control_id
    made: list[Job] = []
    if control_id:
        for c in commands:
            command = {"kind": c.kind, "params": c.params, "command_id": c.command_id, "step": c.step}
            made.append({**base, "kind": "command", "call_control_id": control_id,
                         "command": orjson.dumps(command).decode()})
    kept = [[f.kind, f.key, f.as_dict()] for f in facts if dialogue.lead_changes([f], call_id=call.id)]
    if call.lead_id and kept:
        made.append({**base, "kind": "facts", "lead_id": call.lead_id, "facts": orjson.dumps(kept).decode()})
    return tuple(made)


def command_of(job: Job) -> Command:
    c: dict[str, Any] = orjson.loads(job["command"])
    return Command(c["kind"], c["params"], c["command_id"], c["step"])


def facts_of(job: Job) -> list[Fact]:
    return [Fact(kind, key, tuple(sorted(data.items()))) for kind, key, data in orjson.loads(job["facts"])]


def sequence(job: Job) -> str:
    return f"{job.get('call_id', '')}:{job.get('kind', '')}"


class Courier:
    """Delivers a job: the command to the carrier, the facts to the lead."""

    def __init__(self, stores: Stores, carrier: Carrier, *, client_state_key: bytes) -> None:
        self.stores = stores
        self.carrier = carrier
        self.client_state_key = client_state_key

    async def deliver(self, job: Job) -> str | None:
        """None when the job is done with (a refusal for good included), else why it may land on a retry."""
        try:
            kind, account_id, call_id = job["kind"], int(job["account_id"]), job["call_id"]
            if kind == "command":
                command, control_id = command_of(job), job["call_control_id"]
            elif kind == "facts":
                facts, lead_id = facts_of(job), job["lead_id"]
            else:
                return f"unknown job kind {kind!r}"
        except (KeyError, TypeError, ValueError) as exc:
            return f"malformed outbox job {job!r}: {exc!r}"
        if kind == "command":
            state = client_state.encode(call_id=call_id, account_id=account_id, key=self.client_state_key)
            return await dialogue.send_one(self.carrier, call_control_id=control_id, client_state=state,
                                           command=command)
        try:
            await dialogue.record_facts(account_id=account_id, lead_id=lead_id, call_id=call_id, facts=facts)
        except Exception as exc:
            log.warning("could not record the agent's facts on lead %s, will retry: %r", lead_id, exc)
            return repr(exc)
        return None

    async def deliver_now(self, queued: Sequence[tuple[str, Job]]) -> None:
        """The handler's own delivery of its transaction's jobs, each acknowledged once done; what fails (and
        the rest of its sequence) stays pending for the workers."""
        held: set[str] = set()
        for entry_id, job in queued:
            if sequence(job) in held:
                continue
            error = await self.deliver(job)
            if error is None:
                await COMMANDS.ack(self.stores.redis, entry_id)
            else:
                held.add(sequence(job))
                log.warning("call %s: %s job of event %s left to the command outbox: %s", job.get("call_id"),
                            job.get("kind"), job.get("event_id"), error)


class CommandWorker(Worker):
    """Delivers the jobs whose handler did not acknowledge them within `retry_after` (it died, or failed)."""

    fresh = False  # a new job is its handler's to deliver first

    def __init__(self, courier: Courier, *, consumer: str, wakeup: asyncio.Event | None = None,
                 retry_after: float = 2.0, poll: float = 1.0, max_attempts: int = 5) -> None:
        super().__init__(COMMANDS, courier.stores.redis, consumer=consumer, wakeup=wakeup or asyncio.Event(),
                         retry_after=retry_after, poll=poll, max_attempts=max_attempts)
        self.courier = courier

    async def deliver(self, fields: dict[str, str]) -> str | None:
        return await self.courier.deliver(fields)

    def sequence(self, fields: dict[str, str]) -> str | None:
        return sequence(fields)

    async def settle(self, entry_id: str, fields: dict[str, str]) -> None:
        await COMMANDS.ack(self.redis, entry_id)
