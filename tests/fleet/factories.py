"""Small hand-made problems for the fleet tests."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from fleet.problem import Location, Problem, Route, Stop, Vehicle, from_solomon

SOLOMON = Path(__file__).resolve().parent.parent / "fixtures" / "vrp" / "solomon"


def line(
    *stops: Stop, capacity: int = 10, shift_end: float = 100.0, vehicles: int = 2, objective: str = "hierarchical"
) -> Problem:
    """Locations on a line at x = 0 (the depot), 1, 2, ...; travel time equals distance."""
    points = [Location(float(x), 0.0) for x in range(1 + max((s.location for s in stops), default=0))]
    matrix = [[abs(a.x - b.x) for b in points] for a in points]
    return Problem(
        duration=matrix,
        distance=matrix,
        stops=stops,
        vehicles=tuple(Vehicle(f"v{k}", capacity, 0.0, shift_end) for k in range(vehicles)),
        objective="distance" if objective == "distance" else "hierarchical",
        locations=tuple(points),
    )


def route(problem: Problem, vehicle: str, *stop_ids: str, distance: float | None = None) -> Route:
    """A route timed the simple way (leave at 0, earliest service), written here apart from any solver code."""
    stops = {s.id: s for s in problem.stops}
    clock, at, arrivals, starts, legs, load = 0.0, 0, [], [], [], 0
    for stop_id in stop_ids:
        stop = stops.get(stop_id, Stop(stop_id, 0))
        legs.append(problem.distance[at][stop.location])
        arrivals.append(clock + problem.duration[at][stop.location])
        starts.append(max(arrivals[-1], stop.ready))
        clock, at, load = starts[-1] + stop.service, stop.location, load + stop.demand
    legs.append(problem.distance[at][0])
    return Route(
        vehicle=vehicle,
        stops=stop_ids,
        arrivals=tuple(arrivals),
        starts=tuple(starts),
        departure=0.0,
        back=clock + problem.duration[at][0],
        distance=math.fsum(legs) if distance is None else distance,
        load=load,
    )


def solomon_data(name: str, customers: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SOLOMON / f"{name}.json").read_text())
    if customers is not None:
        data["customers"] = data["customers"][:customers]
        data.pop("best_known", None)
        data.pop("best_known_distance_only", None)
    return data


def solomon(name: str, customers: int | None = None, objective: str = "hierarchical") -> Problem:
    return from_solomon(solomon_data(name, customers), "distance" if objective == "distance" else "hierarchical")
