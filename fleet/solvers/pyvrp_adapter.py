"""PyVRP (iterated local search with penalties, the successor of its hybrid genetic search) on the problem."""

from __future__ import annotations

import time
import warnings
from collections import defaultdict

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxRuntime

from fleet.problem import Plan, Problem
from fleet.solvers.base import (
    SCALE,
    ProgressCallback,
    assemble,
    down,
    scaled_matrices,
    screen,
    up,
    vehicle_cost,
)

FLEET_SHARE = 0.4  # of the time limit spent finding the smallest fleet under the hierarchical objective


class _Stop:
    """Stops at the time limit and reports each improvement of the best cost (a picklable top-level class)."""

    def __init__(self, seconds: float, on_progress: ProgressCallback | None) -> None:
        self._limit = MaxRuntime(max(seconds, 0.0))
        self._on_progress = on_progress
        self._best = float("inf")

    def __call__(self, best_cost: float) -> bool:
        if best_cost < self._best:
            self._best = best_cost
            if self._on_progress is not None and best_cost < float("inf"):
                self._on_progress(best_cost / SCALE)
        return bool(self._limit(int(best_cost) if best_cost < float("inf") else 0))


def _data(problem: Problem, clients: list[int], required: bool) -> tuple[pyvrp.ProblemData, list[list[int]]]:
    distance, duration, limit = scaled_matrices(problem)
    fixed = vehicle_cost(problem, distance)
    prize = 10 * (fixed + max(max(row) for row in distance))
    depot_locations = sorted({v.start for v in problem.vehicles} | {v.end for v in problem.vehicles})
    depot_index = {location: k for k, location in enumerate(depot_locations)}
    shifts = [(up(v.shift_start), min(down(v.shift_end), limit)) for v in problem.vehicles]
    depots = [
        pyvrp.Depot(
            location=location,
            tw_early=min(s for (s, _), v in zip(shifts, problem.vehicles, strict=True) if location in (v.start, v.end)),
            tw_late=max(e for (_, e), v in zip(shifts, problem.vehicles, strict=True) if location in (v.start, v.end)),
        )
        for location in depot_locations
    ]
    members: dict[tuple[int, int, int, int, int], list[int]] = defaultdict(list)
    for k, (v, (early, late)) in enumerate(zip(problem.vehicles, shifts, strict=True)):
        members[(v.capacity, v.start, v.end, early, late)].append(k)
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=len(indices),
            capacity=[capacity],
            start_depot=depot_index[start],
            end_depot=depot_index[end],
            fixed_cost=fixed,
            tw_early=early,
            tw_late=late,
        )
        for (capacity, start, end, early, late), indices in members.items()
    ]
    client_list = []
    for k in clients:
        stop = problem.stops[k]
        client_list.append(
            pyvrp.Client(
                location=stop.location,
                delivery=[stop.demand],
                service_duration=up(stop.service),
                tw_early=up(stop.ready),
                tw_late=min(down(stop.due), limit),
                required=required,
                prize=0 if required else prize,
            )
        )
    locations = [pyvrp.Location(x=0.0, y=0.0) for _ in range(len(distance))]
    data = pyvrp.ProblemData(
        locations=locations,
        clients=client_list,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=[np.asarray(distance, dtype=np.int64)],  # type: ignore[list-item]
        duration_matrices=[np.asarray(duration, dtype=np.int64)],  # type: ignore[list-item]
    )
    return data, list(members.values())


def solve(problem: Problem, time_limit_s: float, *, seed: int = 0, on_progress: ProgressCallback | None = None) -> Plan:
    started = time.perf_counter()
    clients, impossible = screen(problem)
    if not clients:
        return assemble(problem, [], impossible, "pyvrp")
    data, members = _data(problem, clients, required=True)
    with warnings.catch_warnings():
        # PyVRP warns when its penalties max out, which is expected when the fleet cannot serve every stop
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        fleet = data
        if problem.objective == "hierarchical" and data.num_vehicle_types == 1 and data.num_vehicles > 1:
            # a fixed cost alone leaves the search stuck at one vehicle too many (R201, RC101): shrink the fleet
            # first, as PyVRP recommends, then minimise distance with that many vehicles
            smallest = pyvrp.minimise_fleet(data, MaxRuntime(FLEET_SHARE * time_limit_s), seed=seed)
            fleet = data.replace(vehicle_types=[smallest])
        left = time_limit_s - (time.perf_counter() - started)
        result = pyvrp.solve(fleet, stop=_Stop(left, on_progress), seed=seed, collect_stats=False)
        if not result.best.is_feasible() and fleet is not data:
            left = time_limit_s - (time.perf_counter() - started)
            result = pyvrp.solve(data, stop=_Stop(max(left, 1.0), on_progress), seed=seed, collect_stats=False)
        if not result.best.is_feasible():
            # more stops than the fleet can serve: let it drop some, each at a prize above any route's cost
            left = time_limit_s - (time.perf_counter() - started)
            data, members = _data(problem, clients, required=False)
            result = pyvrp.solve(data, stop=_Stop(max(left, 1.0), on_progress), seed=seed, collect_stats=False)
    taken: dict[int, int] = defaultdict(int)
    sequences: list[tuple[int, list[int]]] = []
    for route in result.best.routes():
        vehicle_type = route.vehicle_type()
        vehicle = members[vehicle_type][taken[vehicle_type]]
        taken[vehicle_type] += 1
        visits = [clients[a.idx] for a in route.schedule() if a.is_client()]
        sequences.append((vehicle, visits))
    stats = {"seconds": time.perf_counter() - started, "iterations": float(result.num_iterations)}
    return assemble(problem, sequences, impossible, "pyvrp", stats)
