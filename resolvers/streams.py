"""What every stream-backed subscription shares: it reads its stream after a cursor, then live (`follow`), and it
outlives neither its token nor its session."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from graphql import GraphQLError

from datasources.calls.broker import CursorExpired, Entry, Overflow, Stop, valid_cursor
from datasources.stores import Stores
from resolvers.context import RequestContext
from resolvers.errors import InputError
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


class SessionWatch:
    """One subscription's hold on its caller's session watch: `with SessionWatch(ctx) as watch`, pass
    `watch.stop` to the broker, stop at `watch.ended`, and `watch.check()` once the entries end, which raises
    why the credential no longer stands (or the check's own error).

    One watch per principal and process checks the session for all its subscriptions (a caller's subscriptions
    started together used to come due together, and thousands of checks at once exhausted the pools): a sign-out
    is seen within `session_recheck`, an expired token when it expires. A waiting subscription costs no task, no
    timer and no generator of its own; the watch's `Stop` wakes them all."""

    __slots__ = ("_principal", "_ctx", "_watch")

    def __init__(self, ctx: RequestContext) -> None:
        self._ctx = ctx
        self._principal = ctx.caller
        self._watch: _Watch | None = None

    def __enter__(self) -> SessionWatch:
        self._watch = _hold(self._ctx)
        return self

    def __exit__(self, *_: object) -> None:
        if self._watch is not None:
            _release(self._watch, self._principal)
            self._watch = None

    @property
    def stop(self) -> Stop:
        assert self._watch is not None, "use the watch inside its `with`"
        return self._watch.stop

    @property
    def ended(self) -> bool:
        return self._watch is not None and self._watch.stop.stopped

    def check(self) -> None:
        watch = self._watch
        if watch is None:
            return
        if watch.error is not None:
            raise watch.error
        if watch.reason is not None:
            raise Unauthenticated(f"the subscription has ended: {watch.reason}")


async def follow(
    ctx: RequestContext, stream_key: str, after: str | None, *, unconfigured: str,
    expired: Callable[[CursorExpired], str],
) -> AsyncGenerator[Entry]:
    """The stream's entries after `after` (all that are kept, if None), then live ones, while the caller's session
    stands (SessionWatch); a subscriber too slow for the broker's queue, or a cursor older than the stream keeps,
    ends with its error. `unconfigured`: the error without a broker; `expired`: the message for an old cursor."""
    if after is not None and not valid_cursor(after):
        raise InputError("after", f"{after!r} is not a cursor of this subscription")
    if ctx.events is None:
        raise GraphQLError(unconfigured)
    try:
        with SessionWatch(ctx) as watch:
            source = ctx.events.subscribe(ctx.account_id, stream_key, after, watch.stop)
            async with contextlib.aclosing(source) as entries:
                async for entry in entries:
                    if watch.ended:
                        break
                    yield entry
            watch.check()
    except Overflow as exc:
        raise GraphQLError(str(exc), extensions={"code": "SUBSCRIBER_TOO_SLOW"}) from None
    except CursorExpired as exc:
        raise GraphQLError(expired(exc), extensions={"code": "CURSOR_EXPIRED"}) from None
