"""callUpdates and liveCalls: replay after the cursor, then follow live, from whichever process serves them.

A subscription outlives neither its access token nor its session: it ends with an UNAUTHENTICATED error when
the token expires, and within `session_recheck` of a sign-out, deactivation or role change. Each event reads
fresh rows (new loaders per event), and an agent sees only the calls of the leads they may see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError

from datasources.calls.broker import CursorExpired, Entry, Overflow, valid_cursor
from datasources.calls.codec import load_call
from datasources.calls.model import Call
from datasources.redis import keys
from resolvers.context import RequestContext
from resolvers.errors import InputError
from resolvers.identity.sessions import session_ended
from resolvers.ids import decode_as
from resolvers.permissions import Unauthenticated

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallUpdate:
    cursor: str
    type: str
    occurred_at: datetime
    call: Call
    data: dict[str, Any] | None = None  # an agent.* dialogue step's facts


async def _while_session_stands(ctx: RequestContext, source: AsyncIterator[Entry]) -> AsyncIterator[Entry]:
    """Passes `source` on until the caller's credential stops standing, then raises why."""
    principal, every = ctx.caller, ctx.auth.session_recheck.total_seconds()
    pending: asyncio.Future[Entry] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            wait = every
            if principal.expires_at is not None:
                wait = min(wait, max((principal.expires_at - datetime.now(UTC)).total_seconds(), 0.0))
            done, _ = await asyncio.wait({pending}, timeout=wait)
            if pending in done:
                try:
                    entry = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                yield entry
                continue
            reason = await session_ended(ctx.stores, ctx.auth, principal)
            if reason is not None:
                raise Unauthenticated(f"the subscription has ended: {reason}")
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        with contextlib.suppress(RuntimeError):
            await source.aclose()  # type: ignore[attr-defined]


async def _follow(ctx: RequestContext, stream_key: str, after: str | None) -> AsyncIterator[CallUpdate]:
    if after is not None and not valid_cursor(after):
        raise InputError("after", f"{after!r} is not a cursor of this subscription")
    if ctx.events is None:
        raise GraphQLError("live calls are not configured on this server")
    try:
        async for entry in _while_session_stands(ctx, ctx.events.subscribe(ctx.account_id, stream_key, after)):
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
