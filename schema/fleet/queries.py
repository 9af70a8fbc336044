from __future__ import annotations

from datetime import date

import strawberry

from resolvers.fleet.job import job as resolve_job
from resolvers.fleet.route import route as resolve_route
from resolvers.fleet.routes import routes as resolve_routes
from resolvers.fleet.vehicles import vehicles as resolve_vehicles
from resolvers.fleet.vehicles_near import vehicles_near as resolve_vehicles_near
from resolvers.permissions import Action
from schema.context import Info
from schema.fleet.live import VehiclePosition
from schema.fleet.planning import OptimizationJob
from schema.fleet.types import Route, RouteStatus, Vehicle
from schema.pagination import Connection
from schema.permissions import can


@strawberry.type
class FleetQueries:
    @strawberry.field(extensions=can(Action.read_fleet))
    async def route(self, info: Info, id: strawberry.ID) -> Route | None:
        found = await resolve_route(info.context, id=id)
        return Route.from_record(found) if found else None

    @strawberry.field(description="Routes of the caller's account, oldest first.", extensions=can(Action.read_fleet))
    async def routes(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: RouteStatus | None = None,
        date: date | None = None,
        driver_id: strawberry.ID | None = None,
    ) -> Connection[Route] | None:
        found = await resolve_routes(
            info.context, first=first, after=after, status=status.value if status else None, on=date,
            driver_id=driver_id,
        )
        return Connection[Route].from_page(found, Route.from_record)

    @strawberry.field(extensions=can(Action.read_fleet))
    async def vehicles(
        self, info: Info, first: int = 20, after: str | None = None, status: str | None = None
    ) -> Connection[Vehicle] | None:
        found = await resolve_vehicles(info.context, first=first, after=after, status=status)
        return Connection[Vehicle].from_page(found, Vehicle.from_record)

    @strawberry.field(description="An optimisation job of the caller's account, while Redis keeps it (`JOB_TTL`).",
                      extensions=can(Action.plan_routes))
    async def job(self, info: Info, id: strawberry.ID) -> OptimizationJob | None:
        found = await resolve_job(info.context, id=id)
        return OptimizationJob.from_state(found) if found else None

    @strawberry.field(description="Vehicles last seen within `radiusKm` of a point, nearest first.",
                      extensions=can(Action.read_fleet))
    async def vehicles_near(self, info: Info, lat: float, lon: float, radius_km: float) -> list[VehiclePosition]:
        found = await resolve_vehicles_near(info.context, latitude=lat, longitude=lon, radius_km=radius_km)
        return [VehiclePosition.from_record(v) for v in found]
