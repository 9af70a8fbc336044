"""The session re-check of stream subscriptions: one watch per principal, however many subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any, cast

import pytest

import resolvers.streams
from datasources.calls.broker import Entry, Stop
from resolvers.context import RequestContext
from resolvers.permissions import Unauthenticated
from resolvers.principal import Principal, Role


async def waiting(stop: Stop) -> AsyncGenerator[Entry]:
    """One entry, then nothing until stopped (as the broker's live wait)."""
    woken = asyncio.Event()
    stop.add(woken.set)
    yield Entry("1-0", {})
    await woken.wait()


def context(principal: Principal) -> RequestContext:
    auth = type("Auth", (), {"session_recheck": timedelta(seconds=0.05)})()
    return cast(RequestContext, type("Ctx", (), {"stores": None, "auth": auth, "caller": principal})())


async def consume(principal: Principal) -> tuple[int, str]:
    """As a subscription resolver uses the watch (resolvers/calls/subscriptions.py)."""
    got = 0
    try:
        with resolvers.streams.SessionWatch(context(principal)) as watch:
            async with contextlib.aclosing(waiting(watch.stop)) as entries:
                async for _ in entries:
                    if watch.ended:
                        break
                    got += 1
            watch.check()
    except Unauthenticated as exc:
        return got, str(exc)
    return got, "ended"


async def test_one_check_per_principal_ends_all_its_subscriptions(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[Principal] = []

    async def session_ended(stores: Any, auth: Any, principal: Principal) -> str | None:
        checked.append(principal)
        await asyncio.sleep(0.01)
        return "signed out" if principal.user_id == 2 else None

    monkeypatch.setattr(resolvers.streams, "session_ended", session_ended)
    one, other = Principal(1, Role.owner, user_id=1), Principal(1, Role.owner, user_id=2)
    staying = [asyncio.create_task(consume(one)) for _ in range(50)]
    leaving = await asyncio.wait_for(asyncio.gather(*(consume(other) for _ in range(50))), 5)
    assert leaving == [(1, "the subscription has ended: signed out")] * 50
    assert checked.count(other) == 1  # one check for the 50 of them
    await asyncio.sleep(0.2)
    assert not any(task.done() for task in staying)
    assert 2 <= checked.count(one) <= 10  # every 50 ms for all 50, not 50 checks each time
    for task in staying:
        task.cancel()
    await asyncio.gather(*staying, return_exceptions=True)
    assert resolvers.streams._WATCHES == {}  # the last subscription of a principal takes its watch away


async def test_a_failed_check_ends_the_subscriptions_with_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def session_ended(stores: Any, auth: Any, principal: Principal) -> str | None:
        raise ConnectionError("postgresql is down")

    monkeypatch.setattr(resolvers.streams, "session_ended", session_ended)
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(consume(Principal(1, Role.owner, user_id=3)), 5)
    assert resolvers.streams._WATCHES == {}
