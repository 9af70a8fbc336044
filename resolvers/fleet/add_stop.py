from __future__ import annotations

from datasources.postgres import routes as store
from datasources.postgres.errors import NotFound
from datasources.postgres.records import RouteRecord
from datasources.postgres.routes import NewStop
from resolvers.context import RequestContext
from resolvers.fleet.stop_input import check_stops
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.plan_routes)
async def add_stop(ctx: RequestContext, route_id: str, stop: NewStop) -> RouteRecord | Failure:
    key = decode_int(route_id, "Route", field="routeId")
    checked = await check_stops(ctx, [stop], field="input")
    if isinstance(checked, Failure):
        return checked
    try:
        record = await store.add_stop(ctx.stores.db, account_id=ctx.account_id, route_id=key, stop=checked[0])
    except NotFound:
        return Failure.not_found("routeId", "route")
    ctx.loaders.stops_by_route.clear(key)
    return record
