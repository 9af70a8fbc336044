from __future__ import annotations

from datetime import date

from datasources.postgres import routes as store
from datasources.postgres.records import RouteRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_int
from resolvers.pagination import Page, check_first, decode_cursor, encode_cursor, page
from resolvers.principal import Role


async def routes(
    ctx: RequestContext, *, first: int, after: str | None, status: str | None, on: date | None, driver_id: str | None
) -> Page[RouteRecord]:
    limit = check_first(first, ctx.max_page_size)
    after_id = int(decode_cursor(after, arity=1)[0]) if after else None
    driver = decode_int(driver_id, "User", field="driverId") if driver_id else None
    if ctx.caller.role is Role.driver:
        if driver is not None and driver != ctx.caller.user_id:
            return page([], limit, lambda r: encode_cursor(r.id), has_previous=after is not None)
        driver = ctx.caller.user_id  # a driver lists only their own routes
    found = await store.list_routes(
        ctx.stores.db,
        account_id=ctx.account_id,
        limit=limit + 1,
        after_id=after_id,
        status=status,
        on=on,
        driver_id=driver,
    )
    for record in found:
        ctx.loaders.route.prime(record.id, record)
    return page(found, limit, lambda r: encode_cursor(r.id), has_previous=after is not None)
