from __future__ import annotations

from strawberry import UNSET

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
    ctx: RequestContext, route_id: str, driver_id: str | None | object = UNSET, vehicle_id: str | None | object = UNSET
) -> RouteRecord | Failure:
    """An argument not given keeps what the route has; null clears it."""
    key = decode_int(route_id, "Route", field="routeId")
    driver = _assignee(driver_id, "User", "driverId")
    vehicle = _assignee(vehicle_id, "Vehicle", "vehicleId")
    try:
        record = await store.assign_route(
            ctx.stores.db, account_id=ctx.account_id, route_id=key, driver_id=driver, vehicle_id=vehicle
        )
    except NotFound as exc:
        return Failure.not_found(FIELDS[exc.kind], exc.kind.lower())
    ctx.loaders.route.clear(key).prime(key, record)
    return record


def _assignee(given: str | None | object, kind: str, field: str) -> int | None | store.Keep:
    if given is UNSET:
        return store.KEEP
    return decode_int(given, kind, field=field) if isinstance(given, str) else None
