"""callUpdates and liveCalls: replay after the cursor, then follow live, from whichever process serves them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from graphql import GraphQLError

from datasources.calls.broker import Overflow, valid_cursor
from datasources.calls.codec import load_call
from datasources.calls.model import Call
from datasources.redis import keys
from resolvers.context import RequestContext
from resolvers.errors import InputError
from resolvers.ids import decode_as


@dataclass(frozen=True)
class CallUpdate:
    cursor: str
    type: str
    occurred_at: datetime
    call: Call


async def _follow(ctx: RequestContext, stream_key: str, after: str | None) -> AsyncIterator[CallUpdate]:
    if after is not None and not valid_cursor(after):
        raise InputError("after", f"{after!r} is not a cursor of this subscription")
    if ctx.events is None:
        raise GraphQLError("live calls are not configured on this server")
    try:
        async for entry in ctx.events.subscribe(ctx.account_id, stream_key, after):
            event = entry.event
            yield CallUpdate(entry.cursor, event["type"], datetime.fromisoformat(event["occurred_at"]),
                             load_call(event["call"]))
    except Overflow as exc:
        raise GraphQLError(str(exc), extensions={"code": "SUBSCRIBER_TOO_SLOW"}) from None


def call_updates(ctx: RequestContext, call_id: str, after: str | None) -> AsyncIterator[CallUpdate]:
    key = decode_as(call_id, "Call", field="callId")
    return _follow(ctx, keys.call_stream(ctx.account_id, key), after)


def live_calls(ctx: RequestContext, after: str | None) -> AsyncIterator[CallUpdate]:
    return _follow(ctx, keys.account_stream(ctx.account_id), after)
