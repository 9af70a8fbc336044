from __future__ import annotations

import strawberry

from resolvers.calls.call import active_calls, call
from resolvers.calls.call_script import call_script
from resolvers.calls.search_conversations import search_conversations
from resolvers.permissions import Action
from schema.calls.types import Call, CallScript, ConversationMatch
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

    @strawberry.field(
        description="The account's call script: what the voice agent says and asks, its weights and follow-ups.",
        extensions=can(Action.read_calls),
    )
    async def call_script(self, info: Info) -> CallScript | None:
        found = await call_script(info.context)
        return CallScript.from_record(found) if found else None

    @strawberry.field(
        description="Past calls whose transcript (or summary) is nearest in meaning to `text` (Chroma), best "
                    "first; `outcome` keeps those that ended so (transferred, callback, warm, cold, opted_out, "
                    "voicemail, hung_up, busy, no_answer), e.g. the successful ones to coach agents and scripts.",
        extensions=can(Action.read_calls),
    )
    async def search_conversations(
        self, info: Info, text: str, outcome: str | None = None, first: int = 10
    ) -> list[ConversationMatch] | None:
        hits = await search_conversations(info.context, text=text, outcome=outcome, first=first)
        return [ConversationMatch(call=Call.from_record(h.call), score=h.score) for h in hits]
