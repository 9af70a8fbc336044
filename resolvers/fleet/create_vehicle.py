from __future__ import annotations

import re

from datasources.postgres import vehicles as store
from datasources.postgres.errors import Conflict
from datasources.postgres.records import VehicleRecord
from resolvers.context import RequestContext
from resolvers.permissions import Action, requires
from resolvers.results import Failure

PLATE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{1,14}$")


@requires(Action.write_vehicles)
async def create_vehicle(
    ctx: RequestContext, *, plate: str, name: str, kind: str, capacity_kg: float
) -> VehicleRecord | Failure:
    plate = plate.strip().upper()
    if not PLATE.match(plate):
        return Failure.invalid("input.plate", "2 to 15 letters, digits, spaces or dashes")
    if not name.strip():
        return Failure.invalid("input.name", "must not be empty")
    if not 0 < capacity_kg <= 100_000:
        return Failure.invalid("input.capacityKg", "must be above 0 and at most 100000")
    try:
        return await store.create_vehicle(
            ctx.stores.db, account_id=ctx.account_id, plate=plate, name=name.strip(), kind=kind, capacity_kg=capacity_kg
        )
    except Conflict as exc:
        return Failure.conflict(f"input.{exc.field}", str(exc))
