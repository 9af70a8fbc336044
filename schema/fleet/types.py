from __future__ import annotations

from datetime import date, datetime, time
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from datasources.postgres.records import RouteRecord, StopRecord, VehicleRecord
from resolvers.ids import encode
from schema.accounts.types import User
from schema.context import Info
from schema.leads.selection import load_lead
from schema.node import Node

if TYPE_CHECKING:
    from schema.leads.types import Lead


@strawberry.enum
class RouteStatus(Enum):
    PLANNED = "planned"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELED = "canceled"


@strawberry.enum
class StopStatus(Enum):
    PENDING = "pending"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"


@strawberry.enum
class StopKind(Enum):
    PICKUP = "pickup"
    DELIVERY = "delivery"
    VISIT = "visit"


@strawberry.enum
class VehicleKind(Enum):
    VAN = "van"
    TRUCK = "truck"
    CAR = "car"
    BIKE = "bike"


@strawberry.type
class Location:
    latitude: float
    longitude: float


@strawberry.type
class TimeWindow:
    start: datetime | None
    end: datetime | None


def _location(latitude: float | None, longitude: float | None) -> Location | None:
    return None if latitude is None or longitude is None else Location(latitude=latitude, longitude=longitude)


@strawberry.type(description="A vehicle of the fleet (PostgreSQL).")
class Vehicle(Node):
    id: strawberry.ID
    plate: str
    name: str
    kind: VehicleKind
    capacity_kg: float
    status: str
    created_at: datetime
    capacity: int = strawberry.field(description="Units of stop demand it carries (the planner's capacity).")
    shift_start: time = strawberry.field(description="When its daily shift starts (UTC).")
    shift_end: time = strawberry.field(description="When its daily shift ends (UTC).")
    depot: Location | None = strawberry.field(description="Where it starts; none: the planner uses the stops' "
                                                          "centroid.")
    end_location: Location | None = strawberry.field(description="Where it ends; none: back at its depot.")

    @classmethod
    def from_record(cls, r: VehicleRecord) -> Vehicle:
        return cls(
            id=strawberry.ID(encode("Vehicle", r.id)), plate=r.plate, name=r.name, kind=VehicleKind(r.kind),
            capacity_kg=r.capacity_kg, status=r.status, created_at=r.created_at, capacity=r.capacity,
            shift_start=r.shift_start, shift_end=r.shift_end,
            depot=_location(r.depot_latitude, r.depot_longitude), end_location=_location(r.end_latitude,
                                                                                           r.end_longitude),
        )


@strawberry.type(description="A planned day of driving: a driver, a vehicle and ordered stops (PostgreSQL).")
class Route(Node):
    id: strawberry.ID
    number: str
    name: str
    status: RouteStatus
    date: date
    distance_km: float | None
    duration_min: float | None
    optimized: bool
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    record: strawberry.Private[RouteRecord]

    @classmethod
    def from_record(cls, r: RouteRecord) -> Route:
        return cls(
            id=strawberry.ID(encode("Route", r.id)), number=r.number, name=r.name, status=RouteStatus(r.status),
            date=r.date, distance_km=r.distance_km, duration_min=r.duration_min, optimized=r.optimized,
            created_at=r.created_at, started_at=r.started_at, completed_at=r.completed_at, record=r,
        )

    @strawberry.field
    async def driver(self, info: Info) -> User | None:
        if self.record.driver_id is None:
            return None
        found = await info.context.loaders.user.load(self.record.driver_id)
        return User.from_record(found) if found else None

    @strawberry.field
    async def vehicle(self, info: Info) -> Vehicle | None:
        if self.record.vehicle_id is None:
            return None
        found = await info.context.loaders.vehicle.load(self.record.vehicle_id)
        return Vehicle.from_record(found) if found else None

    @strawberry.field(description="The route's stops in visiting order.")
    async def stops(self, info: Info) -> list[Stop]:
        found = await info.context.loaders.stops_by_route.load(self.record.id)
        return [Stop.from_record(s) for s in found]


@strawberry.type(description="One visit of a route; `lead` crosses into MongoDB.")
class Stop(Node):
    id: strawberry.ID
    sequence: int
    kind: StopKind
    address: str
    location: Location
    time_window: TimeWindow
    eta: datetime | None
    status: StopStatus
    arrived_at: datetime | None
    demand: int = strawberry.field(description="Units it takes of the vehicle's capacity.")
    service_minutes: float = strawberry.field(description="Time spent at the stop.")
    completed_at: datetime | None = strawberry.field(description="When it was completed or failed.")
    failure_reason: str | None
    proof_note: str | None
    record: strawberry.Private[StopRecord]

    @classmethod
    def from_record(cls, r: StopRecord) -> Stop:
        return cls(
            id=strawberry.ID(encode("Stop", r.id)), sequence=r.sequence, kind=StopKind(r.kind), address=r.address,
            location=Location(latitude=r.latitude, longitude=r.longitude),
            time_window=TimeWindow(start=r.window_start, end=r.window_end), eta=r.eta,
            status=StopStatus(r.status), arrived_at=r.arrived_at, demand=r.demand, service_minutes=r.service_min,
            completed_at=r.completed_at, failure_reason=r.failure_reason, proof_note=r.proof_note, record=r,
        )

    @strawberry.field
    async def lead(self, info: Info) -> Annotated[Lead, strawberry.lazy("schema.leads.types")] | None:
        from schema.leads.types import Lead

        if self.record.lead_id is None:
            return None
        found = await load_lead(info, self.record.lead_id)
        return Lead.from_record(found) if found else None

    @strawberry.field
    async def route(self, info: Info) -> Route | None:
        found = await info.context.loaders.route.load(self.record.route_id)
        return Route.from_record(found) if found else None
