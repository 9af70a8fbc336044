from __future__ import annotations

from collections.abc import AsyncIterator

import strawberry

from resolvers.calls.subscriptions import call_updates, live_calls
from resolvers.permissions import Action
from schema.calls.types import CallEvent
from schema.context import Info
from schema.permissions import can


@strawberry.type
class CallSubscriptions:
    @strawberry.subscription(
        description="Events of one call; with `after`, first every event after that cursor.",
        extensions=can(Action.read_calls),
    )
    async def call_updates(
        self, info: Info, call_id: strawberry.ID, after: str | None = None
    ) -> AsyncIterator[CallEvent]:
        return call_updates(info.context, call_id, after, CallEvent.from_update)

    @strawberry.subscription(
        description="Events of every call of the caller's account, replayed after `after`.",
        extensions=can(Action.read_calls),
    )
    async def live_calls(self, info: Info, after: str | None = None) -> AsyncIterator[CallEvent]:
        return live_calls(info.context, after, CallEvent.from_update)
