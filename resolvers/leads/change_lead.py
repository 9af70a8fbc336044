"""The one path every lead update takes: MongoDB, then Chroma and the graph, undone together on failure."""

from __future__ import annotations

from typing import Any

from datasources.mongo import leads as store
from datasources.mongo.errors import Conflict
from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_as
from resolvers.leads.propagate import propagate
from resolvers.results import Failure


async def settle(ctx: RequestContext, before: LeadRecord, after: LeadRecord) -> LeadRecord | Failure:
    """MongoDB already holds `after`: carry it to the other stores, or put `before` back everywhere."""
    failure = await propagate(ctx.stores, ctx.account_id, after, previous=before)
    if failure is not None:
        await store.replace_lead(account_id=ctx.account_id, record=before)
        return failure
    ctx.loaders.lead.clear(after.id).prime(after.id, after)
    return after


async def change_lead(
    ctx: RequestContext, lead_id: str, changes: dict[str, Any], *, field: str = "id"
) -> LeadRecord | Failure:
    key = decode_as(lead_id, "Lead", field=field)
    if await ctx.loaders.lead.load(key) is None:  # not the caller's to see, so not theirs to change
        return Failure.not_found(field, "lead")
    try:
        result = await store.update_lead(account_id=ctx.account_id, lead_id=key, changes=changes)
    except Conflict as exc:
        return Failure.conflict(f"input.{exc.field}", str(exc))
    if result is None:
        return Failure.not_found(field, "lead")
    return await settle(ctx, *result)
