from __future__ import annotations

import re

from datasources.postgres import vehicles as store
from datasources.postgres.errors import Conflict
from datasources.postgres.records import VehicleRecord
from datasources.postgres.vehicles import VehiclePlanning
from resolvers.context import RequestContext
from resolvers.permissions import Action, requires
from resolvers.results import Failure

PLATE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{1,14}$")


@requires(Action.write_vehicles)
async def create_vehicle(
    ctx: RequestContext,
    *,
    plate: str,
    name: str,
    kind: str,
    capacity_kg: float,
    planning: VehiclePlanning | None = None,
) -> VehicleRecord | Failure:
    plate = plate.strip().upper()
    if not PLATE.match(plate):
        return Failure.invalid("input.plate", "2 to 15 letters, digits, spaces or dashes")
    if not name.strip():
        return Failure.invalid("input.name", "must not be empty")
    if not 0 < capacity_kg <= 100_000:
        return Failure.invalid("input.capacityKg", "must be above 0 and at most 100000")
    if planning is not None:
        refused = check_planning(planning)
        if refused is not None:
            return refused
    try:
        return await store.create_vehicle(
            ctx.stores.db, account_id=ctx.account_id, plate=plate, name=name.strip(), kind=kind,
            capacity_kg=capacity_kg, planning=planning,
        )
    except Conflict as exc:
        return Failure.conflict(f"input.{exc.field}", str(exc))


def check_planning(p: VehiclePlanning) -> Failure | None:
    if not 0 <= p.capacity <= 1_000_000:
        return Failure.invalid("input.capacity", "must be between 0 and 1000000")
    if p.shift_end <= p.shift_start:
        return Failure.invalid("input.shiftEnd", "must be after shiftStart")
    if (p.depot_latitude is None) != (p.depot_longitude is None):
        return Failure.invalid("input.depotLongitude", "give both depotLatitude and depotLongitude, or neither")
    if p.depot_latitude is not None and not -90 <= p.depot_latitude <= 90:
        return Failure.invalid("input.depotLatitude", "must be between -90 and 90")
    if p.depot_longitude is not None and not -180 <= p.depot_longitude <= 180:
        return Failure.invalid("input.depotLongitude", "must be between -180 and 180")
    return None
