"""callUpdates and liveCalls: replay after the cursor, then follow live, from whichever process serves them.

A subscription outlives neither its access token nor its session: it ends with an UNAUTHENTICATED error when
the token expires, and within `session_recheck` of a sign-out, deactivation or role change. Each event reads
fresh rows (new loaders per event), and an agent sees only the calls of the leads they may see.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import GraphQLError

from datasources.calls.broker import CursorExpired, Overflow, valid_cursor
from datasources.calls.codec import load_call
from datasources.calls.model import Call
from datasources.redis import keys
from resolvers.context import RequestContext
from resolvers.errors import InputError
from resolvers.ids import decode_as
from resolvers.streams import while_session_stands

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallUpdate:
    cursor: str
    type: str
    occurred_at: datetime
    call: Call
    data: dict[str, Any] | None = None  # an agent.* dialogue step's facts


async def _follow(ctx: RequestContext, stream_key: str, after: str | None) -> AsyncIterator[CallUpdate]:
    if after is not None and not valid_cursor(after):
        raise InputError("after", f"{after!r} is not a cursor of this subscription")
    if ctx.events is None:
        raise GraphQLError("live calls are not configured on this server")
    try:
        async for entry in while_session_stands(ctx, ctx.events.subscribe(ctx.account_id, stream_key, after)):
            event = entry.event
            try:
                call = load_call(event["call"])
                kind, occurred_at = event["type"], datetime.fromisoformat(event["occurred_at"])
            except (KeyError, TypeError, ValueError) as exc:  # a malformed entry ends no subscription
                log.warning("skipping malformed event %s of %s: %r", entry.cursor, stream_key, exc)
                continue
            ctx.fresh_loaders()  # this event's nested fields read the rows as they are now
            if not await ctx.loaders.sees_call(call):
                continue
            data = event.get("data")
            yield CallUpdate(entry.cursor, kind, occurred_at, call, data if isinstance(data, dict) else None)
    except Overflow as exc:
        raise GraphQLError(str(exc), extensions={"code": "SUBSCRIBER_TOO_SLOW"}) from None
    except CursorExpired as exc:
        raise GraphQLError(str(exc), extensions={"code": "CURSOR_EXPIRED"}) from None


def call_updates(ctx: RequestContext, call_id: str, after: str | None) -> AsyncIterator[CallUpdate]:
    key = decode_as(call_id, "Call", field="callId")
    return _follow(ctx, keys.call_stream(ctx.account_id, key), after)


def live_calls(ctx: RequestContext, after: str | None) -> AsyncIterator[CallUpdate]:
    return _follow(ctx, keys.account_stream(ctx.account_id), after)
