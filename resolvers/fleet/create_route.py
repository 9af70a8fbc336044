from __future__ import annotations

from datetime import date

from datasources.postgres import routes as store
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.records import RouteRecord
from datasources.postgres.routes import NewStop
from resolvers.context import RequestContext
from resolvers.fleet.stop_input import check_stops
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure

MAX_STOPS = 200


@requires(Action.plan_routes)
async def create_route(
    ctx: RequestContext,
    *,
    number: str,
    name: str,
    on: date,
    driver_id: str | None,
    vehicle_id: str | None,
    stops: list[NewStop],
) -> RouteRecord | Failure:
    if not number.strip():
        return Failure.invalid("input.number", "must not be empty")
    if len(stops) > MAX_STOPS:
        return Failure.invalid("input.stops", f"at most {MAX_STOPS} stops")
    driver = decode_int(driver_id, "User", field="input.driverId") if driver_id else None
    vehicle = decode_int(vehicle_id, "Vehicle", field="input.vehicleId") if vehicle_id else None
    checked = await check_stops(ctx, stops, field="input.stops")
    if isinstance(checked, Failure):
        return checked
    try:
        return await store.create_route(
            ctx.stores.db, account_id=ctx.account_id, number=number.strip(), name=name.strip() or number.strip(),
            on=on, driver_id=driver, vehicle_id=vehicle, stops=checked,
        )
    except NotFound as exc:
        return Failure.not_found("input.driverId" if exc.kind == "User" else "input.vehicleId", exc.kind.lower())
    except Conflict as exc:
        return Failure.conflict(f"input.{exc.field}", str(exc))
