from __future__ import annotations

from datasources.postgres import routes as store
from datasources.postgres.errors import NotFound
from datasources.postgres.records import RouteRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure

FIELDS = {"Route": "routeId", "User": "driverId", "Vehicle": "vehicleId"}


@requires(Action.plan_routes)
async def assign_route(
    ctx: RequestContext, route_id: str, driver_id: str | None, vehicle_id: str | None
) -> RouteRecord | Failure:
    key = decode_int(route_id, "Route", field="routeId")
    driver = decode_int(driver_id, "User", field="driverId") if driver_id else None
    vehicle = decode_int(vehicle_id, "Vehicle", field="vehicleId") if vehicle_id else None
    try:
        record = await store.assign_route(
            ctx.stores.db, account_id=ctx.account_id, route_id=key, driver_id=driver, vehicle_id=vehicle
        )
    except NotFound as exc:
        return Failure.not_found(FIELDS[exc.kind], exc.kind.lower())
    ctx.loaders.route.clear(key).prime(key, record)
    return record
