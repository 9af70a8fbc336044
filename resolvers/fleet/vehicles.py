from __future__ import annotations

from datasources.postgres import vehicles as store
from datasources.postgres.records import VehicleRecord
from resolvers.context import RequestContext
from resolvers.pagination import Page, check_first, decode_cursor, encode_cursor, page


async def vehicles(ctx: RequestContext, *, first: int, after: str | None, status: str | None) -> Page[VehicleRecord]:
    limit = check_first(first, ctx.max_page_size)
    after_id = int(decode_cursor(after, arity=1)[0]) if after else None
    found = await store.list_vehicles(
        ctx.stores.db, account_id=ctx.account_id, limit=limit + 1, after_id=after_id, status=status
    )
    return page(found, limit, lambda r: encode_cursor(r.id), has_previous=after is not None)
