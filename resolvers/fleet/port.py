"""What resolvers need of the route planner and the live fleet; ops plugs fleet's Planner and FleetLive in
(resolvers never import fleet). Refusals are raised as datasources' NotFound and Conflict."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from datasources.postgres.records import RouteRecord, StopRecord
from datasources.redis.fleet import SeenVehicle
from datasources.redis.jobs import JobState


class PlannerControl(Protocol):
    async def submit(
        self, *, account_id: int, on: date, vehicle_ids: list[int], stop_ids: list[int] | None, time_limit_s: float,
        objective: str,
    ) -> JobState: ...

    async def job(self, *, account_id: int, job_id: str) -> JobState | None: ...

    async def apply(self, *, account_id: int, job_id: str) -> list[RouteRecord]: ...


class FleetControl(Protocol):
    async def start_route(self, *, account_id: int, route_id: int) -> RouteRecord: ...

    async def move_stop(
        self, *, account_id: int, stop_id: int, status: str, reason: str | None = None, proof_note: str | None = None
    ) -> tuple[StopRecord, RouteRecord]: ...

    async def report_position(
        self, *, account_id: int, route_id: int, latitude: float, longitude: float, at: datetime
    ) -> tuple[RouteRecord, list[tuple[int, datetime]]]: ...

    async def vehicles_near(
        self, *, account_id: int, latitude: float, longitude: float, radius_km: float, limit: int
    ) -> list[SeenVehicle]: ...
