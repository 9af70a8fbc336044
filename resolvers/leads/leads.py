from __future__ import annotations

from datasources.mongo import leads as store
from datasources.mongo.leads import LeadFilter, LeadOrder, LeadPosition
from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_int
from resolvers.pagination import Page, check_first, decode_cursor, encode_cursor, page
from resolvers.principal import Role


async def leads(
    ctx: RequestContext,
    *,
    first: int,
    after: str | None,
    order: LeadOrder,
    statuses: list[str],
    sources: list[str],
    tags: list[str],
    owner_id: str | None,
    text: str | None,
    include_archived: bool,
) -> Page[LeadRecord]:
    limit = check_first(first, ctx.max_page_size)
    scope = ctx.loaders
    where = LeadFilter(
        visible_owners=scope.lead_owners(),
        visible_ids=sorted((await scope.driver_scope())[1]) if ctx.caller.role is Role.driver else None,
        statuses=statuses,
        sources=sources,
        tags=[t.lower() for t in tags],
        owner_id=decode_int(owner_id, "User", field="filter.ownerId") if owner_id else None,
        text=(text or "").strip() or None,
        include_archived=include_archived,
    )
    position = None
    if after is not None:
        value, lead_id = decode_cursor(after, arity=2)
        position = LeadPosition(value, str(lead_id))
    found = await store.list_leads(
        account_id=ctx.account_id, where=where, order=order, limit=limit + 1, after=position
    )
    for record in found:
        ctx.loaders.lead.prime(record.id, record)
    return page(
        found, limit, lambda r: encode_cursor(getattr(r, order.field), r.id), has_previous=after is not None
    )
