"""The live fleet's types: a vehicle's last position, and each event of a route's stream."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from datasources.redis.fleet import SeenVehicle
from resolvers.fleet.subscriptions import RouteUpdate
from resolvers.ids import encode
from schema.context import Info
from schema.fleet.types import Route, RouteStatus, Stop, Vehicle


@strawberry.type
class Position:
    latitude: float
    longitude: float
    at: datetime


@strawberry.type(description="A vehicle's last reported position and the route it was driving.")
class VehiclePosition:
    position: Position
    distance_km: float
    route_key: strawberry.Private[int]
    vehicle_key: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, v: SeenVehicle) -> VehiclePosition:
        return cls(position=Position(latitude=v.latitude, longitude=v.longitude, at=v.at),
                   distance_km=round(v.distance_km, 3), route_key=v.route_id, vehicle_key=v.vehicle_id)

    @strawberry.field
    async def route(self, info: Info) -> Route | None:
        found = await info.context.loaders.route.load(self.route_key)
        return Route.from_record(found) if found else None

    @strawberry.field
    async def vehicle(self, info: Info) -> Vehicle | None:
        if self.vehicle_key is None:
            return None
        found = await info.context.loaders.vehicle.load(self.vehicle_key)
        return Vehicle.from_record(found) if found else None


@strawberry.enum
class RouteUpdateType(Enum):
    ROUTE = "route"
    STOP = "stop"
    POSITION = "position"
    ETA = "eta"


@strawberry.type
class StopEta:
    stop_id: strawberry.ID
    eta: datetime


@strawberry.type(description="One event of a route: its status, a stop's move, a position, or ETAs that moved.")
class RouteEvent:
    cursor: str
    type: RouteUpdateType
    occurred_at: datetime
    route_status: RouteStatus
    position: Position | None
    etas: list[StopEta]
    stop_key: strawberry.Private[int | None]
    route_key: strawberry.Private[int]

    @classmethod
    def from_update(cls, u: RouteUpdate) -> RouteEvent:
        return cls(
            cursor=u.cursor, type=RouteUpdateType(u.type), occurred_at=u.occurred_at,
            route_status=RouteStatus(u.route_status),
            position=Position(latitude=u.position[0], longitude=u.position[1], at=u.position[2])
            if u.position else None,
            etas=[StopEta(stop_id=strawberry.ID(encode("Stop", i)), eta=t) for i, t in u.etas],
            stop_key=u.stop_id, route_key=u.route_id,
        )

    @strawberry.field(description="The stop this event moved, as it is now.")
    async def stop(self, info: Info) -> Stop | None:
        if self.stop_key is None:
            return None
        found = await info.context.loaders.stop.load(self.stop_key)
        return Stop.from_record(found) if found else None

    @strawberry.field(description="The route as it is now.")
    async def route(self, info: Info) -> Route | None:
        found = await info.context.loaders.route.load(self.route_key)
        return Route.from_record(found) if found else None
