from __future__ import annotations

from datasources.calls import store
from datasources.calls.model import Call
from resolvers.calls.history import call_from_log
from resolvers.context import RequestContext
from resolvers.ids import decode_as


async def call(ctx: RequestContext, *, id: str, field: str = "id") -> Call | None:
    """Live (Redis) first; an archived call (MongoDB) once Redis no longer holds it."""
    key = decode_as(id, "Call", field=field)
    live = await ctx.loaders.call.load(key)
    if live is not None:
        return live
    log = await ctx.loaders.call_log.load(key)
    return call_from_log(log) if log is not None else None


async def active_calls(ctx: RequestContext) -> list[Call]:
    ids = await store.active_call_ids(ctx.stores.redis, account_id=ctx.account_id)
    found = await ctx.loaders.call.load_many(ids)
    return [c for c in found if c is not None and not c.terminal]
