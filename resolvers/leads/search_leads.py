from __future__ import annotations

from dataclasses import dataclass

from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.errors import InputError
from resolvers.pagination import check_first


@dataclass(frozen=True)
class LeadHit:
    lead: LeadRecord
    score: float


async def search_leads(
    ctx: RequestContext, *, text: str, first: int, status: str | None, source: str | None
) -> list[LeadHit]:
    check_first(first, ctx.max_page_size)
    if not text.strip():
        raise InputError("text", "must not be empty")
    matches = await ctx.stores.vectors.search_leads(
        account_id=ctx.account_id, text=text, first=first, status=status, source=source
    )
    found = await ctx.loaders.lead.load_many([m.id for m in matches])
    return [LeadHit(lead, m.score) for lead, m in zip(found, matches, strict=True) if lead is not None]
