from __future__ import annotations

import strawberry

from resolvers.calls.call import active_calls, call
from resolvers.permissions import Action
from schema.calls.types import Call
from schema.context import Info
from schema.permissions import can


@strawberry.type
class CallQueries:
    @strawberry.field(
        description="A call of the caller's account, live or archived.", extensions=can(Action.read_calls)
    )
    async def call(self, info: Info, id: strawberry.ID) -> Call | None:
        found = await call(info.context, id=id)
        return Call.from_record(found) if found else None

    @strawberry.field(
        description="Calls of the caller's account that have not ended.", extensions=can(Action.read_calls)
    )
    async def active_calls(self, info: Info) -> list[Call] | None:
        return [Call.from_record(c) for c in await active_calls(info.context)]
