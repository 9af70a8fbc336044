"""VROOM (pyvroom): fast construction and local search; it stops on its own, the time limit is only a cap."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import vroom

from fleet.problem import Plan, Problem
from fleet.solvers.base import ProgressCallback, assemble, down, scaled_matrices, screen, up, vehicle_cost

EXPLORATION = 5  # VROOM's highest search level


def solve(problem: Problem, time_limit_s: float, *, seed: int = 0, on_progress: ProgressCallback | None = None) -> Plan:
    started = time.perf_counter()
    clients, impossible = screen(problem)
    if not clients:
        return assemble(problem, [], impossible, "vroom")
    distance, duration, limit = scaled_matrices(problem)
    fixed = vehicle_cost(problem, distance)
    model = vroom.Input()
    model.set_durations_matrix(profile="car", matrix_input=duration)
    model.set_costs_matrix(profile="car", matrix_input=distance)
    for v, vehicle in enumerate(problem.vehicles):
        model.add_vehicle(
            vroom.Vehicle(
                v,
                start=vehicle.start,
                end=vehicle.end,
                capacity=[vehicle.capacity],
                time_window=vroom.TimeWindow(up(vehicle.shift_start), min(down(vehicle.shift_end), limit)),
                costs=vroom.VehicleCosts(fixed=fixed),
            )
        )
    for job, k in enumerate(clients):
        stop = problem.stops[k]
        model.add_job(
            vroom.Job(
                job,
                location=stop.location,
                default_service=up(stop.service),
                delivery=[stop.demand],
                time_windows=[vroom.TimeWindow(up(stop.ready), min(down(stop.due), limit))],
            )
        )
    solution = model.solve(
        exploration_level=EXPLORATION,
        nb_threads=os.cpu_count() or 1,
        timeout=timedelta(seconds=max(time_limit_s - (time.perf_counter() - started), 0.1)),
    )
    output = solution.to_dict()
    sequences = [
        (int(route["vehicle"]), [clients[int(step["id"])] for step in route["steps"] if step["type"] == "job"])
        for route in output.get("routes", [])
    ]
    plan = assemble(problem, sequences, impossible, "vroom", {"seconds": time.perf_counter() - started})
    if on_progress is not None:
        on_progress(plan.distance)
    return plan
