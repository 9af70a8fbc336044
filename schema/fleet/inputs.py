from __future__ import annotations

from datetime import date, datetime, time
from enum import Enum

import strawberry

from datasources.postgres.routes import NewStop
from datasources.postgres.vehicles import VehiclePlanning
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
    demand: int = strawberry.field(default=0, description="Units of the vehicle's capacity it takes (>= 0).")
    service_minutes: float = strawberry.field(default=0.0, description="Time spent at the stop (>= 0).")

    def values(self) -> NewStop:
        """As given: `lead_id` is still the global id, which the resolver checks and decodes."""
        return NewStop(
            self.address, self.latitude, self.longitude, self.kind.value, self.lead_id, self.window_start,
            self.window_end, self.demand, self.service_minutes,
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
    capacity: int = strawberry.field(default=100, description="Units of stop demand it carries.")
    shift_start: time = strawberry.field(default=time(8), description="Daily shift start (UTC).")
    shift_end: time = strawberry.field(default=time(18), description="Daily shift end (UTC).")
    depot_latitude: float | None = None
    depot_longitude: float | None = None

    def planning(self) -> VehiclePlanning:
        return VehiclePlanning(self.capacity, self.shift_start, self.shift_end, self.depot_latitude,
                               self.depot_longitude)


@strawberry.enum(description="HIERARCHICAL: fewest vehicles first, then distance (Solomon's ranking); DISTANCE.")
class Objective(Enum):
    HIERARCHICAL = "hierarchical"
    DISTANCE = "distance"


@strawberry.input(description="Either `stopIds` or `unplannedForDate: true` (every pending stop of the date's "
                              "routes not yet started).")
class OptimizeRoutesInput:
    date: date
    vehicle_ids: list[strawberry.ID]
    stop_ids: list[strawberry.ID] | None = None
    unplanned_for_date: bool = False
    time_limit_seconds: float = 5.0
    objective: Objective = Objective.HIERARCHICAL
