"""An independent feasibility checker: it recomputes every plan from the problem alone.

It shares no code with the solvers on purpose, so a solver's bug cannot hide behind the same bug here.
Service may start anywhere in [ready, due]; a vehicle that arrives early waits.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from fleet.problem import Plan, Problem

TOLERANCE = 1e-6  # relative, for times and distances


class Kind(StrEnum):
    CAPACITY = "capacity exceeded"
    WINDOW = "window missed"
    SHIFT = "shift exceeded"
    DUPLICATE = "stop visited twice"
    MISSING = "stop missing"
    UNKNOWN_STOP = "unknown stop"
    UNKNOWN_VEHICLE = "unknown vehicle"
    VEHICLE_REUSED = "vehicle used twice"
    SCHEDULE = "reported times inconsistent"
    DISTANCE = "distance mismatch"


@dataclass(frozen=True, slots=True)
class Violation:
    kind: Kind
    detail: str
    vehicle: str | None = None
    stop: str | None = None


def _late(t: float, limit: float) -> bool:
    return t > limit + TOLERANCE * max(1.0, abs(limit))


def _differs(a: float, b: float) -> bool:
    return abs(a - b) > TOLERANCE * max(1.0, abs(a), abs(b))


def check(problem: Problem, plan: Plan) -> list[Violation]:
    """Every way `plan` breaks `problem`; an empty list means feasible."""
    stops = {stop.id: stop for stop in problem.stops}
    vehicles = {vehicle.id: vehicle for vehicle in problem.vehicles}
    found: list[Violation] = []
    seen: Counter[str] = Counter()

    for count in Counter(route.vehicle for route in plan.routes if route.stops).values():
        if count > 1:
            found.append(Violation(Kind.VEHICLE_REUSED, f"{count} routes for one vehicle"))

    for route in plan.routes:
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None:
            found.append(Violation(Kind.UNKNOWN_VEHICLE, f"vehicle {route.vehicle!r}", vehicle=route.vehicle))
            continue
        at, clock, load, distance = vehicle.start, vehicle.shift_start, 0, 0.0
        for k, stop_id in enumerate(route.stops):
            seen[stop_id] += 1
            stop = stops.get(stop_id)
            if stop is None:
                found.append(Violation(Kind.UNKNOWN_STOP, f"stop {stop_id!r}", route.vehicle, stop_id))
                continue
            distance += problem.distance[at][stop.location]
            arrival = clock + problem.duration[at][stop.location]
            begin = max(arrival, stop.ready)
            if _late(begin, stop.due):
                found.append(
                    Violation(Kind.WINDOW, f"earliest service {begin:.3f} after due {stop.due}", route.vehicle, stop_id)
                )
            if k < len(route.starts):
                reported = route.starts[k]
                if reported < stop.ready - TOLERANCE * max(1.0, abs(stop.ready)) or _late(begin, reported):
                    found.append(
                        Violation(
                            Kind.SCHEDULE,
                            f"reported start {reported:.3f} but earliest {begin:.3f}, ready {stop.ready}",
                            route.vehicle,
                            stop_id,
                        )
                    )
                elif _late(reported, stop.due):
                    found.append(
                        Violation(
                            Kind.WINDOW, f"reported start {reported:.3f} after due {stop.due}", route.vehicle, stop_id
                        )
                    )
                begin = max(begin, reported)
            load += stop.demand
            clock = begin + stop.service
            at = stop.location
        if len(route.starts) != len(route.stops) or len(route.arrivals) != len(route.stops):
            found.append(Violation(Kind.SCHEDULE, "one arrival and one start per stop expected", route.vehicle))
        if not route.stops:
            continue
        distance += problem.distance[at][vehicle.end]
        back = clock + problem.duration[at][vehicle.end]
        if _late(back, vehicle.shift_end):
            found.append(Violation(Kind.SHIFT, f"back at {back:.3f}, shift ends {vehicle.shift_end}", route.vehicle))
        if load > vehicle.capacity:
            found.append(Violation(Kind.CAPACITY, f"load {load} over capacity {vehicle.capacity}", route.vehicle))
        if _differs(distance, route.distance):
            found.append(
                Violation(Kind.DISTANCE, f"reported {route.distance:.6f}, recomputed {distance:.6f}", route.vehicle)
            )

    unassigned = Counter(item.stop for item in plan.unassigned)
    for stop_id, count in (seen + unassigned).items():
        if count > 1:
            found.append(Violation(Kind.DUPLICATE, f"{count} visits or unassigned entries", stop=stop_id))
    for stop_id in unassigned:
        if stop_id not in stops:
            found.append(Violation(Kind.UNKNOWN_STOP, f"unassigned stop {stop_id!r}", stop=stop_id))
    for stop_id in stops:
        if stop_id not in seen and stop_id not in unassigned:
            found.append(Violation(Kind.MISSING, "neither visited nor listed unassigned", stop=stop_id))
    return found


def recomputed_distance(problem: Problem, plan: Plan) -> float:
    """The plan's total distance from the matrix alone, for comparing with what a solver reports."""
    stops = {stop.id: stop for stop in problem.stops}
    vehicles = {vehicle.id: vehicle for vehicle in problem.vehicles}
    total: list[float] = []
    for route in plan.routes:
        if not route.stops:
            continue
        path = [vehicles[route.vehicle].start, *(stops[s].location for s in route.stops), vehicles[route.vehicle].end]
        total.extend(problem.distance[a][b] for a, b in zip(path, path[1:], strict=False))
    return math.fsum(total)
