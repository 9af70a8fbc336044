from __future__ import annotations

from datasources.postgres.records import RouteRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_int


async def route(ctx: RequestContext, *, id: str) -> RouteRecord | None:
    return await ctx.loaders.route.load(decode_int(id, "Route"))
