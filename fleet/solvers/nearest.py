"""Nearest-neighbour baseline (Solomon 1987): each vehicle in turn takes the closest feasible next stop."""

from __future__ import annotations

import math
import time

from fleet.problem import Plan, Problem
from fleet.solvers.base import ProgressCallback, assemble, screen

# Solomon's weights for closeness: distance, the gap in time until service can begin, and the window's urgency
WEIGHTS = (0.4, 0.4, 0.2)


def solve(problem: Problem, time_limit_s: float, *, seed: int = 0, on_progress: ProgressCallback | None = None) -> Plan:
    started = time.perf_counter()
    servable, impossible = screen(problem)
    open_stops = set(servable)
    sequences: list[tuple[int, list[int]]] = []
    for v, vehicle in enumerate(problem.vehicles):
        if not open_stops:
            break
        at, clock, load = vehicle.start, vehicle.shift_start, 0
        sequence: list[int] = []
        while True:
            best, best_score, best_begin = -1, math.inf, 0.0
            for k in open_stops:
                stop = problem.stops[k]
                if load + stop.demand > vehicle.capacity:
                    continue
                begin = max(clock + problem.duration[at][stop.location], stop.ready)
                if begin > stop.due or begin + stop.service + problem.duration[stop.location][vehicle.end] > (
                    vehicle.shift_end
                ):
                    continue
                score = (
                    WEIGHTS[0] * problem.distance[at][stop.location]
                    + WEIGHTS[1] * (begin - clock)
                    + WEIGHTS[2] * (stop.due - begin if math.isfinite(stop.due) else 0.0)
                )
                if score < best_score or (score == best_score and k < best):
                    best, best_score, best_begin = k, score, begin
            if best < 0:
                break
            stop = problem.stops[best]
            sequence.append(best)
            open_stops.discard(best)
            at, clock, load = stop.location, best_begin + stop.service, load + stop.demand
        if sequence:
            sequences.append((v, sequence))
    plan = assemble(problem, sequences, impossible, "nearest", {"seconds": time.perf_counter() - started})
    if on_progress is not None:
        on_progress(plan.distance)
    return plan
