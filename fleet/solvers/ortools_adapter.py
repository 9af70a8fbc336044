"""OR-Tools routing (the origin system's choice): time and capacity dimensions, guided local search."""

from __future__ import annotations

import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

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


def solve(problem: Problem, time_limit_s: float, *, seed: int = 0, on_progress: ProgressCallback | None = None) -> Plan:
    started = time.perf_counter()
    clients, impossible = screen(problem)
    if not clients:
        return assemble(problem, [], impossible, "ortools")
    distance, duration, limit = scaled_matrices(problem)
    # nodes: one per vehicle start and end location used, then one per servable stop
    depot_locations = sorted({v.start for v in problem.vehicles} | {v.end for v in problem.vehicles})
    depot_node = {location: k for k, location in enumerate(depot_locations)}
    location = depot_locations + [problem.stops[k].location for k in clients]
    service = [0] * len(depot_locations) + [up(problem.stops[k].service) for k in clients]
    demand = [0] * len(depot_locations) + [problem.stops[k].demand for k in clients]
    manager = pywrapcp.RoutingIndexManager(
        len(location),
        len(problem.vehicles),
        [depot_node[v.start] for v in problem.vehicles],
        [depot_node[v.end] for v in problem.vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    arc_cost = routing.RegisterTransitMatrix([[distance[a][b] for b in location] for a in location])
    routing.SetArcCostEvaluatorOfAllVehicles(arc_cost)
    transit = routing.RegisterTransitMatrix(
        [[service[i] + duration[a][b] for b in location] for i, a in enumerate(location)]
    )
    routing.AddDimension(transit, limit, limit, False, "time")
    times = routing.GetDimensionOrDie("time")
    load = routing.RegisterUnaryTransitVector(demand)
    routing.AddDimensionWithVehicleCapacity(load, 0, [v.capacity for v in problem.vehicles], True, "load")
    fixed = vehicle_cost(problem, distance)
    if fixed:
        routing.SetFixedCostOfAllVehicles(fixed)
    penalty = 10 * (fixed + max(max(row) for row in distance))
    for node, k in enumerate(clients, start=len(depot_locations)):
        stop = problem.stops[k]
        index = manager.NodeToIndex(node)
        times.CumulVar(index).SetRange(up(stop.ready), min(down(stop.due), limit))
        routing.AddDisjunction([index], penalty)
    for v, vehicle in enumerate(problem.vehicles):
        early, late = up(vehicle.shift_start), min(down(vehicle.shift_end), limit)
        times.CumulVar(routing.Start(v)).SetRange(early, late)
        times.CumulVar(routing.End(v)).SetRange(early, late)

    if on_progress is not None:
        # guided local search also passes through worse solutions: report only improvements
        best = [float("inf")]
        report = on_progress

        def improved() -> None:
            cost = routing.CostVar().Value() / SCALE
            if cost < best[0]:
                best[0] = cost
                report(cost)

        routing.AddAtSolutionCallback(improved)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(1000 * (time_limit_s - (time.perf_counter() - started)))))
    solution = routing.SolveWithParameters(params)
    sequences: list[tuple[int, list[int]]] = []
    if solution is not None:
        for v in range(len(problem.vehicles)):
            index, visits = routing.Start(v), []
            while not routing.IsEnd(index := solution.Value(routing.NextVar(index))):
                visits.append(clients[manager.IndexToNode(index) - len(depot_locations)])
            sequences.append((v, visits))
    return assemble(problem, sequences, impossible, "ortools", {"seconds": time.perf_counter() - started})
