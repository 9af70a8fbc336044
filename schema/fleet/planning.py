"""The route planner's types: an optimisation job, its result, and each event of its progress."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry

from datasources.redis.jobs import JobState
from resolvers.fleet.subscriptions import JobUpdate
from resolvers.ids import encode
from schema.context import Info
from schema.fleet.types import Stop, Vehicle


@strawberry.enum
class JobStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@strawberry.type(description="One vehicle's route in a plan: stops in visiting order with their ETAs.")
class PlannedRoute:
    distance_km: float
    duration_min: float
    load: int
    etas: list[datetime]
    vehicle_key: strawberry.Private[int]
    stop_keys: strawberry.Private[list[int]]

    @strawberry.field
    async def vehicle(self, info: Info) -> Vehicle | None:
        found = await info.context.loaders.vehicle.load(self.vehicle_key)
        return Vehicle.from_record(found) if found else None

    @strawberry.field
    async def stops(self, info: Info) -> list[Stop]:
        found = await info.context.loaders.stop.load_many(self.stop_keys)
        return [Stop.from_record(s) for s in found if s is not None]

    @strawberry.field
    def stop_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(encode("Stop", k)) for k in self.stop_keys]


@strawberry.type(description="A stop the plan leaves out, and why.")
class UnassignedStop:
    stop_id: strawberry.ID
    reason: str


@strawberry.type(description="What a finished job found; checked by the independent feasibility checker.")
class OptimizationResult:
    routes: list[PlannedRoute]
    unassigned: list[UnassignedStop]
    distance_km: float
    duration_min: float
    vehicles_used: int
    solver: str
    feasible: bool
    violations: list[str]

    @classmethod
    def from_json(cls, r: dict[str, Any]) -> OptimizationResult:
        return cls(
            routes=[
                PlannedRoute(distance_km=x["distance_km"], duration_min=x["duration_min"], load=x["load"],
                             etas=[datetime.fromisoformat(t) for t in x["etas"]], vehicle_key=x["vehicle_id"],
                             stop_keys=list(x["stop_ids"]))
                for x in r["routes"]
            ],
            unassigned=[UnassignedStop(stop_id=strawberry.ID(encode("Stop", u["stop_id"])), reason=u["reason"])
                        for u in r["unassigned"]],
            distance_km=r["distance_km"], duration_min=r["duration_min"], vehicles_used=r["vehicles_used"],
            solver=r["solver"], feasible=r["feasible"], violations=r["violations"],
        )


@strawberry.type(description="A route-optimisation job (state in Redis, expiring `JOB_TTL` after its last change).")
class OptimizationJob:
    id: strawberry.ID
    status: JobStatus
    date: date
    created_at: datetime
    time_limit_seconds: float
    best_objective: float | None = strawberry.field(
        description="The solver's best cost so far (km, plus a fixed cost per vehicle under HIERARCHICAL)."
    )
    progress: float = strawberry.field(description="Share of the time limit spent, 0 to 1.")
    error: str | None
    result: OptimizationResult | None
    applied_at: datetime | None

    @classmethod
    def from_state(cls, s: JobState) -> OptimizationJob:
        return cls(
            id=strawberry.ID(s.id), status=JobStatus(s.status), date=date.fromisoformat(s.on),
            created_at=datetime.fromisoformat(s.created_at), time_limit_seconds=s.time_limit_s,
            best_objective=s.best_objective, progress=s.progress, error=s.error,
            result=OptimizationResult.from_json(s.result) if s.result else None,
            applied_at=datetime.fromisoformat(s.applied_at) if s.applied_at else None,
        )


@strawberry.type(description="A new state of a job: `type` is queued, running, progress, result or failed.")
class OptimizationJobEvent:
    cursor: str
    type: str
    job: OptimizationJob

    @classmethod
    def from_update(cls, u: JobUpdate) -> OptimizationJobEvent:
        return cls(cursor=u.cursor, type=u.type, job=OptimizationJob.from_state(u.job))
