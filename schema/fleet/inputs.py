from __future__ import annotations

from datetime import date, datetime

import strawberry

from datasources.postgres.routes import NewStop
from schema.fleet.types import StopKind, VehicleKind


@strawberry.input
class StopInput:
    address: str
    latitude: float
    longitude: float
    kind: StopKind = StopKind.VISIT
    lead_id: strawberry.ID | None = strawberry.field(default=None, description="The lead this stop visits.")
    window_start: datetime | None = None
    window_end: datetime | None = None

    def values(self) -> NewStop:
        """As given: `lead_id` is still the global id, which the resolver checks and decodes."""
        return NewStop(
            self.address, self.latitude, self.longitude, self.kind.value, self.lead_id, self.window_start,
            self.window_end,
        )


@strawberry.input
class CreateRouteInput:
    number: str
    date: date
    name: str = ""
    driver_id: strawberry.ID | None = None
    vehicle_id: strawberry.ID | None = None
    stops: list[StopInput] = strawberry.field(default_factory=list)


@strawberry.input
class CreateVehicleInput:
    plate: str
    name: str
    kind: VehicleKind = VehicleKind.VAN
    capacity_kg: float = 1000.0
