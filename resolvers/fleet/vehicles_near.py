from __future__ import annotations

from datasources.redis.fleet import SeenVehicle
from resolvers.context import RequestContext
from resolvers.errors import InputError

MAX_RADIUS_KM = 500.0
LIMIT = 100


async def vehicles_near(ctx: RequestContext, *, latitude: float, longitude: float, radius_km: float
                        ) -> list[SeenVehicle]:
    if not -90 <= latitude <= 90:
        raise InputError("lat", "must be between -90 and 90")
    if not -180 <= longitude <= 180:
        raise InputError("lon", "must be between -180 and 180")
    if not 0 < radius_km <= MAX_RADIUS_KM:
        raise InputError("radiusKm", f"must be above 0 and at most {MAX_RADIUS_KM:g}")
    if ctx.fleet is None:
        return []
    found = await ctx.fleet.vehicles_near(account_id=ctx.account_id, latitude=latitude, longitude=longitude,
                                          radius_km=radius_km, limit=LIMIT)
    # a driver sees only the vehicles of their own routes
    visible = await ctx.loaders.route.load_many([v.route_id for v in found])
    return [v for v, route in zip(found, visible, strict=True) if route is not None]
