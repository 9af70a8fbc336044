from __future__ import annotations

from dataclasses import dataclass

from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.errors import InputError
from resolvers.ids import decode_as

MAX_HOPS = 6


@dataclass(frozen=True)
class PathResult:
    leads: list[LeadRecord]
    relations: list[str]


async def introduction_path(ctx: RequestContext, *, from_id: str, to_id: str, max_hops: int) -> PathResult | None:
    if not 1 <= max_hops <= MAX_HOPS:
        raise InputError("maxHops", f"must be between 1 and {MAX_HOPS}, got {max_hops}")
    source = decode_as(from_id, "Lead", field="fromLeadId")
    target = decode_as(to_id, "Lead", field="toLeadId")
    if None in await ctx.loaders.lead.load_many([source, target]):
        return None
    path = await ctx.stores.graph.introduction_path(
        account_id=ctx.account_id, from_id=source, to_id=target, max_hops=max_hops
    )
    if path is None:
        return None
    leads = await ctx.loaders.leads(path.lead_ids)
    if len(leads) != len(path.lead_ids):  # the path runs through a lead the caller may not see
        return None
    return PathResult(leads, list(path.relations))
