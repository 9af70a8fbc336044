"""Plain data for the route planner: a problem over a travel matrix, and the plan a solver returns.

Times (windows, service, shifts, travel) share one unit, whatever the caller chose (seconds for real fleets,
Solomon's abstract units for the benchmark); distances are in another (km, or Euclidean units).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Objective = Literal["hierarchical", "distance"]
OBJECTIVES: tuple[Objective, ...] = ("hierarchical", "distance")


@dataclass(frozen=True, slots=True)
class Location:
    """Planar coordinates, or longitude (x) and latitude (y) for a road network."""

    x: float
    y: float
    name: str = ""


@dataclass(frozen=True, slots=True)
class Stop:
    id: str
    location: int
    demand: int = 0
    service: float = 0.0
    ready: float = 0.0
    due: float = math.inf


@dataclass(frozen=True, slots=True)
class Vehicle:
    id: str
    capacity: int
    shift_start: float = 0.0
    shift_end: float = math.inf
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Problem:
    """`duration[i][j]` and `distance[i][j]` are travel from location i to j (lists or numpy arrays)."""

    duration: Sequence[Sequence[float]]
    distance: Sequence[Sequence[float]]
    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    objective: Objective = "hierarchical"
    locations: tuple[Location, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        n = len(self.duration)
        if len(self.distance) != n or any(len(row) != n for row in (*self.duration, *self.distance)):
            raise ValueError("duration and distance must be square matrices of the same size")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")
        ids = [stop.id for stop in self.stops]
        if len(set(ids)) != len(ids):
            raise ValueError("stop ids must be unique")
        if len({vehicle.id for vehicle in self.vehicles}) != len(self.vehicles):
            raise ValueError("vehicle ids must be unique")
        for index in [s.location for s in self.stops] + [i for v in self.vehicles for i in (v.start, v.end)]:
            if not 0 <= index < n:
                raise ValueError(f"location index {index} outside the {n}x{n} matrix")


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's tour: `arrivals[k]` is when it reaches `stops[k]`, `starts[k]` when service begins there."""

    vehicle: str
    stops: tuple[str, ...]
    arrivals: tuple[float, ...]
    starts: tuple[float, ...]
    departure: float
    back: float
    distance: float
    load: int

    @property
    def duration(self) -> float:
        return self.back - self.departure


@dataclass(frozen=True, slots=True)
class Unassigned:
    stop: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = ()
    solver: str = ""
    stats: Mapping[str, float] = field(default_factory=dict)

    @property
    def distance(self) -> float:
        return math.fsum(route.distance for route in self.routes)

    @property
    def duration(self) -> float:
        return math.fsum(route.duration for route in self.routes)

    @property
    def vehicles_used(self) -> int:
        return sum(1 for route in self.routes if route.stops)


def from_solomon(data: Mapping[str, Any], objective: Objective = "hierarchical") -> Problem:
    """A problem from the `{"depot", "customers", "vehicles", "capacity"}` JSON of the Solomon benchmark files.

    Location 0 is the depot; customer k is location k in file order. Distances are unrounded Euclidean and travel
    time equals distance. Stop ids are the customer ids as strings.
    """
    try:
        depot = data["depot"]
        customers = data["customers"]
        capacity = int(data["capacity"])
        fleet = int(data.get("vehicles", 25))
        points = [Location(float(depot["x"]), float(depot["y"]), "depot")]
        points += [Location(float(c["x"]), float(c["y"]), str(c["id"])) for c in customers]
        stops = tuple(
            Stop(
                id=str(c["id"]),
                location=k,
                demand=int(c["demand"]),
                service=float(c["service"]),
                ready=float(c["ready"]),
                due=float(c["due"]),
            )
            for k, c in enumerate(customers, start=1)
        )
        shift = (float(depot["ready"]), float(depot["due"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a Solomon instance: {error!r}") from error
    matrix = [[math.hypot(a.x - b.x, a.y - b.y) for b in points] for a in points]
    vehicles = tuple(
        Vehicle(id=str(k), capacity=capacity, shift_start=shift[0], shift_end=shift[1]) for k in range(fleet)
    )
    return Problem(
        duration=matrix,
        distance=matrix,
        stops=stops,
        vehicles=vehicles,
        objective=objective,
        locations=tuple(points),
        name=str(data.get("name", "")),
    )
