from __future__ import annotations

from datasources.postgres.records import RouteRecord
from resolvers.context import RequestContext
from resolvers.fleet.moves import fleet_of, refused_as_failure, sees_route
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.update_stops)
async def start_route(ctx: RequestContext, route_id: str) -> RouteRecord | Failure:
    key = decode_int(route_id, "Route", field="routeId")
    if (missing := fleet_of(ctx)) is not None:
        return missing
    assert ctx.fleet is not None
    if not await sees_route(ctx, key):
        return Failure.not_found("routeId", "route")
    return await refused_as_failure(ctx.fleet.start_route(account_id=ctx.account_id, route_id=key),
                                    field="routeId", what="route")
