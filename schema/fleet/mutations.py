from __future__ import annotations

from typing import Annotated

import strawberry

from datasources.postgres.records import RouteRecord, StopRecord, VehicleRecord
from resolvers.fleet.add_stop import add_stop
from resolvers.fleet.assign_route import assign_route
from resolvers.fleet.create_route import create_route
from resolvers.fleet.create_vehicle import create_vehicle
from resolvers.fleet.reorder_stops import reorder_stops
from resolvers.fleet.update_stop_status import update_stop_status
from resolvers.results import Failure, guarded
from schema.context import Info
from schema.errors import MutationError, from_failure
from schema.fleet.inputs import CreateRouteInput, CreateVehicleInput, StopInput
from schema.fleet.types import Route, Stop, StopStatus, Vehicle


@strawberry.type
class RoutePayload:
    route: Route


@strawberry.type
class VehiclePayload:
    vehicle: Vehicle


@strawberry.type
class StopPayload:
    stop: Stop


RouteResult = Annotated[
    RoutePayload | MutationError,
    strawberry.union("RouteResult"),
]
VehicleResult = Annotated[
    VehiclePayload | MutationError,
    strawberry.union("VehicleResult"),
]
StopResult = Annotated[
    StopPayload | MutationError,
    strawberry.union("StopResult"),
]


def route_result(outcome: RouteRecord | Failure) -> RouteResult:
    return from_failure(outcome) if isinstance(outcome, Failure) else RoutePayload(route=Route.from_record(outcome))


@strawberry.type
class FleetMutations:
    @strawberry.mutation
    async def create_vehicle(self, info: Info, input: CreateVehicleInput) -> VehicleResult:
        outcome: VehicleRecord | Failure = await guarded(
            create_vehicle(
                info.context, plate=input.plate, name=input.name, kind=input.kind.value, capacity_kg=input.capacity_kg
            )
        )
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return VehiclePayload(vehicle=Vehicle.from_record(outcome))

    @strawberry.mutation(description="A route with its stops in one transaction; each stop's lead must exist.")
    async def create_route(self, info: Info, input: CreateRouteInput) -> RouteResult:
        return route_result(
            await guarded(
                create_route(
                    info.context, number=input.number, name=input.name, on=input.date, driver_id=input.driver_id,
                    vehicle_id=input.vehicle_id, stops=[s.values() for s in input.stops],
                )
            )
        )

    @strawberry.mutation(description="Appends a stop to the end of the route.")
    async def add_stop(self, info: Info, route_id: strawberry.ID, input: StopInput) -> RouteResult:
        return route_result(await guarded(add_stop(info.context, route_id, input.values())))

    @strawberry.mutation(description="`stopIds` must list every stop of the route exactly once, in the new order.")
    async def reorder_stops(self, info: Info, route_id: strawberry.ID, stop_ids: list[strawberry.ID]) -> RouteResult:
        return route_result(await guarded(reorder_stops(info.context, route_id, list(stop_ids))))

    @strawberry.mutation
    async def assign_route(
        self,
        info: Info,
        route_id: strawberry.ID,
        driver_id: strawberry.ID | None = None,
        vehicle_id: strawberry.ID | None = None,
    ) -> RouteResult:
        return route_result(await guarded(assign_route(info.context, route_id, driver_id, vehicle_id)))

    @strawberry.mutation
    async def update_stop_status(self, info: Info, stop_id: strawberry.ID, status: StopStatus) -> StopResult:
        outcome: StopRecord | Failure = await guarded(update_stop_status(info.context, stop_id, status.value))
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return StopPayload(stop=Stop.from_record(outcome))
