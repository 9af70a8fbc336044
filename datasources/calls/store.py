"""Call state in Redis.

A call is one JSON value under its key. A change is an optimistic transaction: WATCH the call's key and the
event's de-duplication key, compute the new call in Python (the caller passes the pure function), then in one
MULTI: write the call, mark the event seen (with a TTL), add its lines to the call's DTMF and transcript logs (the
transcript capped to its newest TRANSCRIPT_MAX lines), append the event to
the call's stream and to the account's stream (both capped), keep the set of active calls and the lead -> live
call index beside it, and publish a wake-up. Two replicas applying events of the same call at once both succeed:
the loser of the race retries on the fresh value.

A change may also hold claims: keys whose value is the call id, with a TTL, that at most one call holds (a closer
on duty is promised to one call at a time). The transaction WATCHes each claim and reads its holder before its
MULTI, so a claim is taken, refreshed or released in the same MULTI as the call it belongs to, or not at all: two
calls taking the same claim at once cannot both land, and no claim outlives a change that was not applied.

A change may also hold outbox jobs: the agent's carrier commands and lead facts, appended to the command outbox
stream (`keys.command_outbox`) in the same MULTI, so they exist iff the event was applied, whatever happens to
the process after the EXEC (voice/command_outbox.py delivers them).

The call's JSON is bounded (datasources/calls/model.py): what grows with a call goes to its log and its stream,
so a transaction costs the same on the first event of a call and on the ten-thousandth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from redis.asyncio import Redis
from redis.exceptions import WatchError

from datasources.calls.logs import member
from datasources.calls.model import LogLine
from datasources.instrument import round_trip
from datasources.redis import keys

SEEN_TTL = 7 * 24 * 3600  # Telnyx retries for hours; a week is plenty
CALL_STREAM_MAX = 1_000
ACCOUNT_STREAM_MAX = 10_000
TRANSCRIPT_MAX = 1_000  # a call's transcript log keeps its newest lines, as its stream keeps its newest events
MAX_RETRIES = 50
CLAIM_TTL = 3600  # a claim outlives its call's last change by this much at most (a call whose end never came)

type Json = dict[str, Any]


@dataclass(frozen=True)
class Applied:
    call: Json
    call_cursor: str
    account_cursor: str
    archive_queued: bool
    outbox: tuple[tuple[str, dict[str, str]], ...] = ()  # the change's outbox jobs, with their stream ids


class ClaimTaken(Exception):
    """Another call holds a claim the change had to take: nothing of the change was applied."""

    def __init__(self, key: str, holder: str) -> None:
        super().__init__(f"{key} is held by call {holder}")
        self.key = key
        self.holder = holder


@dataclass(frozen=True)
class Claim:
    """A key held by the call (its value is the call id) for `ttl` seconds after the change. `take`: the change
    needs it, and fails with `ClaimTaken` when another call holds it; `keep`: refreshed unless another call holds
    it (a claim that expired and was taken meanwhile is lost, not fought over); `release`: deleted if the call
    holds it. Held by the same call counts as free."""

    key: str
    op: Literal["take", "keep", "release"]
    ttl: int = CLAIM_TTL


@dataclass(frozen=True)
class Change:
    """What a transaction decided: the call to store and the event entry to append, or nothing to do."""

    call: Json
    entry: Json
    active: bool
    archive: bool = False  # the call just ended, or an ended call learnt more: queue its archiving
    extra: tuple[Json, ...] = ()  # more entries after `entry` on both streams (the agent's dialogue steps)
    dtmf: tuple[LogLine, ...] = ()  # lines for the call's DTMF log
    transcript: tuple[LogLine, ...] = ()  # lines for the call's transcript log (capped: TRANSCRIPT_MAX)
    claims: tuple[Claim, ...] = ()  # keys the call takes, keeps or releases with this change
    outbox: tuple[dict[str, str], ...] = ()  # jobs for the command outbox, in the order to deliver them


def _stream_fields(entry: Json) -> dict[Any, Any]:
    return {"event": orjson.dumps(entry)}


@round_trip("redis")
async def transact(
    redis: Redis,
    *,
    account_id: int,
    call_id: str,
    event_id: str | None,
    decide: Callable[[Json | None], Change | None],
) -> Applied | None:
    """Applies `decide` to the stored call atomically. None: a duplicate event, or `decide` changed nothing."""
    call_key = keys.call_state(account_id, call_id)
    seen_key = keys.webhook_seen(event_id) if event_id else None
    watched = [call_key] + ([seen_key] if seen_key else [])
    for _ in range(MAX_RETRIES):
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(*watched)
                # one round trip reads both: the event's seen mark (a duplicate) and the call
                seen, raw = await pipe.mget(seen_key, call_key) if seen_key else (None, await pipe.get(call_key))
                if seen is not None:
                    return None
                change = decide(orjson.loads(raw) if raw else None)
                if change is None:
                    return None
                holders = await _holders(pipe, change.claims, call_id)
                pipe.multi()
                # an archived call's keys expire (`CALL_RETENTION`); a late event must not make them permanent
                pipe.set(call_key, orjson.dumps(change.call), keepttl=True)
                if seen_key:
                    pipe.set(seen_key, call_id, ex=SEEN_TTL)
                fields = _stream_fields(change.entry)
                pipe.xadd(keys.call_stream(account_id, call_id), fields, maxlen=CALL_STREAM_MAX, approximate=True)
                pipe.xadd(keys.account_stream(account_id), fields, maxlen=ACCOUNT_STREAM_MAX, approximate=True)
                for more in change.extra:
                    extra = _stream_fields(more)
                    pipe.xadd(keys.call_stream(account_id, call_id), extra, maxlen=CALL_STREAM_MAX, approximate=True)
                    pipe.xadd(keys.account_stream(account_id), extra, maxlen=ACCOUNT_STREAM_MAX, approximate=True)
                lead_id = change.call.get("lead_id")
                if change.active:
                    pipe.sadd(keys.active_calls(account_id), call_id)
                    if lead_id:
                        pipe.sadd(keys.lead_live_calls(account_id, lead_id), call_id)
                else:
                    pipe.srem(keys.active_calls(account_id), call_id)
                    if lead_id:
                        pipe.srem(keys.lead_live_calls(account_id, lead_id), call_id)
                if change.dtmf:
                    log_key = keys.call_dtmf(account_id, call_id)
                    pipe.zadd(log_key, {member(line): 0 for line in change.dtmf})
                    if not change.active:
                        # a late digit on an ended call: never a log without an end (the archive sets its TTL)
                        pipe.expire(log_key, SEEN_TTL, nx=True)
                if change.transcript:
                    said_key = keys.call_transcript(account_id, call_id)
                    pipe.zadd(said_key, {member(line): 0 for line in change.transcript})
                    # the newest lines by (occurred_at, event id): the same set whatever order the lines came in
                    pipe.zremrangebyrank(said_key, 0, -TRANSCRIPT_MAX - 1)
                    if not change.active:
                        pipe.expire(said_key, SEEN_TTL, nx=True)
                if change.archive:
                    pipe.xadd(keys.archive_outbox(), {"account_id": str(account_id), "call_id": call_id})
                jobs = []  # where each outbox job's reply (its stream id) lands among the queued replies
                for job in change.outbox:
                    jobs.append(len(pipe.command_stack))
                    pipe.xadd(keys.command_outbox(), job)  # type: ignore[arg-type]  # str fields
                for claim, holder in zip(change.claims, holders, strict=True):
                    if claim.op == "release":
                        if holder == call_id:
                            pipe.delete(claim.key)
                    elif holder in (None, call_id):
                        pipe.set(claim.key, call_id, ex=claim.ttl)
                pipe.publish(keys.notify_channel(account_id), call_id)
                result = await pipe.execute()
            except WatchError:
                continue
        # queued replies, in order: set, [set seen], xadd call, xadd account, [xadd call, xadd account per extra],
        # sadd/srem, ..., [xadd outbox], [xadd command outbox per job], [set/delete per claim], publish
        first = 2 if seen_key else 1
        call_cursor, account_cursor = result[first], result[first + 1]
        outbox = tuple((str(result[at]), job) for at, job in zip(jobs, change.outbox, strict=True))
        return Applied(change.call, str(call_cursor), str(account_cursor), change.archive, outbox)
    raise RuntimeError(f"call {call_id}: gave up after {MAX_RETRIES} conflicting updates")


async def _holders(pipe: Any, claims: Sequence[Claim], call_id: str) -> list[str | None]:
    """Each claim's holder, WATCHed from here to the MULTI: a claim that changes meanwhile fails the transaction,
    which then decides again on the fresh holders. A claim to take that another call holds: `ClaimTaken`."""
    if not claims:
        return []
    names = [c.key for c in claims]
    await pipe.watch(*names)
    holders: list[str | None] = await pipe.mget(names)
    for claim, holder in zip(claims, holders, strict=True):
        if claim.op == "take" and holder not in (None, call_id):
            raise ClaimTaken(claim.key, str(holder))
    return holders


@round_trip("redis")
async def claim_holders(redis: Redis, *, names: Sequence[str]) -> list[str | None]:
    """The call holding each claim (None: free), in one round trip; a read, which claims nothing."""
    if not names:
        return []
    holders: list[str | None] = await redis.mget(names)  # type: ignore[assignment]  # the client decodes
    return holders


@round_trip("redis")
async def calls_by_ids(redis: Redis, *, account_id: int, ids: Sequence[str]) -> list[Json | None]:
    if not ids:
        return []
    values = await redis.mget([keys.call_state(account_id, i) for i in ids])
    return [orjson.loads(v) if v else None for v in values]


@round_trip("redis")
async def active_call_ids(redis: Redis, *, account_id: int) -> list[str]:
    members: set[str] = await redis.smembers(keys.active_calls(account_id))  # type: ignore[assignment]
    return sorted(members)


@round_trip("redis")
async def live_call_ids_of_leads(redis: Redis, *, account_id: int, lead_ids: Sequence[str]) -> list[list[str]]:
    """Each lead's live call ids (the index kept in each call's transaction), in one round trip."""
    if not lead_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for lead_id in lead_ids:
            pipe.smembers(keys.lead_live_calls(account_id, lead_id))
        found = await pipe.execute()
    return [sorted(ids) for ids in found]


@round_trip("redis")
async def remember_control_id(redis: Redis, *, call_control_id: str, account_id: int, call_id: str) -> None:
    """Lets an event that carries no client_state (some carriers drop it) still find its call."""
    await redis.set(keys.control_id(call_control_id), orjson.dumps([account_id, call_id]), ex=SEEN_TTL)


@round_trip("redis")
async def call_of_control_id(redis: Redis, *, call_control_id: str) -> tuple[int, str] | None:
    raw = await redis.get(keys.control_id(call_control_id))
    if not raw:
        return None
    account_id, call_id = orjson.loads(raw)
    return int(account_id), str(call_id)


@round_trip("redis")
async def count_command(redis: Redis, *, call_control_id: str, command_id: str, kind: str) -> None:
    """The simulated carrier's tally of what it was asked, kept where every replica's carrier adds to it."""
    key = keys.simulated_commands(call_control_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(key, f"{kind}:{command_id}", 1)
        pipe.expire(key, SEEN_TTL)
        await pipe.execute()


@round_trip("redis")
async def command_counts(redis: Redis, *, call_control_id: str) -> dict[str, int]:
    counts: Any = await redis.hgetall(keys.simulated_commands(call_control_id))
    return {name: int(n) for name, n in counts.items()}


@round_trip("redis")
async def record_unmatched(redis: Redis, *, event_type: str, event_id: str, body: bytes) -> None:
    """An event for no call we know: kept for inspection, changes nothing."""
    await redis.xadd(
        keys.unmatched_events(), {"type": event_type, "id": event_id, "body": body}, maxlen=1_000, approximate=True
    )
