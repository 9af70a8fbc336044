"""callUpdates and liveCalls: replay after the cursor, then follow live, from whichever process serves them.

A subscription outlives neither its access token nor its session: it ends with an UNAUTHENTICATED error when
the token expires, and within `session_recheck` of a sign-out, deactivation or role change. Each event reads
fresh rows (new loaders per event), and an agent sees only the calls of the leads they may see.

An event is prepared once per process for all the subscribers of one data scope (`loaders.data_scope`: the
account, the role, and the user for an agent or a driver): its call is decoded once per stream entry, whether
that scope sees it is decided once, and those subscribers get the same `CallUpdate`, on which the schema
shares the execution of equal documents (schema/sharing.py). Subscribers of another scope never share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from datasources.calls.broker import Entry
from datasources.calls.codec import load_call
from datasources.calls.model import Call
from datasources.redis import keys
from resolvers.context import RequestContext
from resolvers.ids import decode_as
from resolvers.loaders import data_scope
from resolvers.shared import settled, shared_future
from resolvers.streams import follow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallUpdate:
    cursor: str
    type: str
    occurred_at: datetime
    call: Call
    data: dict[str, Any] | None = None  # an agent.* dialogue step's facts
    # what the schema makes of it, made once for every subscriber it is shared with
    shared: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


def _parsed(entry: Entry, stream_key: str) -> CallUpdate | None:
    """The entry as an update, decoded once for every subscriber of this process; None (logged once) if malformed."""
    if "update" not in entry.memo:
        event = entry.event
        try:
            call = load_call(event["call"])
            kind, occurred_at = event["type"], datetime.fromisoformat(event["occurred_at"])
        except (KeyError, TypeError, ValueError) as exc:  # a malformed entry ends no subscription
            log.warning("skipping malformed event %s of %s: %r", entry.cursor, stream_key, exc)
            entry.memo["update"] = None
        else:
            data = event.get("data")
            entry.memo["update"] = CallUpdate(entry.cursor, kind, occurred_at, call,
                                              data if isinstance(data, dict) else None)
    update: CallUpdate | None = entry.memo["update"]
    return update


async def _visible(ctx: RequestContext, update: CallUpdate) -> CallUpdate | None:
    return replace(update, shared={}) if await ctx.loaders.sees_call(update.call) else None


async def _shared(ctx: RequestContext, entry: Entry, stream_key: str) -> CallUpdate | None:
    """The update this caller's data scope gets for the entry (None: it may not see the call), decided once for
    every subscriber of that scope; a subscriber that leaves meanwhile cancels nothing the others wait for."""
    update = _parsed(entry, stream_key)
    if update is None:
        return None
    key = ("visible", data_scope(ctx.caller))  # not through ctx.loaders: only the first of a scope makes them
    decided: asyncio.Future[CallUpdate | None] | None = entry.memo.get(key)
    if decided is None:
        decided = entry.memo[key] = shared_future(_visible(ctx, update))
    if decided.done():
        return decided.result()
    found: CallUpdate | None = await settled(decided)
    return found


async def _follow[T](ctx: RequestContext, stream: Callable[[], str], after: str | None,
                     make: Callable[[CallUpdate], T]) -> AsyncIterator[T]:
    """`make(update)` for each update the caller sees; `stream()`, the key, is taken on the first read, so a bad
    argument fails as the iteration's error, as it did when the schema's resolver was a generator of its own."""
    stream_key = stream()
    entries = follow(ctx, stream_key, after, unconfigured="live calls are not configured on this server",
                     expired=str)
    async with contextlib.aclosing(entries):
        async for entry in entries:
            ctx.fresh_loaders()  # this event's nested fields read the rows as they are now
            update = await _shared(ctx, entry, stream_key)
            if update is not None:
                yield make(update)


def call_updates[T](ctx: RequestContext, call_id: str, after: str | None,
                    make: Callable[[CallUpdate], T]) -> AsyncIterator[T]:
    """The call's updates as `make` turns them into the schema's events (the schema returns this iterator rather
    than wrapping it in a generator of its own: one layer fewer per event and subscriber)."""
    return _follow(ctx, lambda: keys.call_stream(ctx.account_id, decode_as(call_id, "Call", field="callId")),
                   after, make)


def live_calls[T](ctx: RequestContext, after: str | None, make: Callable[[CallUpdate], T]) -> AsyncIterator[T]:
    return _follow(ctx, lambda: keys.account_stream(ctx.account_id), after, make)
