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
            reason = await session_ended(ctx.stores, ctx.auth, principal)
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
