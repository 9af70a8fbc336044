"""From stored stops and vehicles to a solver Problem, and from a Plan back to what `applyPlan` writes (pure).

Times are seconds since midnight UTC of the planned date; distances are km. A vehicle without a depot starts and
ends at the centroid of the stops; a stop without a window may be served any time in the vehicles' shifts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from datasources.postgres.records import StopRecord, VehicleRecord
from fleet.matrix import Matrices
from fleet.problem import Location, Objective, Plan, Problem, Stop, Vehicle

type MatrixFn = Callable[[Sequence[tuple[float, float]]], Matrices]


def origin(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, tzinfo=UTC)


def _seconds(value: datetime | None, start: datetime, default: float) -> float:
    return default if value is None else (value - start).total_seconds()


def _of_day(value: time) -> float:
    return value.hour * 3600 + value.minute * 60 + value.second


def build_problem(
    on: date,
    stops: Sequence[StopRecord],
    vehicles: Sequence[VehicleRecord],
    matrices: MatrixFn,
    objective: Objective = "hierarchical",
) -> Problem:
    start = origin(on)
    centroid = (
        (math.fsum(s.latitude for s in stops) / len(stops), math.fsum(s.longitude for s in stops) / len(stops))
        if stops else (0.0, 0.0)
    )
    points: list[tuple[float, float]] = []
    index: dict[tuple[float, float], int] = {}

    def at(point: tuple[float, float]) -> int:
        if point not in index:
            index[point] = len(points)
            points.append(point)
        return index[point]

    planned_vehicles = []
    for v in vehicles:
        depot = (v.depot_latitude, v.depot_longitude)
        first = (depot[0], depot[1]) if depot[0] is not None and depot[1] is not None else centroid
        end = (v.end_latitude, v.end_longitude)
        last = (end[0], end[1]) if end[0] is not None and end[1] is not None else first
        planned_vehicles.append(Vehicle(
            id=str(v.id), capacity=v.capacity, shift_start=_of_day(v.shift_start), shift_end=_of_day(v.shift_end),
            start=at(first), end=at(last),  # type: ignore[arg-type]
        ))
    planned_stops = tuple(
        Stop(id=str(s.id), location=at((s.latitude, s.longitude)), demand=s.demand, service=s.service_min * 60,
             ready=max(_seconds(s.window_start, start, 0.0), 0.0), due=_seconds(s.window_end, start, math.inf))
        for s in stops
    )
    m = matrices(points)
    return Problem(
        duration=m.duration_s, distance=m.distance_km, stops=planned_stops, vehicles=tuple(planned_vehicles),
        objective=objective, locations=tuple(Location(lon, lat) for lat, lon in points),
    )


def summary(on: date, plan: Plan, violations: Sequence[Any], best_objective: float | None) -> dict[str, Any]:
    """The JSON result of a job: per route the vehicle, stops in order with ETAs, km and minutes."""
    start = origin(on)
    routes = [
        {
            "vehicle_id": int(route.vehicle),
            "stop_ids": [int(s) for s in route.stops],
            "etas": [(start + timedelta(seconds=t)).isoformat() for t in route.arrivals],
            "distance_km": round(route.distance, 3),
            "duration_min": round(route.duration / 60, 1),
            "load": route.load,
        }
        for route in plan.routes if route.stops
    ]
    return {
        "routes": routes,
        "unassigned": [{"stop_id": int(u.stop), "reason": u.reason} for u in plan.unassigned],
        "distance_km": round(plan.distance, 3),
        "duration_min": round(plan.duration / 60, 1),
        "vehicles_used": plan.vehicles_used,
        "solver": plan.solver,
        "objective_value": best_objective,
        "feasible": not violations,
        "violations": [f"{v.kind.value}: {v.detail}" for v in violations][:20],
    }
