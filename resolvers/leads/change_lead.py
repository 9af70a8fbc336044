"""The one path every lead update takes: MongoDB (the record), then the projections, waited for a short time."""

from __future__ import annotations

from typing import Any

from datasources.mongo import leads as store
from datasources.mongo.errors import Conflict
from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_as
from resolvers.leads.propagate import settle
from resolvers.results import Failure


async def accepted(ctx: RequestContext, record: LeadRecord) -> LeadRecord:
    """MongoDB holds `record`, so the write stands; Chroma and the graph follow (now, or soon: syncState)."""
    current = await settle(ctx.stores, record, ctx.projection)
    ctx.loaders.lead.clear(current.id).prime(current.id, current)
    return current


async def change_lead(
    ctx: RequestContext, lead_id: str, changes: dict[str, Any], *, field: str = "id"
) -> LeadRecord | Failure:
    key = decode_as(lead_id, "Lead", field=field)
    if await ctx.loaders.lead.load(key) is None:  # not the caller's to see, so not theirs to change
        return Failure.not_found(field, "lead")
    try:
        record = await store.update_lead(account_id=ctx.account_id, lead_id=key, changes=changes)
    except Conflict as exc:
        return Failure.conflict(f"input.{exc.field}", str(exc))
    if record is None:
        return Failure.not_found(field, "lead")
    return await accepted(ctx, record)
