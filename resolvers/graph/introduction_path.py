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
    path = await ctx.stores.graph.introduction_path(
        account_id=ctx.account_id, from_id=source, to_id=target, max_hops=max_hops
    )
    if path is None:
        return None
    return PathResult(await ctx.loaders.leads(path.lead_ids), list(path.relations))
