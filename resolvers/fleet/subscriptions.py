"""routeUpdates and optimizationProgress: replay after the cursor, then live, through the calls' StreamBroker.

A route's stream holds positions, stop moves and ETA changes; a job's stream holds each new state of the job
(queued, running, progress with the best objective so far, the result). Both end like `callUpdates` when the
session ends; `optimizationProgress` also ends after the job's last event.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from datasources.calls.broker import CursorExpired, Entry
from datasources.redis import keys
from datasources.redis.jobs import TERMINAL, JobState
from resolvers.context import RequestContext
from resolvers.fleet.job import job_key
from resolvers.ids import decode_int
from resolvers.streams import follow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouteUpdate:
    cursor: str
    type: str  # route | stop | position | eta
    occurred_at: datetime
    route_id: int
    route_status: str
    stop_id: int | None = None
    position: tuple[float, float, datetime] | None = None
    etas: list[tuple[int, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class JobUpdate:
    cursor: str
    type: str
    job: JobState


def _entries(ctx: RequestContext, stream_key: str, after: str | None, what: str) -> AsyncIterator[Entry]:
    def expired(_: CursorExpired) -> str:
        return (f"the events after cursor {after} are no longer kept; re-read the {what} and subscribe again "
                "without `after`")

    return follow(ctx, stream_key, after, unconfigured="live updates are not configured on this server",
                  expired=expired)


def _route_update(entry: Entry) -> RouteUpdate:
    event: dict[str, Any] = entry.event
    stop = event.get("stop") or {}
    position = event.get("position")
    return RouteUpdate(
        cursor=entry.cursor, type=event["type"], occurred_at=datetime.fromisoformat(event["occurred_at"]),
        route_id=int(event["route_id"]), route_status=event["route_status"],
        stop_id=int(stop["id"]) if stop else None,
        position=(float(position["latitude"]), float(position["longitude"]), datetime.fromisoformat(position["at"]))
        if position else None,
        etas=[(int(e["stop_id"]), datetime.fromisoformat(e["eta"])) for e in event.get("etas", [])],
    )


async def route_updates(ctx: RequestContext, route_id: str, after: str | None) -> AsyncIterator[RouteUpdate]:
    key = decode_int(route_id, "Route", field="routeId")
    if await ctx.loaders.route.load(key) is None:
        return  # no such route in the caller's account, or (a driver) not theirs: nothing to hear
    async for entry in _entries(ctx, keys.route_stream(ctx.account_id, key), after, "route"):
        try:
            update = _route_update(entry)
        except (KeyError, TypeError, ValueError) as exc:  # a malformed entry ends no subscription
            log.warning("skipping malformed route event %s: %r", entry.cursor, exc)
            continue
        ctx.fresh_loaders()  # this event's nested fields read the rows as they are now
        yield update


async def optimization_progress(ctx: RequestContext, job_id: str, after: str | None) -> AsyncIterator[JobUpdate]:
    """From the job's first event unless `after` is given, so a late subscriber still gets the result."""
    key = job_key(job_id)
    if key is None or ctx.planner is None or await ctx.planner.job(account_id=ctx.account_id, job_id=key) is None:
        return  # an unknown job (or another account's) has nothing to hear
    stream = keys.optimization_stream(ctx.account_id, key)
    async for entry in _entries(ctx, stream, "0" if after is None else after, "job"):
        values = dict(entry.event.get("job") or {})
        try:
            state = JobState(**{k: v for k, v in values.items() if k in JobState.__dataclass_fields__})
        except TypeError as exc:
            log.warning("skipping malformed job event %s: %r", entry.cursor, exc)
            continue
        yield JobUpdate(entry.cursor, str(entry.event.get("type", "")), state)
        if state.status in TERMINAL and entry.event.get("type") != "running":
            return
