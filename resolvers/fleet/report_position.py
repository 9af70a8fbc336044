from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from datasources.postgres.records import RouteRecord
from resolvers.context import RequestContext
from resolvers.fleet.moves import fleet_of, refused_as_failure, sees_route
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure

CLOCK_SKEW = timedelta(minutes=5)


@requires(Action.update_stops)
async def report_position(
    ctx: RequestContext, route_id: str, latitude: float, longitude: float, at: datetime | None
) -> RouteRecord | Failure:
    key = decode_int(route_id, "Route", field="routeId")
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        return Failure.invalid("lat", "must be between -90 and 90")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        return Failure.invalid("lon", "must be between -180 and 180")
    now = datetime.now(UTC)
    seen = now if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC))
    if seen > now + CLOCK_SKEW:
        return Failure.invalid("at", "must not be in the future")
    if (missing := fleet_of(ctx)) is not None:
        return missing
    assert ctx.fleet is not None
    if not await sees_route(ctx, key):
        return Failure.not_found("routeId", "route")
    done = await refused_as_failure(
        ctx.fleet.report_position(account_id=ctx.account_id, route_id=key, latitude=latitude, longitude=longitude,
                                  at=seen),
        field="routeId", what="route",
    )
    if isinstance(done, Failure):
        return done
    ctx.loaders.stops_by_route.clear(key)
    return done[0]
