"""Stored stops and vehicles to a Problem and back: units, windows, depots, and a solved plan's summary."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time

from datasources.postgres.records import StopRecord, VehicleRecord
from fleet.checker import check
from fleet.matrix import haversine_matrices
from fleet.planning import build_problem, summary
from fleet.solvers import solve

ON = date(2030, 5, 6)
T0 = datetime(2030, 5, 6, tzinfo=UTC)


def stop(k: int, lat: float, lon: float, *, demand: int = 2, window: tuple[int, int] | None = (9, 12)) -> StopRecord:
    start = datetime(2030, 5, 6, window[0], tzinfo=UTC) if window else None
    end = datetime(2030, 5, 6, window[1], tzinfo=UTC) if window else None
    return StopRecord(k, 1, 1, k, "visit", f"{k} St", lat, lon, start, end, None, "pending", None, None,
                      demand=demand, service_min=10.0)


def van(k: int, *, capacity: int = 10, depot: tuple[float, float] | None = (40.71, -74.0)) -> VehicleRecord:
    return VehicleRecord(k, 1, f"V{k}", f"Van {k}", "van", 1000.0, "available", T0, capacity, time(8), time(18),
                         depot[0] if depot else None, depot[1] if depot else None)


def test_units_windows_and_depots() -> None:
    stops = [stop(1, 40.72, -74.0), stop(2, 40.73, -74.01, window=None)]
    problem = build_problem(ON, stops, [van(7), van(8, depot=None)], haversine_matrices)
    first, second = problem.stops
    assert (first.id, first.demand, first.service) == ("1", 2, 600.0)
    assert (first.ready, first.due) == (9 * 3600, 12 * 3600)
    assert (second.ready, second.due) == (0.0, math.inf)
    a, b = problem.vehicles
    assert (a.id, a.capacity, a.shift_start, a.shift_end) == ("7", 10, 8 * 3600, 18 * 3600)
    assert a.start == a.end and b.start == b.end and a.start != b.start  # van 8 starts at the stops' centroid
    assert problem.duration[a.start][first.location] > 0


def test_a_solved_plan_summarises_with_etas_and_passes_the_checker() -> None:
    stops = [stop(k, 40.70 + k / 200, -74.0 + k / 300, demand=3) for k in range(1, 7)]
    problem = build_problem(ON, stops, [van(1), van(2)], haversine_matrices)
    plan = solve(problem, 1.0, solver_name="nearest")
    violations = check(problem, plan)
    assert violations == []
    result = summary(ON, plan, violations, 1.0)
    assert result["feasible"] and sum(len(r["stop_ids"]) for r in result["routes"]) == 6
    for route in result["routes"]:
        assert route["load"] <= 10 and len(route["etas"]) == len(route["stop_ids"])
        assert all(datetime.fromisoformat(t) <= datetime(2030, 5, 6, 12, tzinfo=UTC) for t in route["etas"])


def test_too_much_demand_is_left_out_with_a_reason() -> None:
    problem = build_problem(ON, [stop(1, 40.72, -74.0, demand=50)], [van(1)], haversine_matrices)
    result = summary(ON, solve(problem, 1.0, solver_name="nearest"), [], None)
    assert result["routes"] == [] and "capacity" in result["unassigned"][0]["reason"]
