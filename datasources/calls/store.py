"""Call state in Redis.

A call is one JSON value under its key. A change is an optimistic transaction: read the event's de-duplication
key and the call's key, compute the new call in Python (the caller passes the pure function), then in one script
(APPLY) that first checks those keys still hold what was read: write the call, mark the event seen (with a TTL),
add its lines to the call's DTMF and transcript logs (the transcript capped to its newest TRANSCRIPT_MAX lines),
append the event to the call's stream and to the account's stream (both capped), keep the set of active calls and
the lead -> live call index beside it, and publish a wake-up. Two replicas applying events of the same call at
once both succeed: the loser of the race, whose script finds the call changed and writes nothing, retries on the
fresh value. The script does what a WATCH/MULTI did, in one round trip without a connection of its own, so the
reads and writes of concurrent webhooks share the turn's pipeline (datasources/redis/pipelined.py).

A change may also hold claims: keys whose value is the call id, with a TTL, that at most one call holds (a closer
on duty is promised to one call at a time). The transaction reads each claim's holder after deciding, and the
script checks the holders as it checks the call, so a claim is taken, refreshed or released with the call it
belongs to, or not at all: two calls taking the same claim at once cannot both land, and no claim outlives a
change that was not applied.

A change may also hold outbox jobs: the agent's carrier commands and lead facts, appended to the command outbox
stream (`keys.command_outbox`) in the same script (APPLY), so they exist iff the event was applied, whatever happens to
the process after the EXEC (voice/command_outbox.py delivers them).

The call's JSON is bounded (datasources/calls/model.py): what grows with a call goes to its log and its stream,
so a transaction costs the same on the first event of a call and on the ten-thousandth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from weakref import WeakKeyDictionary

import orjson
from redis.asyncio import Redis

from datasources.calls.logs import member
from datasources.calls.model import LogLine
from datasources.instrument import round_trip
from datasources.redis import keys
from datasources.redis.pipelined import Pipelined, pipelined

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


# KEYS the keys the change was decided on (the call, the event's seen mark, the claims); ARGV for each of them a
# presence flag and the value it was read with ("0", "" for none), then the change's commands, each as its
# argument count and its arguments. A key that no longer holds what was read: nothing is written, and 0 answers
# (the caller reads again and decides again). Else every command runs, and their replies answer, in order.
APPLY = """
local n = #KEYS
for i = 1, n do
  local now = redis.call('GET', KEYS[i])
  if ARGV[2 * i - 1] == '1' then
    if now ~= ARGV[2 * i] then return 0 end
  elseif now then
    return 0
  end
