"""searchConversations: past calls nearest in meaning to a text (Chroma `conversations`), optionally by outcome."""

from __future__ import annotations

from dataclasses import dataclass

from datasources.calls.model import Call
from resolvers.calls.history import call_from_log
from resolvers.context import RequestContext
from resolvers.errors import InputError
from resolvers.pagination import check_first

OUTCOMES = frozenset({"transferred", "callback", "warm", "cold", "opted_out", "voicemail", "hung_up", "busy",
                      "no_answer"})


@dataclass(frozen=True)
class ConversationHit:
    call: Call
    score: float


async def search_conversations(
    ctx: RequestContext, *, text: str, outcome: str | None, first: int
) -> list[ConversationHit]:
    check_first(first, ctx.max_page_size)
    if not text.strip():
        raise InputError("text", "must not be empty")
    if outcome is not None and outcome not in OUTCOMES:
        raise InputError("outcome", f"must be one of {', '.join(sorted(OUTCOMES))}")
    matches = await ctx.stores.vectors.search_conversations(
        account_id=ctx.account_id, text=text, first=first, outcome=outcome
    )
    ids = [m.id for m in matches]
    live = await ctx.loaders.call.load_many(ids)
    logs = await ctx.loaders.call_log.load_many(ids)
    hits = []
    for match, now, log in zip(matches, live, logs, strict=True):
        found = now or (call_from_log(log) if log is not None else None)
        if found is not None and await ctx.loaders.sees_call(found):
            hits.append(ConversationHit(found, match.score))
    return hits
