"""What every stream-backed subscription shares: it outlives neither its token nor its session."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from datasources.calls.broker import Entry
from resolvers.context import RequestContext
from resolvers.identity.sessions import session_ended
from resolvers.permissions import Unauthenticated
from resolvers.principal import Principal

_CHECKING: dict[Principal, asyncio.Future[str | None]] = {}


async def _session_ended(ctx: RequestContext, principal: Principal) -> str | None:
    """`session_ended`, but one check at a time per principal in this process: a caller's subscriptions started
    together come due together, and thousands of them each reading the same keys at the same instant exhausted
    the Redis and PostgreSQL pools (bench/live_calls.py, 5,000 subscribers). A check already in flight when this
    one comes due answers for both: a sign-out is still seen within `session_recheck`, plus at most the duration
    of one check."""
    pending = _CHECKING.get(principal)
    if pending is None:
        pending = _CHECKING[principal] = asyncio.ensure_future(session_ended(ctx.stores, ctx.auth, principal))
        pending.add_done_callback(lambda _: _CHECKING.pop(principal, None))
    return await asyncio.shield(pending)


async def while_session_stands(ctx: RequestContext, source: AsyncIterator[Entry]) -> AsyncIterator[Entry]:
    """Passes `source` on until the caller's credential stops standing, then raises why."""
    principal, every = ctx.caller, ctx.auth.session_recheck.total_seconds()
    pending: asyncio.Future[Entry] | None = None
    checked = time.monotonic()
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            # the next check is due `every` after the last, however busy the stream: a flow of events must not
            # keep a deactivated caller's subscription alive
            wait = max(every - (time.monotonic() - checked), 0.0)
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
                expired = principal.expires_at is not None and datetime.now(UTC) >= principal.expires_at
                if time.monotonic() - checked < every and not expired:
                    continue
            reason = await _session_ended(ctx, principal)
            checked = time.monotonic()
            if reason is not None:
                raise Unauthenticated(f"the subscription has ended: {reason}")
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        with contextlib.suppress(RuntimeError):
            await source.aclose()  # type: ignore[attr-defined]
