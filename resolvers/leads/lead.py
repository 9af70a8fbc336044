from __future__ import annotations

from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_as


async def lead(ctx: RequestContext, *, id: str) -> LeadRecord | None:
    return await ctx.loaders.lead.load(decode_as(id, "Lead"))
