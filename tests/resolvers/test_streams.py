"""The session re-check of stream subscriptions: one check in flight per principal, however many subscriptions."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

import resolvers.streams
from resolvers.context import RequestContext
from resolvers.principal import Principal, Role


async def test_concurrent_checks_of_one_principal_share_one(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[Principal] = []

    async def session_ended(stores: Any, auth: Any, principal: Principal) -> str | None:
        checked.append(principal)
        await asyncio.sleep(0.05)
        return "signed out" if principal.user_id == 2 else None

    monkeypatch.setattr(resolvers.streams, "session_ended", session_ended)
    ctx = cast(RequestContext, type("Ctx", (), {"stores": None, "auth": None})())
    one, other = Principal(1, Role.owner, user_id=1), Principal(1, Role.owner, user_id=2)
    answers = await asyncio.gather(*(resolvers.streams._session_ended(ctx, p) for p in [one] * 50 + [other] * 50))
    assert answers == [None] * 50 + ["signed out"] * 50 and checked == [one, other]
    assert await resolvers.streams._session_ended(ctx, one) is None and checked == [one, other, one]  # not cached
