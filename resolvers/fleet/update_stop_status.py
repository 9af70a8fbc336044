from __future__ import annotations

from datasources.postgres import stops as store
from datasources.postgres.errors import NotFound
from datasources.postgres.records import StopRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.update_stops)
async def update_stop_status(ctx: RequestContext, stop_id: str, status: str) -> StopRecord | Failure:
    key = decode_int(stop_id, "Stop", field="stopId")
    if await ctx.loaders.stop.load(key) is None:  # a driver's loaders see only their own routes' stops
        return Failure.not_found("stopId", "stop")
    try:
        return await store.update_stop_status(ctx.stores.db, account_id=ctx.account_id, stop_id=key, status=status)
    except NotFound:
        return Failure.not_found("stopId", "stop")
