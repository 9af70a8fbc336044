from __future__ import annotations

from datasources.postgres import routes as store
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.records import RouteRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.plan_routes)
async def reorder_stops(ctx: RequestContext, route_id: str, stop_ids: list[str]) -> RouteRecord | Failure:
    key = decode_int(route_id, "Route", field="routeId")
    stops = [decode_int(s, "Stop", field=f"stopIds[{i}]") for i, s in enumerate(stop_ids)]
    try:
        record = await store.reorder_stops(ctx.stores.db, account_id=ctx.account_id, route_id=key, stop_ids=stops)
    except NotFound:
        return Failure.not_found("routeId", "route")
    except Conflict as exc:
        return Failure.invalid(exc.field, str(exc))
    ctx.loaders.stops_by_route.clear(key)
    return record
