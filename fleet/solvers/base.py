"""What every solver adapter shares: the interface, integer scaling, screening out impossible stops, and turning
visit sequences back into a Plan timed and measured with the unrounded matrix."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

from fleet.problem import Plan, Problem, Route, Stop, Unassigned, Vehicle

ProgressCallback = Callable[[float], None]

# Solvers work on integers: times and distances are multiplied by SCALE. Travel and service times round up and
# due times round down, so a schedule that is feasible in integers is feasible in the unrounded floats too.
SCALE = 1000
NOT_PLACED = "no vehicle could take it: the fleet is full or out of time within the solver's limit"


class Solver(Protocol):
    def __call__(
        self, problem: Problem, time_limit_s: float, *, seed: int = 0, on_progress: ProgressCallback | None = None
    ) -> Plan: ...


def up(value: float) -> int:
    return math.ceil(value * SCALE - 1e-9)


def down(value: float) -> int:
    return math.floor(value * SCALE + 1e-9)


def horizon(problem: Problem) -> int:
    """A scaled time beyond any feasible schedule, standing in for open windows and unreachable pairs."""
    finite = [t for s in problem.stops for t in (s.ready, s.due) if math.isfinite(t)]
    finite += [t for v in problem.vehicles for t in (v.shift_start, v.shift_end) if math.isfinite(t)]
    longest = max((t for row in problem.duration for t in row if math.isfinite(t)), default=0.0)
    total = max(finite, default=0.0) + sum(s.service for s in problem.stops) + (len(problem.stops) + 1) * longest
    return up(total) + 1


def clamp(value: int, limit: int) -> int:
    return min(value, limit)


def scaled_matrices(problem: Problem) -> tuple[list[list[int]], list[list[int]], int]:
    """(distance, duration, horizon) in integers; infinite entries become the horizon."""
    limit = horizon(problem)
    distance = [
        [clamp(round(d * SCALE), limit) if math.isfinite(d) else limit for d in row] for row in problem.distance
    ]
    duration = [[clamp(up(t), limit) if math.isfinite(t) else limit for t in row] for row in problem.duration]
    return distance, duration, limit


def vehicle_cost(problem: Problem, distance: Sequence[Sequence[int]]) -> int:
    """A fixed cost per vehicle used, above the distance of any sensible plan, so fewer vehicles always win."""
    if problem.objective != "hierarchical":
        return 0
    depots = {v.start for v in problem.vehicles} | {v.end for v in problem.vehicles}
    worst = sum(max(distance[d][s.location] + distance[s.location][d] for d in depots) for s in problem.stops)
    return max(worst, 1) * 2


def _why_impossible(problem: Problem, stop: Stop) -> str | None:
    if all(stop.demand > v.capacity for v in problem.vehicles):
        return f"demand {stop.demand} exceeds every vehicle's capacity"
    reachable = False
    for vehicle in problem.vehicles:
        begin = max(vehicle.shift_start + problem.duration[vehicle.start][stop.location], stop.ready)
        back = begin + stop.service + problem.duration[stop.location][vehicle.end]
        if begin <= stop.due and back <= vehicle.shift_end and stop.demand <= vehicle.capacity:
            reachable = True
            break
    if not reachable:
        return "time window unreachable: no vehicle can arrive by its due time and return within its shift"
    return None


def screen(problem: Problem) -> tuple[list[int], list[Unassigned]]:
    """Indices of the stops some vehicle could serve alone, and the others with the reason they cannot be."""
    servable: list[int] = []
    impossible: list[Unassigned] = []
    for k, stop in enumerate(problem.stops):
        reason = _why_impossible(problem, stop)
        if reason is None:
            servable.append(k)
        else:
            impossible.append(Unassigned(stop.id, reason))
    return servable, impossible


def timed_route(problem: Problem, vehicle: Vehicle, sequence: Sequence[int]) -> Route:
    """Earliest service at each stop (indices into problem.stops), leaving the depot as late as that allows."""
    at, clock, load = vehicle.start, vehicle.shift_start, 0
    arrivals: list[float] = []
    starts: list[float] = []
    legs: list[float] = []
    for k in sequence:
        stop = problem.stops[k]
        legs.append(problem.distance[at][stop.location])
        arrival = clock + problem.duration[at][stop.location]
        begin = max(arrival, stop.ready)
        arrivals.append(arrival)
        starts.append(begin)
        clock, at, load = begin + stop.service, stop.location, load + stop.demand
    departure = vehicle.shift_start
    if sequence:
        # waiting at the first stop is spent at the depot instead
        departure += starts[0] - arrivals[0]
        arrivals[0] = starts[0]
        legs.append(problem.distance[at][vehicle.end])
    back = clock + problem.duration[at][vehicle.end] if sequence else departure
    return Route(
        vehicle=vehicle.id,
        stops=tuple(problem.stops[k].id for k in sequence),
        arrivals=tuple(arrivals),
        starts=tuple(starts),
        departure=departure,
        back=back,
        distance=math.fsum(legs),
        load=load,
    )


def assemble(
    problem: Problem,
    sequences: Sequence[tuple[int, Sequence[int]]],
    impossible: Sequence[Unassigned],
    solver: str,
    stats: dict[str, float] | None = None,
) -> Plan:
    """A Plan from (vehicle index, stop indices) pairs; servable stops left out are listed with a reason."""
    routes = tuple(timed_route(problem, problem.vehicles[v], seq) for v, seq in sequences if seq)
    placed = {stop for route in routes for stop in route.stops} | {u.stop for u in impossible}
    left = tuple(Unassigned(s.id, NOT_PLACED) for s in problem.stops if s.id not in placed)
    return Plan(routes=routes, unassigned=(*impossible, *left), solver=solver, stats=dict(stats or {}))
