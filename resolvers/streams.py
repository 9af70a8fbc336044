"""What every stream-backed subscription shares: it outlives neither its token nor its session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from datasources.calls.broker import Entry, Stop
from datasources.stores import Stores
from resolvers.context import RequestContext
from resolvers.identity.config import AuthConfig
from resolvers.identity.sessions import session_ended
from resolvers.permissions import Unauthenticated
from resolvers.principal import Principal


@dataclass(eq=False)
class _Watch:
    """A principal's session, watched once for all its subscriptions in this process."""

    stop: Stop = field(default_factory=Stop)
    reason: str | None = None
    error: Exception | None = None
    holders: int = 0
    task: asyncio.Task[None] | None = None


_WATCHES: dict[Principal, _Watch] = {}


async def _watching(watch: _Watch, stores: Stores, auth: AuthConfig, principal: Principal) -> None:
    """Checks the session every `session_recheck` (and when the token expires) until it ends, then stops every
    subscription holding the watch. A check that fails ends them with its error, as it did one by one."""
    every = auth.session_recheck.total_seconds()
    try:
        while True:
            wait = every
            if principal.expires_at is not None:
                wait = min(wait, max((principal.expires_at - datetime.now(UTC)).total_seconds(), 0.0))
            await asyncio.sleep(wait)
            reason = await session_ended(stores, auth, principal)
            if reason is not None:
                watch.reason = reason
                break
    except Exception as exc:
        watch.error = exc
    if _WATCHES.get(principal) is watch:
        del _WATCHES[principal]  # a subscription started from now on watches afresh
    watch.stop.stop()


def _hold(ctx: RequestContext) -> _Watch:
    principal = ctx.caller
    watch = _WATCHES.get(principal)
    if watch is None:
        watch = _WATCHES[principal] = _Watch()
        watch.task = asyncio.get_running_loop().create_task(_watching(watch, ctx.stores, ctx.auth, principal))
    watch.holders += 1
    return watch


def _release(watch: _Watch, principal: Principal) -> None:
    watch.holders -= 1
    if watch.holders == 0 and not watch.stop.stopped:
        if watch.task is not None:
            watch.task.cancel()
        if _WATCHES.get(principal) is watch:
            del _WATCHES[principal]


async def while_session_stands(
    ctx: RequestContext, subscribe: Callable[[Stop], AsyncIterator[Entry]]
) -> AsyncIterator[Entry]:
    """`subscribe(stop)`'s entries until the caller's credential stops standing, then raises why.

    One watch per principal and process checks the session for all its subscriptions (a caller's subscriptions
    started together used to come due together, and thousands of checks at once exhausted the pools): a sign-out
    is seen within `session_recheck`, an expired token when it expires. A waiting subscription costs no task
    and no timer of its own; the watch's `Stop` wakes them all."""
    principal = ctx.caller
    watch = _hold(ctx)
    try:
        source = subscribe(watch.stop)
        try:
            async for entry in source:
                if watch.stop.stopped:
                    break
                yield entry
        finally:
            with contextlib.suppress(RuntimeError):
                await source.aclose()  # type: ignore[attr-defined]
        if watch.error is not None:
            raise watch.error
        if watch.reason is not None:
            raise Unauthenticated(f"the subscription has ended: {watch.reason}")
    finally:
        _release(watch, principal)
