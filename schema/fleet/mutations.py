from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from datasources.postgres.records import RouteRecord, StopRecord, VehicleRecord
from datasources.redis.jobs import JobState
from resolvers.fleet.add_stop import add_stop
from resolvers.fleet.apply_plan import apply_plan
from resolvers.fleet.assign_route import assign_route
from resolvers.fleet.create_route import create_route
from resolvers.fleet.create_vehicle import create_vehicle
from resolvers.fleet.move_stop import move_stop
from resolvers.fleet.optimize_routes import optimize_routes
from resolvers.fleet.reorder_stops import reorder_stops
from resolvers.fleet.report_position import report_position
from resolvers.fleet.start_route import start_route
from resolvers.fleet.update_stop_status import update_stop_status
from resolvers.results import Failure, guarded
from schema.context import Info
from schema.errors import MutationError, from_failure
from schema.fleet.inputs import CreateRouteInput, CreateVehicleInput, OptimizeRoutesInput, StopInput
from schema.fleet.planning import OptimizationJob
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


@strawberry.type
class OptimizationJobPayload:
    job: OptimizationJob


@strawberry.type
class ApplyPlanPayload:
    routes: list[Route]


OptimizationJobResult = Annotated[
    OptimizationJobPayload | MutationError,
    strawberry.union("OptimizationJobResult"),
]
ApplyPlanResult = Annotated[
    ApplyPlanPayload | MutationError,
    strawberry.union("ApplyPlanResult"),
]


def stop_result(outcome: StopRecord | Failure) -> StopResult:
    return from_failure(outcome) if isinstance(outcome, Failure) else StopPayload(stop=Stop.from_record(outcome))


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

    @strawberry.mutation(description="Sets the route's driver and vehicle: an argument not given keeps what the "
                                     "route has, null clears it. A planned route with a driver becomes ASSIGNED, an "
                                     "assigned one without a driver PLANNED again.")
    async def assign_route(
        self,
        info: Info,
        route_id: strawberry.ID,
        driver_id: strawberry.ID | None = strawberry.UNSET,
        vehicle_id: strawberry.ID | None = strawberry.UNSET,
    ) -> RouteResult:
        return route_result(await guarded(assign_route(info.context, route_id, driver_id, vehicle_id)))

    @strawberry.mutation
    async def update_stop_status(self, info: Info, stop_id: strawberry.ID, status: StopStatus) -> StopResult:
        outcome: StopRecord | Failure = await guarded(update_stop_status(info.context, stop_id, status.value))
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return StopPayload(stop=Stop.from_record(outcome))

    @strawberry.mutation(description="Starts an optimisation job and returns it at once (QUEUED); follow it with "
                                     "`job(id)` or `optimizationProgress(jobId)`, then `applyPlan`.")
    async def optimize_routes(self, info: Info, input: OptimizeRoutesInput) -> OptimizationJobResult:
        outcome: JobState | Failure = await guarded(
            optimize_routes(
                info.context, on=input.date, vehicle_ids=list(input.vehicle_ids),
                stop_ids=list(input.stop_ids) if input.stop_ids is not None else None,
                unplanned_for_date=input.unplanned_for_date, time_limit_s=input.time_limit_seconds,
                objective=input.objective.value,
            )
        )
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return OptimizationJobPayload(job=OptimizationJob.from_state(outcome))

    @strawberry.mutation(description="Writes a finished job's plan in one transaction (routes `optimized`, with "
                                     "distances, durations and ETAs); refused with a ConflictError when the stops "
                                     "or vehicles changed since the job read them.")
    async def apply_plan(self, info: Info, job_id: strawberry.ID) -> ApplyPlanResult:
        outcome = await guarded(apply_plan(info.context, job_id))
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return ApplyPlanPayload(routes=[Route.from_record(r) for r in outcome])

    @strawberry.mutation(description="ASSIGNED -> IN_PROGRESS; drivers start only their own routes.")
    async def start_route(self, info: Info, route_id: strawberry.ID) -> RouteResult:
        return route_result(await guarded(start_route(info.context, route_id)))

    @strawberry.mutation(description="PENDING -> ARRIVED, on a route in progress.")
    async def arrive_at_stop(self, info: Info, stop_id: strawberry.ID) -> StopResult:
        return stop_result(await guarded(move_stop(info.context, stop_id, "arrived")))

    @strawberry.mutation(description="ARRIVED -> COMPLETED, with an optional proof note; the route completes with "
                                     "its last open stop.")
    async def complete_stop(self, info: Info, stop_id: strawberry.ID, proof_note: str | None = None) -> StopResult:
        return stop_result(await guarded(move_stop(info.context, stop_id, "completed", proof_note=proof_note)))

    @strawberry.mutation(description="PENDING or ARRIVED -> FAILED, with a reason.")
    async def fail_stop(self, info: Info, stop_id: strawberry.ID, reason: str) -> StopResult:
        return stop_result(await guarded(move_stop(info.context, stop_id, "failed", reason=reason)))

    @strawberry.mutation(description="A position of a route in progress (Redis GEO and the route's stream); the "
                                     "remaining stops' ETAs are recomputed from it. `at` defaults to now.")
    async def report_position(
        self, info: Info, route_id: strawberry.ID, lat: float, lon: float, at: datetime | None = None
    ) -> RouteResult:
        return route_result(await guarded(report_position(info.context, route_id, lat, lon, at)))