end
local replies = {}
local at = 2 * n + 1
while at <= #ARGV do
  local count = tonumber(ARGV[at])
  replies[#replies + 1] = redis.call(unpack(ARGV, at + 1, at + count))
  at = at + count + 1
end
return replies
"""

_scripts: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()


def _apply_script(redis: Any) -> Any:
    script = _scripts.get(redis)
    if script is None:
        script = _scripts[redis] = redis.register_script(APPLY)
    return script


@round_trip("redis")
async def transact(
    redis: Redis,
    *,
    account_id: int,
    call_id: str,
    event_id: str | None,
    decide: Callable[[Json | None], Change | None],
) -> Applied | None:
    """Applies `decide` to the stored call atomically. None: a duplicate event, or `decide` changed nothing.

    Optimistic, as a WATCH/MULTI would be, without a connection of its own: the reads (the seen mark and the call,
    then the claims' holders) and the write (APPLY: compare what was read, then write it all, in one script) go
    through the turn's pipeline (datasources/redis/pipelined.py), shared with the other webhooks of that turn. A
    write whose keys changed since they were read writes nothing, and the change is decided again."""
    call_key = keys.call_state(account_id, call_id)
    seen_key = keys.webhook_seen(event_id) if event_id else None
    lane = pipelined(redis)
    for _ in range(MAX_RETRIES):
        # one round trip reads both: the event's seen mark (a duplicate) and the call
        seen, raw = await lane.command("MGET", seen_key, call_key) if seen_key else (None, await lane.command(
            "GET", call_key))
        if seen is not None:
            return None
        change = decide(orjson.loads(raw) if raw else None)
        if change is None:
            return None
        holders = await _holders(lane, change.claims, call_id)
        read = [(call_key, raw)] + ([(seen_key, None)] if seen_key else [])
        read += [(claim.key, holder) for claim, holder in zip(change.claims, holders, strict=True)]
        args: list[Any] = []
        for _, value in read:
            args += ("0", "") if value is None else ("1", value)
        commands = _commands(change, account_id=account_id, call_id=call_id, seen_key=seen_key, holders=holders)
        for command in commands:
            args.append(len(command))
            args += command
        # where each command outbox job's reply (its stream id) lands among the replies
        jobs = [at for at, command in enumerate(commands) if command[:2] == ("XADD", keys.command_outbox())]
        result = await lane.run(_apply_script(redis), [key for key, _ in read], args)
        if result == 0:
            continue
        # replies, in order: set, [set seen], xadd call, xadd account, ... (`_commands`)
        first = 2 if seen_key else 1
        call_cursor, account_cursor = result[first], result[first + 1]
        outbox = tuple((str(result[at]), job) for at, job in zip(jobs, change.outbox, strict=True))
        return Applied(change.call, str(call_cursor), str(account_cursor), change.archive, outbox)
    raise RuntimeError(f"call {call_id}: gave up after {MAX_RETRIES} conflicting updates")


def _xadd(stream: str, fields: Json, maxlen: int) -> tuple[Any, ...]:
    return ("XADD", stream, "MAXLEN", "~", maxlen, "*", *(x for pair in fields.items() for x in pair))


def _commands(change: Change, *, account_id: int, call_id: str, seen_key: str | None,
              holders: Sequence[str | None]) -> list[tuple[Any, ...]]:
    """The change's writes, in the order `transact` reads their replies: the call, the seen mark, the entry on
    both streams (then each extra entry), the active and lead indexes, the logs, the archive outbox, the command
    outbox's jobs, the claims and the wake-up."""
    call_stream, account_stream = keys.call_stream(account_id, call_id), keys.account_stream(account_id)
    # an archived call's keys expire (`CALL_RETENTION`); a late event must not make them permanent
    out: list[tuple[Any, ...]] = [("SET", keys.call_state(account_id, call_id), orjson.dumps(change.call), "KEEPTTL")]
    if seen_key:
        out.append(("SET", seen_key, call_id, "EX", SEEN_TTL))
    for entry in (change.entry, *change.extra):
        fields = _stream_fields(entry)
        out += [_xadd(call_stream, fields, CALL_STREAM_MAX), _xadd(account_stream, fields, ACCOUNT_STREAM_MAX)]
    lead_id = change.call.get("lead_id")
    index = "SADD" if change.active else "SREM"
    out.append((index, keys.active_calls(account_id), call_id))
    if lead_id:
        out.append((index, keys.lead_live_calls(account_id, lead_id), call_id))
    if change.dtmf:
        log_key = keys.call_dtmf(account_id, call_id)
        out.append(("ZADD", log_key, *(x for line in change.dtmf for x in (0, member(line)))))
        if not change.active:
            # a late digit on an ended call: never a log without an end (the archive sets its TTL)
            out.append(("EXPIRE", log_key, SEEN_TTL, "NX"))
    if change.transcript:
        said_key = keys.call_transcript(account_id, call_id)
        out.append(("ZADD", said_key, *(x for line in change.transcript for x in (0, member(line)))))
        # the newest lines by (occurred_at, event id): the same set whatever order the lines came in
        out.append(("ZREMRANGEBYRANK", said_key, 0, -TRANSCRIPT_MAX - 1))
        if not change.active:
            out.append(("EXPIRE", said_key, SEEN_TTL, "NX"))
    if change.archive:
        out.append(_archive_entry(account_id, call_id))
    for job in change.outbox:
        out.append(("XADD", keys.command_outbox(), "*", *(x for pair in job.items() for x in pair)))
    for claim, holder in zip(change.claims, holders, strict=True):
        if claim.op == "release":
            if holder == call_id:
                out.append(("DEL", claim.key))
        elif holder in (None, call_id):
            out.append(("SET", claim.key, call_id, "EX", claim.ttl))
    out.append(("PUBLISH", keys.notify_channel(account_id), call_id))
    return out


def _archive_entry(account_id: int, call_id: str) -> tuple[Any, ...]:
    return ("XADD", keys.archive_outbox(), "*", "account_id", str(account_id), "call_id", call_id)


async def _holders(lane: Pipelined, claims: Sequence[Claim], call_id: str) -> list[str | None]:
    """Each claim's holder, which the write then checks again (APPLY): a claim that changes meanwhile fails the
    write, which is then decided again on the fresh holders. A claim to take that another call holds:
    `ClaimTaken`."""
    if not claims:
        return []
    holders: list[str | None] = await lane.command("MGET", *(c.key for c in claims))
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
